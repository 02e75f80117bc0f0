"""Prompt-engineer training: SFT (full fine-tune) then DPO with LoRA (report 2.4). Plain logic, no Dagster.

SFT: synthesised (user prompt, dense caption) pairs, t2v and i2v styles, both languages; next-token
loss on the caption only. Half the prompts follow the world's long-tail prior, half are uniform over the
vocabulary (`sft_uniform_fraction`): trained on the prior alone, the model maps tail phrasings
("shaky handheld", "vintage film") to head values and hallucinates on most uniform held-out prompts.

DPO: for prompts covering the whole vocabulary, the SFT model's own rewrites are checked against the
prompt. Each hallucinated fact becomes a pair (chosen = the correct caption, rejected = the same caption
with that one fact wrong) plus its mirror (the prompt that asks for the wrong value, with the original
value as the rejection): without mirrors the rejected values are mostly the head values the model
defaults to, and DPO learns to shift its prior towards rare values instead of reading the prompt
(it then fixes about as many facts as it breaks). Where the SFT model was right, a synthetic
hallucination is the rejected side. LoRA adapters are trained with the DPO loss; the frozen SFT
weights are the reference. A slice of the DPO prompts is held out to measure the DPO loss and reward
margin on pairs never trained on.

Both stages are measured on the same held-out prompts (drawn uniformly over the vocabulary, never seen
in training): attribute preservation and hallucination rate of greedy rewrites.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from assets.common.seeding import stable_seed
from assets.prompting.evaluation import score_rewrite, score_rewrites
from assets.prompting.settings import PromptingSettings
from assets.prompting.synthesis import PromptExample, apply_facts, counterfactual, hallucinate, synthesise_examples
from assets.text_encoding.train import fit_causal_lm, make_trainer
from models.prompt_engineer.dpo import (
    DPOModule,
    PreferenceDataset,
    PreferencePair,
    apply_lora,
    collate_pairs,
    preference_metrics,
    save_adapters,
)
from models.prompt_engineer.format import sft_example
from models.prompt_engineer.generate import rewrite_prompts
from models.text_encoder.config import CausalLMSize, build_causal_lm
from models.text_encoder.encoder import load_causal_lm
from models.text_encoder.tokenizer import load_tokenizer


@dataclass
class PromptEngineerMetrics:
    metrics: dict[str, float]
    samples: list[dict[str, str]] = field(default_factory=list)  # prompt / rewrite / target, for metadata


def eval_examples(settings: PromptingSettings, seed: int) -> list[PromptExample]:
    """Held-out prompts: uniform over the vocabulary (tail attributes count as much as head ones)."""
    return synthesise_examples(
        settings.eval_prompts, stable_seed(seed, "prompting", "eval"), uniform=True, i2v_fraction=0.5,
        max_subjects=settings.max_subjects,
    )


def evaluate(model: torch.nn.Module, tokenizer: Any, examples: list[PromptExample], settings: PromptingSettings) -> PromptEngineerMetrics:
    rewrites = rewrite_prompts(model, tokenizer, [(e.task, e.prompt) for e in examples], settings.max_new_tokens)
    samples = [
        {"task": e.task, "lang": e.lang, "prompt": e.prompt, "rewrite": r, "target": e.target}
        for e, r in list(zip(examples, rewrites))[:6]
    ]
    return PromptEngineerMetrics(score_rewrites(examples, rewrites), samples)


# --- SFT ------------------------------------------------------------------------------------------------


def sft_prompts(settings: PromptingSettings, seed: int) -> list[PromptExample]:
    """SFT pairs: a share drawn uniformly over the vocabulary (tail values), the rest from the world's prior."""
    n_uniform = int(round(settings.sft_examples * settings.sft_uniform_fraction))
    common = {"i2v_fraction": settings.i2v_fraction, "max_subjects": settings.max_subjects}
    uniform = synthesise_examples(n_uniform, stable_seed(seed, "prompting", "sft_uniform"), uniform=True, **common)
    prior = synthesise_examples(settings.sft_examples - n_uniform, stable_seed(seed, "prompting", "sft"), **common)
    return prior + uniform  # order is irrelevant: the loader shuffles


