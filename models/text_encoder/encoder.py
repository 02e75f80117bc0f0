"""The text encoder: a decoder-only causal LM whose per-token hidden states condition the DiT (report 2.2).

One class for both backends. A checkpoint is a Hugging Face causal-LM directory (config.json +
model.safetensors + tokenizer files): the embedded default written by the `text_encoder` asset, or a
real local checkpoint such as Qwen2.5. Both are loaded by `AutoModelForCausalLM.from_pretrained` and
`AutoTokenizer.from_pretrained`.

Which hidden state: `layer=-1` (default) is the last decoder layer's output after the final RMSNorm,
i.e. `hidden_states[-1]` of HF's `output_hidden_states`; other indices select an intermediate layer
(`0` is the token embeddings, `k` the k-th decoder layer). Some video models prefer the penultimate
layer of a large LLM; that is `layer=-2`.

Token budget: texts longer than `max_tokens` are truncated (keeping the beginning, where a dense
caption puts subjects and appearance); `TextEncoding.truncated` and `n_tokens` report it so callers
can put it in metadata.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from models.text_encoder.tokenizer import load_tokenizer

log = logging.getLogger(__name__)

ENCODER_META = "seedflow_text_encoder.json"  # seedflow's own settings beside the HF files


@dataclass(frozen=True)
class TextEncoding:
    hidden: torch.Tensor  # [B, L, D] float32, zero at padded positions
    mask: torch.Tensor  # [B, L] bool, True on real tokens
    n_tokens: list[int]  # tokens each text had before truncation
    truncated: list[bool]  # whether each text was cut to the budget

    def __iter__(self):  # `hidden, mask = encoder.encode_batch(...)` works like `encode`
        return iter((self.hidden, self.mask))


class TextEncoder:
    """Frozen feature extractor over a causal LM: texts -> per-token hidden states + mask."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        layer: int = -1,
        backend: str = "hf",
        max_tokens: int = 128,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        # Right padding keeps every text's tokens at positions 0..n-1 whatever the batch (some real
        # checkpoints ship with left padding for generation).
        self.tokenizer.padding_side = "right"
        self.layer = layer
        self.backend = backend  # "fallback:embedded-qwen2" for the pipeline-trained default
        self.max_tokens = max_tokens  # default token budget when a caller gives none
        n_states = model.config.num_hidden_layers + 1
        if not -n_states <= layer < n_states:
            raise ValueError(f"layer {layer} out of range for a model with {n_states} hidden states")

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def count_tokens(self, text: str) -> int:
        """Tokens of one text, without truncation (the parser's `count_tokens` for exact budgets)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @torch.no_grad()
    def encode_batch(self, texts: list[str], max_tokens: int | None = None) -> TextEncoding:
        max_tokens = self.max_tokens if max_tokens is None else max_tokens
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts; wrap a single text in a list")
        if not texts:
            raise ValueError("encode needs at least one text")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        full = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        n_tokens = [max(len(ids), 1) for ids in full]
        truncated = [n > max_tokens for n in n_tokens]
        if any(truncated):
            log.warning(
                "text encoder: %d of %d text(s) exceed the %d-token budget and were truncated",
                sum(truncated), len(texts), max_tokens,
            )
        batch = self.tokenizer(
            list(texts),
            add_special_tokens=False,
            padding=True,
            truncation=True,
            max_length=max_tokens,
            return_tensors="pt",
        )
        ids = batch["input_ids"]  # [B, L]
        mask = batch["attention_mask"].bool()  # [B, L]
        if ids.shape[1] == 0:  # every text empty: keep one (padding) position so shapes stay valid
            ids = torch.full((len(texts), 1), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros(len(texts), 1, dtype=torch.bool)
        device = next(self.model.parameters()).device
        out = self.model(
            input_ids=ids.to(device), attention_mask=mask.long().to(device), output_hidden_states=True
        )
        hidden = out.hidden_states[self.layer].float()  # [B, L, D]
        hidden = hidden * mask.to(hidden.device).unsqueeze(-1)  # padded positions carry no signal
        return TextEncoding(hidden=hidden, mask=mask.to(hidden.device), n_tokens=n_tokens, truncated=truncated)

    def encode(self, texts: list[str], max_tokens: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`(hidden [B, L, D] float32, mask [B, L] bool)`; L <= max_tokens (default: the preset's budget)."""
        enc = self.encode_batch(texts, max_tokens)
        return enc.hidden, enc.mask

    # --- checkpoints -------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """HF layout: config.json + model.safetensors + tokenizer files + seedflow's layer/backend note."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)
        (directory / ENCODER_META).write_text(
            json.dumps(
                {"layer": self.layer, "backend": self.backend, "max_tokens": self.max_tokens}, indent=2, sort_keys=True
            )
        )
        return directory


def load_causal_lm(path: str | Path, **kwargs: Any) -> PreTrainedModel:
    """A causal LM from a local directory only (no hub access: `local_files_only`)."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{path} is not a Hugging Face model directory (no config.json); point the preset at a local "
            "checkpoint such as a downloaded Qwen2.5 folder"
        )
    return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, **kwargs)


def load_text_encoder_dir(
    path: str | Path, layer: int | None = None, backend: str | None = None, max_tokens: int | None = None
) -> TextEncoder:
    """A `TextEncoder` from a HF causal-LM directory (embedded default or a real checkpoint)."""
    path = Path(path)
    meta: dict[str, Any] = {}
    if (path / ENCODER_META).is_file():
        meta = json.loads((path / ENCODER_META).read_text())
    model = load_causal_lm(path)
    tokenizer = load_tokenizer(path)
    return TextEncoder(
        model,
        tokenizer,
        layer=meta.get("layer", -1) if layer is None else layer,
        backend=backend or meta.get("backend", f"hf:{model.config.model_type}"),
        max_tokens=max_tokens or int(meta.get("max_tokens", 128)),
    )
