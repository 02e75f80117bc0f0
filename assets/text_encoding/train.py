"""Train (or fine-tune) the text encoder's causal LM on the caption corpus. Plain logic, no Dagster.

Embedded default: a byte-level BPE is trained on the corpus, a small Qwen2 is initialised from the
seed and pre-trained with next-token loss. Real backend: a local HF checkpoint is loaded and, when
`steps > 0`, fine-tuned with the same loss (report 2.2: "a fine-tuned decoder-only LLM"). Either way
the result is a HF directory that `load_text_encoder_dir` reads.
"""

from __future__ import annotations

import logging
import math
import random
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from assets.text_encoding.settings import TextEncoderSettings
from models.text_encoder.config import CausalLMSize, build_causal_lm
from models.text_encoder.encoder import TextEncoder, load_causal_lm
from models.text_encoder.lm_module import CausalLMModule, LMDataset, LMExample, collate_lm
from models.text_encoder.tokenizer import load_tokenizer, train_bpe_tokenizer

log = logging.getLogger(__name__)
EMBEDDED_BACKEND = "fallback:embedded-qwen2"


@dataclass
class TextEncoderResult:
    directory: Path
    backend: str
    metrics: dict[str, float] = field(default_factory=dict)
    n_train: int = 0
    n_val: int = 0
    params: int = 0


def lm_examples(tokenizer: Any, texts: list[str], max_tokens: int) -> list[LMExample]:
    out = []
    for t in texts:
        ids = tokenizer(t, add_special_tokens=False)["input_ids"][: max_tokens - 1] + [tokenizer.eos_token_id]
        out.append(LMExample(ids, list(ids)))
    return out


@torch.no_grad()
def mean_token_loss(model: torch.nn.Module, examples: list[LMExample], pad_id: int, batch_size: int = 64) -> float:
    """Token-weighted next-token cross-entropy of `examples` (nats / token)."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        batch = collate_lm(examples[i : i + batch_size], pad_id)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        target = batch["labels"][:, 1:]
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), ignore_index=-100, reduction="sum"
        )
        total += float(loss)
        count += int((target != -100).sum())
    return total / max(count, 1)


def fit_causal_lm(
    model: torch.nn.Module,
    examples: list[LMExample],
    pad_id: int,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    trainer_kwargs: dict[str, Any] | None = None,
    logger: Any = None,
) -> None:
    """Lightning loop of `steps` optimiser steps (seeded shuffling; deterministic on CPU)."""
    if steps <= 0:
        return
    L.seed_everything(seed % (2**31), workers=True, verbose=False)
    loader = DataLoader(
        LMDataset(examples),
        batch_size=min(batch_size, len(examples)),
        shuffle=True,
        generator=torch.Generator().manual_seed(seed % (2**31)),
        collate_fn=partial(collate_lm, pad_id=pad_id),
        num_workers=0,
    )
    module = CausalLMModule(model, lr=lr, warmup_steps=max(1, steps // 20), total_steps=steps)
    with tempfile.TemporaryDirectory() as root:
        make_trainer(steps, root, trainer_kwargs, logger).fit(module, loader)
    model.eval()


def make_trainer(steps: int, root: str, trainer_kwargs: dict[str, Any] | None, logger: Any) -> L.Trainer:
    """A Lightning trainer for `steps` optimiser steps; `trainer_kwargs` (compute resource) win."""
    kwargs: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "deterministic": True,
        "max_steps": steps,
        "max_epochs": -1,
        "logger": logger if logger is not None else False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": max(1, min(10, steps // 10)),
        "default_root_dir": root,
    }
    kwargs.update(trainer_kwargs or {})
    return L.Trainer(**kwargs)


def train_text_encoder(
    texts: list[str],
    settings: TextEncoderSettings,
    seed: int,
    out_dir: str | Path,
    *,
    trainer_kwargs: dict[str, Any] | None = None,
    logger: Any = None,
) -> TextEncoderResult:
    texts = sorted({t for t in texts if t.strip()})
    if len(texts) < 2:
        raise ValueError(f"the text encoder needs at least 2 caption texts, got {len(texts)}")
    rng = random.Random(seed)
    rng.shuffle(texts)
    texts = texts[: settings.max_texts]
    n_val = int(round(len(texts) * settings.val_fraction))
    val_texts, train_texts = texts[:n_val], texts[n_val:]

    if settings.backend == "embedded":
        tokenizer = train_bpe_tokenizer(train_texts, settings.vocab_size)
        torch.manual_seed(seed % (2**31))
        size = CausalLMSize(
            hidden_size=settings.hidden_size,
            num_layers=settings.num_layers,
            num_heads=settings.num_heads,
            num_kv_heads=settings.num_kv_heads,
            intermediate_size=settings.intermediate_size,
            max_positions=max(512, settings.max_tokens),
        )
        model = build_causal_lm(size, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id)
        backend = EMBEDDED_BACKEND
        log.info("text encoder: training the embedded fallback (%s), not a pretrained LLM", backend)
    else:
        if not settings.pretrained_path:
            raise ValueError("text_encoder.backend is 'hf' but text_encoder.pretrained_path is empty")
        path = Path(settings.pretrained_path)
        model = load_causal_lm(path)
        tokenizer = load_tokenizer(path)
        backend = f"hf:{path.name}"

    train_ex = lm_examples(tokenizer, train_texts, settings.max_tokens)
    val_ex = lm_examples(tokenizer, val_texts, settings.max_tokens)
    metrics: dict[str, float] = {}
    if val_ex:
        metrics["val/loss_before"] = mean_token_loss(model, val_ex, tokenizer.pad_token_id)
    fit_causal_lm(
        model, train_ex, tokenizer.pad_token_id, steps=settings.steps, batch_size=settings.batch_size,
        lr=settings.lr, seed=seed, trainer_kwargs=trainer_kwargs, logger=logger,
    )
    metrics["train/loss_final"] = mean_token_loss(model, train_ex[:256], tokenizer.pad_token_id)
    if val_ex:
        metrics["val/loss"] = mean_token_loss(model, val_ex, tokenizer.pad_token_id)
        metrics["val/perplexity"] = math.exp(min(metrics["val/loss"], 50.0))
    metrics["tokens_per_caption"] = sum(len(e.input_ids) for e in train_ex) / len(train_ex)
    metrics["truncated_fraction"] = sum(
        len(tokenizer(t, add_special_tokens=False)["input_ids"]) >= settings.max_tokens for t in train_texts
    ) / len(train_texts)

    encoder = TextEncoder(model, tokenizer, layer=settings.layer, backend=backend, max_tokens=settings.max_tokens)
    directory = encoder.save(out_dir)
    return TextEncoderResult(
        directory=directory,
        backend=backend,
        metrics=metrics,
        n_train=len(train_ex),
        n_val=len(val_ex),
        params=sum(p.numel() for p in model.parameters()),
    )
