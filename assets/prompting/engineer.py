"""The prompt engineer at inference: user prompt -> dense caption(s) in the DiT's training format.

Multi-shot prompts are split by `multishot.parse_multishot` first and each shot is rewritten on its
own (the PE is trained on single shots; each shot caption must stand alone in the DiT sequence), then
the shots are joined with the caption schema's markers (`[SHOT 1] ... [CUT] [SHOT 2] ...`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from assets.captioning.schema import CUT_MARKER, SHOT_MARKER
from assets.prompting.multishot import parse_multishot
from models.prompt_engineer.generate import rewrite_prompts


@dataclass
class Rewrite:
    caption: str  # the whole rewrite, with shot markers when there are several shots
    shots: list[str]  # one dense caption per shot
    warnings: list[str] = field(default_factory=list)  # from the multi-shot parser (for metadata)


class PromptEngineer:
    def __init__(self, model: torch.nn.Module, tokenizer: Any, backend: str, max_new_tokens: int = 96) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.backend = backend
        self.max_new_tokens = max_new_tokens

    def rewrite(self, prompt: str | bytes, task: str = "t2v", max_tokens: int | None = None) -> Rewrite:
        parsed = parse_multishot(prompt, max_tokens)
        shots = rewrite_prompts(self.model, self.tokenizer, [(task, s) for s in parsed.shots], self.max_new_tokens)
        if len(shots) == 1:
            caption = shots[0]
        else:
            caption = f" {CUT_MARKER} ".join(f"{SHOT_MARKER.format(index=i + 1)} {s}" for i, s in enumerate(shots))
        return Rewrite(caption, shots, list(parsed.warnings))


def load_prompt_engineer(store: Any, value: dict[str, Any], max_new_tokens: int = 96) -> PromptEngineer:
    """The PE stored by `prompt_engineer_sft` (full weights) or `prompt_engineer` (SFT base + LoRA adapters)."""
    from assets.text_encoding.checkpoint import materialize_checkpoint
    from models.prompt_engineer.dpo import load_adapters
    from models.text_encoder.encoder import load_causal_lm
    from models.text_encoder.tokenizer import load_tokenizer

    base_files = value.get("base_files") or value.get("files")
    if not base_files:
        raise ValueError(f"not a prompt-engineer asset value: keys {sorted(value)}")
    with tempfile.TemporaryDirectory() as tmp:
        base = materialize_checkpoint(store, base_files, Path(tmp) / "base")
        model = load_causal_lm(base)
        tokenizer = load_tokenizer(base)
        if value.get("adapter_files"):
            adapters = materialize_checkpoint(store, value["adapter_files"], Path(tmp) / "adapters")
            model = load_adapters(model, adapters)
    return PromptEngineer(model, tokenizer, value.get("backend", "unknown"), max_new_tokens)
