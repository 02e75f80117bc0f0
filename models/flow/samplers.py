"""Seeded ODE samplers for the flow (Euler, Heun) with classifier-free guidance.

`velocity(x, t)` -> v is any callable; `sample` integrates dx/dt = v from t = 1 (noise) to t = 0.
Conditioning frames (unified task formulation) are re-imposed after each step so they stay clean.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def guided(cond: Velocity, uncond: Velocity | None, scale: float) -> Velocity:
    """Classifier-free guidance: v = v_u + scale (v_c - v_u); scale 1 (or no uncond) is plain conditional."""
    if uncond is None or scale == 1.0:
        return cond

    def v(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        vu = uncond(x, t)
        return vu + scale * (cond(x, t) - vu)

    return v


def sample(
    velocity: Velocity,
    shape: tuple[int, ...],  # (B, C, T, H, W)
    schedule: torch.Tensor,  # (steps + 1,) from 1 to 0
    seed: int,
    method: str = "euler",
    known: torch.Tensor | None = None,  # (B, C, T, H, W) clean conditioning latents
    known_mask: torch.Tensor | None = None,  # (B, T)
) -> torch.Tensor:
    """Integrate from seeded Gaussian noise; returns x_0 (B, C, T, H, W)."""
    if method not in ("euler", "heun"):
        raise ValueError(f"unknown sampler {method!r}; use 'euler' or 'heun'")
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn(shape, generator=gen)
    bsz = shape[0]

    def impose(x: torch.Tensor, t: float) -> torch.Tensor:
        # Conditioning frames follow the same path as training: x_t = (1-t) x0 + t eps with their
        # own clean x0; the model was trained with them given in the cond channels anyway.
        if known is None or known_mask is None:
            return x
        m = known_mask.to(x.dtype)[:, None, :, None, None]
        return x * (1 - m) + ((1 - t) * known + t * noise0) * m

    noise0 = x.clone()
    x = impose(x, float(schedule[0]))
    for i in range(len(schedule) - 1):
        t, t_next = float(schedule[i]), float(schedule[i + 1])
        tb = torch.full((bsz,), t)
        v = velocity(x, tb)
        x_next = x + (t_next - t) * v
        if method == "heun" and t_next > 0:
            # Heun (trapezoid): average the slope at both ends; the last step to t = 0 stays Euler.
            v_next = velocity(impose(x_next, t_next), torch.full((bsz,), t_next))
            x_next = x + (t_next - t) * 0.5 * (v + v_next)
        x = impose(x_next, t_next)
    return x
