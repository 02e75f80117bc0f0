"""Greedy rewriting: deterministic decoding of dense captions from user prompts."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from models.prompt_engineer.format import format_prompt


@torch.no_grad()
def rewrite_prompts(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    items: Sequence[tuple[str, str]],
    max_new_tokens: int = 96,
    batch_size: int = 64,
) -> list[str]:
    """`items` = [(task, user prompt)] -> rewrites. Greedy (argmax), so the same weights give the same text."""
    model.eval()
    device = next(model.parameters()).device
    out: list[str] = []
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        encoded = [tokenizer(format_prompt(t, p), add_special_tokens=False)["input_ids"] for t, p in chunk]
        length = max(len(e) for e in encoded)
        # Left padding: every prompt ends at the same position, so generation continues all rows at once.
        ids = torch.full((len(chunk), length), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), length), dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, length - len(e) :] = torch.tensor(e)
            mask[row, length - len(e) :] = 1
        generated = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=eos,
            pad_token_id=pad,
        )
        for row in generated[:, length:].tolist():
            if eos in row:
                row = row[: row.index(eos)]
            out.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return out
