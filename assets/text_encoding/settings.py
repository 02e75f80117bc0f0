"""The `text_encoder` preset section (report 2.2: a fine-tuned decoder-only LLM as the text encoder)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from resources.params import Section


class TextEncoderSettings(Section):
    # "embedded": a small Qwen2 + byte-level BPE trained here on the captions (fallback:embedded-qwen2).
    # "hf": a local Hugging Face causal-LM directory (e.g. Qwen2.5-7B/14B), fine-tuned `steps` on captions.
    backend: Literal["embedded", "hf"] = "embedded"
    pretrained_path: str = ""  # the local checkpoint directory for backend "hf"
    layer: int = Field(default=-1, ge=-64, le=64)  # hidden state fed to the DiT: -1 = last (after final norm)
    max_tokens: int = Field(default=128, ge=8, le=4096)  # text token budget per caption / shot
    # embedded model size (ignored for "hf"); Qwen2.5-14B: 5120 / 48 / 40 / 8 / 13824
    vocab_size: int = Field(default=512, ge=300, le=200_000)
    hidden_size: int = Field(default=64, ge=16, le=16_384)
    num_layers: int = Field(default=2, ge=1, le=128)
    num_heads: int = Field(default=4, ge=1, le=128)
    num_kv_heads: int = Field(default=2, ge=1, le=128)
    intermediate_size: int = Field(default=128, ge=16, le=65_536)
    # causal-LM training on the caption corpus (0 steps with "hf" = use the checkpoint as is)
    steps: int = Field(default=200, ge=0, le=1_000_000)
    batch_size: int = Field(default=16, ge=1, le=4096)
    lr: float = Field(default=3e-3, gt=0, le=1.0)
    val_fraction: float = Field(default=0.1, ge=0.0, le=0.5)
    max_texts: int = Field(default=4000, ge=8, le=100_000_000)  # corpus cap (sampled, seeded)