@dataclass
class SFTResult:
    directory: Path
    metrics: dict[str, float]
    samples: list[dict[str, str]]
    n_examples: int
    params: int


def train_prompt_engineer_sft(
    base_dir: str | Path,
    settings: PromptingSettings,
    seed: int,
    out_dir: str | Path,
    *,
    trainer_kwargs: dict[str, Any] | None = None,
    logger: Any = None,
) -> SFTResult:
    """Full fine-tune of the base LM (the text encoder's checkpoint directory) into a prompt engineer."""
    tokenizer = load_tokenizer(base_dir)
    if settings.init == "text_encoder":
        model = load_causal_lm(base_dir)
    else:
        cfg = load_causal_lm(base_dir).config
        torch.manual_seed(stable_seed(seed, "prompting", "fresh_init") % (2**31))
        model = build_causal_lm(
            CausalLMSize(cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads,
                         cfg.intermediate_size, cfg.max_position_embeddings),
            len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id,
        )
    held_out = eval_examples(settings, seed)
    unseen = {(e.task, e.prompt) for e in held_out}
    train = [e for e in sft_prompts(settings, seed) if (e.task, e.prompt) not in unseen]
    examples = [sft_example(tokenizer, e.task, e.prompt, e.target, settings.max_tokens) for e in train]
    fit_causal_lm(
        model, examples, tokenizer.pad_token_id, steps=settings.sft_steps, batch_size=settings.sft_batch_size,
        lr=settings.sft_lr, seed=stable_seed(seed, "prompting", "sft_loop"), trainer_kwargs=trainer_kwargs,
        logger=logger,
    )
    measured = evaluate(model, tokenizer, held_out, settings)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return SFTResult(out_dir, measured.metrics, measured.samples, len(examples), sum(p.numel() for p in model.parameters()))


# --- DPO ------------------------------------------------------------------------------------------------


@dataclass
class DPOResult:
    adapter_dir: Path
    before: dict[str, float]
    after: dict[str, float]
    samples: list[dict[str, str]]
    n_pairs: int
    n_on_policy: int  # pairs from the SFT model's own hallucinations (each with its mirror)
    trainable_params: int
    # DPO loss / reward margin / reward accuracy on pairs from prompts held out of DPO training
    pairs_before: dict[str, float] = field(default_factory=dict)
    pairs_after: dict[str, float] = field(default_factory=dict)
    n_val_pairs: int = 0


def dpo_prompts(settings: PromptingSettings, seed: int) -> tuple[list[PromptExample], list[PromptExample]]:
    """Prompts whose rewrites become pairs (uniform over the vocabulary): (train, held-out) by prompt."""
    unseen = {(e.task, e.prompt) for e in eval_examples(settings, seed)}  # never train on an evaluation prompt
    prompts = [
        e for e in synthesise_examples(
            settings.dpo_prompts, stable_seed(seed, "prompting", "dpo"), uniform=True,
            i2v_fraction=settings.i2v_fraction, max_subjects=settings.max_subjects,
        )
        if (e.task, e.prompt) not in unseen
    ]
    n_val = int(round(len(prompts) * settings.dpo_val_fraction))
    return prompts[n_val:], prompts[:n_val]


def preference_pairs(
    model: torch.nn.Module, tokenizer: Any, prompts: list[PromptExample], settings: PromptingSettings, seed: int,
    key: str = "dpo_negatives",
) -> tuple[list[PreferencePair], int]:
    """Correct vs hallucinated rewrites of `prompts`: the SFT model's own hallucinations (on-policy) first."""
    rewrites = rewrite_prompts(model, tokenizer, [(e.task, e.prompt) for e in prompts], settings.max_new_tokens)
    rng = random.Random(stable_seed(seed, "prompting", key))
    pairs, on_policy = [], 0
    for e, r in zip(prompts, rewrites):
        found, own = pairs_for(e, r, rng, mirrors=settings.dpo_mirror_pairs)
        pairs += found
        on_policy += own
    return pairs, on_policy


