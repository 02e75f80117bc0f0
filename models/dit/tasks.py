"""Unified task formulation (report 2.2): which latent frames are instructions to follow.

A task is a binary mask over latent frames. The model sees [noisy, clean frames where mask = 1
(zeros elsewhere), mask] on the channel axis, so one network covers:

    t2i        T = 1, mask = [0]
    t2v        mask = 0 everywhere
    i2v        mask = 1 on the first frame
    first_last mask = 1 on the first and the last frame
    keyframes  mask = 1 on any chosen set of frames

The loss is taken only where mask = 0: conditioning frames are given, not generated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

TASKS = ("t2i", "t2v", "i2v", "first_last", "keyframes")


def task_mask(task: str, frames: int, keyframes: Iterable[int] = ()) -> torch.Tensor:
    """(T,) float mask of conditioning frames for a named task."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    mask = torch.zeros(frames)
    if task == "t2i":
        if frames != 1:
            raise ValueError(f"t2i needs a single latent frame, got {frames}")
    elif task == "i2v":
        mask[0] = 1.0
    elif task == "first_last":
        mask[0] = 1.0
        mask[-1] = 1.0
    elif task == "keyframes":
        idx = sorted(set(int(k) for k in keyframes))
        if not idx or idx[0] < 0 or idx[-1] >= frames:
            raise ValueError(f"keyframes {idx} must be non-empty and within [0, {frames})")
        mask[idx] = 1.0
    return mask


def condition_from_frames(
    latents: torch.Tensor,  # (B, C, T, H, W) clean latents
    mask: torch.Tensor,  # (B, T) or (T,)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the non-instruction frames: -> (cond (B, C, T, H, W), mask (B, T))."""
    b, _, t, _, _ = latents.shape
    if mask.dim() == 1:
        mask = mask.unsqueeze(0).expand(b, t)
    mask = mask.to(latents.dtype)
    return latents * mask[:, None, :, None, None], mask


def sample_task_masks(
    frames: int,
    batch: int,
    shares: dict[str, float],
    generator: torch.Generator,
) -> tuple[torch.Tensor, list[str]]:
    """Draw one task per sample with the stage's shares -> (mask (B, T), task names).

    Images (T = 1) are always text-to-image. For videos the shares of `i2v`, `first_last` and
    `keyframes` are used and the rest is text-to-video (e.g. pre-training: i2v 0.2; CT: i2v 0.4).
    """
    if frames == 1:
        return torch.zeros(batch, 1), ["t2i"] * batch
    names: Sequence[str] = ("i2v", "first_last", "keyframes")
    probs = torch.tensor([float(shares.get(n, 0.0)) for n in names])
    if probs.sum() > 1.0 + 1e-6:
        raise ValueError(f"task shares {shares} sum above 1")
    probs = torch.cat([probs, (1.0 - probs.sum()).clamp(min=0.0).view(1)])
    draws = torch.multinomial(probs, batch, replacement=True, generator=generator)
    masks, tasks = [], []
    for d in draws.tolist():
        task = (*names, "t2v")[d]
        keys: list[int] = []
        if task == "keyframes":
            k = int(torch.randint(1, max(2, frames), (1,), generator=generator))
            keys = torch.randperm(frames, generator=generator)[:k].tolist()
        masks.append(task_mask(task, frames, keys))
        tasks.append(task)
    return torch.stack(masks), tasks
