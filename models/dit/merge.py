"""Model merging (report 4.3): specialists trained on curated subsets averaged into one model.

Recipes: `uniform` (plain mean), `data_weighted` (by each specialist's training tokens),
`val_weighted` (softmax of minus validation loss / temperature: better specialists weigh more).
All specialists must share the architecture and the upstream they were fine-tuned from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def merge_weights(recipe: str, *, tokens: Sequence[float] = (), val_losses: Sequence[float] = (), n: int = 0,
                  temperature: float = 0.05) -> list[float]:
    if recipe == "uniform":
        return [1.0 / n] * n
    if recipe == "data_weighted":
        total = float(sum(tokens))
        return [t / total for t in tokens]
    if recipe == "val_weighted":
        z = [math.exp(-(v - min(val_losses)) / temperature) for v in val_losses]
        return [x / sum(z) for x in z]
    raise ValueError(f"unknown merge recipe {recipe!r}; use uniform, data_weighted or val_weighted")


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    if not states or len(states) != len(weights):
        raise ValueError("need one weight per specialist state")
    keys = set(states[0])
    for s in states[1:]:
        if set(s) != keys:
            raise ValueError("specialists differ in architecture; cannot merge")
    out = {}
    for k in states[0]:
        acc = torch.zeros_like(states[0][k], dtype=torch.float64)
        for s, w in zip(states, weights, strict=True):
            acc += w * s[k].double()
        out[k] = acc.to(states[0][k].dtype)
    return out