def pairs_for(
    example: PromptExample, rewrite: str, rng: random.Random, mirrors: bool = True
) -> tuple[list[PreferencePair], int]:
    """Preference pairs from one prompt and the SFT model's rewrite of it; and how many are on-policy.

    The SFT model's own mistakes, each written cleanly into the correct caption: one pair per
    hallucinated fact, so chosen and rejected differ in exactly that fact (same format, same
    elaboration) and the margin is taken at the token where the model goes wrong. A raw degenerate
    rewrite would also be pushed down on its shared, correct parts. With `mirrors`, each mistake also
    gets its mirror pair (`synthesis.counterfactual`: the prompt asking for the wrong value, where the
    original value is the hallucination), so DPO cannot lower hallucination by shifting the model's
    prior towards rare values. Where the model was right, a synthetic hallucination (one stated
    attribute swapped, or a subject invented) is the rejected side.
    """
    wrong = score_rewrite(example, rewrite).hallucinated if rewrite.strip() else []
    pairs: list[PreferencePair] = []
    for fact in wrong:
        bad = apply_facts(example, [fact])
        if bad is None:
            continue
        pairs.append(PreferencePair(example.task, example.prompt, example.target, bad))
        mirror = counterfactual(example, fact, rng) if mirrors else None
        if mirror is not None:
            other, original = mirror
            mirror_bad = apply_facts(other, [original])
            if mirror_bad is not None:
                pairs.append(PreferencePair(other.task, other.prompt, other.target, mirror_bad))
    pairs = list(dict.fromkeys(pairs))
    if pairs:
        return pairs, len(pairs)
    return [PreferencePair(example.task, example.prompt, example.target, hallucinate(example, rng))], 0


def train_prompt_engineer_dpo(
    sft_dir: str | Path,
    settings: PromptingSettings,
    seed: int,
    out_dir: str | Path,
    *,
    trainer_kwargs: dict[str, Any] | None = None,
    logger: Any = None,
) -> DPOResult:
    tokenizer = load_tokenizer(sft_dir)
    model = load_causal_lm(sft_dir)
    held_out = eval_examples(settings, seed)
    before = evaluate(model, tokenizer, held_out, settings)
    train_prompts, val_prompts = dpo_prompts(settings, seed)
    pairs, on_policy = preference_pairs(model, tokenizer, train_prompts, settings, seed)
    val_pairs, _ = preference_pairs(model, tokenizer, val_prompts, settings, seed, "dpo_val_negatives")

    torch.manual_seed(stable_seed(seed, "prompting", "lora_init") % (2**31))
    peft_model = apply_lora(model, r=settings.lora_r, alpha=settings.lora_alpha, dropout=settings.lora_dropout)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    val_set = PreferenceDataset(val_pairs, tokenizer, settings.max_tokens) if val_pairs else None
    pad = tokenizer.pad_token_id
    pairs_before = preference_metrics(peft_model, val_set, pad, settings.dpo_beta) if val_set else {}
    loop_seed = stable_seed(seed, "prompting", "dpo_loop") % (2**31)
    L.seed_everything(loop_seed, workers=True, verbose=False)
    loader = DataLoader(
        PreferenceDataset(pairs, tokenizer, settings.max_tokens),
        batch_size=min(settings.dpo_batch_size, len(pairs)),
        shuffle=True,
        generator=torch.Generator().manual_seed(loop_seed),
        collate_fn=partial(collate_pairs, pad_id=pad),
        num_workers=0,
    )
    module = DPOModule(peft_model, beta=settings.dpo_beta, lr=settings.dpo_lr, sft_weight=settings.dpo_sft_weight)
    with tempfile.TemporaryDirectory() as root:
        make_trainer(settings.dpo_steps, root, trainer_kwargs, logger).fit(module, loader)
    peft_model.eval()
    pairs_after = preference_metrics(peft_model, val_set, pad, settings.dpo_beta) if val_set else {}
    after = evaluate(peft_model, tokenizer, held_out, settings)
    adapter_dir = save_adapters(peft_model, out_dir)
    return DPOResult(adapter_dir, before.metrics, after.metrics, after.samples, len(pairs), on_policy, trainable,
                     pairs_before, pairs_after, len(val_pairs))
