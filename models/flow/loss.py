"""The flow-matching objective with velocity prediction."""

from __future__ import annotations

import torch


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x_t = (1 - t) x0 + t noise and its velocity target noise - x0. t: (B,), x0: (B, ...)."""
    tt = t.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return (1 - tt) * x0 + tt * noise, noise - x0


def flow_matching_loss(
    v_pred: torch.Tensor,  # (B, C, T, H, W)
    v_target: torch.Tensor,  # (B, C, T, H, W)
    loss_mask: torch.Tensor,  # (B, T): 1 where the frame is generated (not a conditioning frame)
) -> torch.Tensor:
    """Mean squared velocity error over the generated frames only."""
    err = (v_pred.float() - v_target.float()).pow(2).mean(dim=(1, 3, 4))  # (B, T)
    w = loss_mask.float()
    return (err * w).sum() / w.sum().clamp(min=1.0)
