"""Fitting a small classifier head on precomputed features, then freezing it.

The judges and the captioner both read the subject detector's per-shot evidence ((N, D) features, cheap)
through small heads that are fitted on their own, many epochs with weight decay, then frozen.
"""

from __future__ import annotations

import torch
from torch import nn


def fit_frozen_head(head: nn.Module, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator, *, epochs: int,
                    batch_size: int, lr: float, ignore_index: int = -100) -> None:
    """AdamW (weight decay 1e-2) on cross-entropy over shuffled mini-batches drawn with `gen`; then eval + frozen.
    x: (N, D) features, y: (N,) class indices (`ignore_index` rows carry no loss)."""
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-2)
    head.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), batch_size):
            b = perm[i:i + batch_size]
            loss = nn.functional.cross_entropy(head(x[b]), y[b], ignore_index=ignore_index)
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval().requires_grad_(False)
