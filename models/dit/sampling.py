"""Sampling latents from a trained SeedDiT: flow ODE + classifier-free guidance + conditioning frames."""

from __future__ import annotations

import torch

from models.dit.model import SeedDiT
from models.flow.samplers import guided, sample
from models.flow.schedule import FlowConfig, sampling_schedule


def pack_shot_captions(
    captions: list[tuple[torch.Tensor, torch.Tensor]],  # per shot: (L_k, Dt) embeddings, (L_k,) mask
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenate each shot's valid caption tokens in temporal order -> text (L, Dt), mask (L,), shot (L,)."""
    texts, shots = [], []
    for k, (emb, mask) in enumerate(captions):
        valid = emb[mask.bool()]
        texts.append(valid)
        shots.append(torch.full((valid.shape[0],), k, dtype=torch.long))
    text = torch.cat(texts)
    return text, torch.ones(text.shape[0], dtype=torch.bool), torch.cat(shots)


def frame_shots(frames: int, n_shots: int) -> torch.Tensor:
    """Split `frames` latent frames into `n_shots` consecutive shots of (nearly) equal length."""
    return torch.arange(frames) * n_shots // frames


@torch.no_grad()
def sample_latents(
    model: SeedDiT,
    flow: FlowConfig,
    *,
    text: torch.Tensor,  # (B, L, Dt)
    text_mask: torch.Tensor,  # (B, L)
    shape: tuple[int, int, int, int, int],  # (B, C, T, H, W)
    seed: int,
    steps: int = 20,
    method: str = "heun",
    cfg_scale: float = 3.0,
    text_shot: torch.Tensor | None = None,  # (B, L)
    frame_shot: torch.Tensor | None = None,  # (B, T)
    known: torch.Tensor | None = None,  # (B, C, T, H, W) clean latents of conditioning frames
    known_mask: torch.Tensor | None = None,  # (B, T)
) -> torch.Tensor:
    model.eval()
    b, c, t, h, w = shape
    cond = known if known is not None else torch.zeros(shape)
    cmask = known_mask if known_mask is not None else torch.zeros(b, t)
    null_mask = torch.zeros_like(text_mask, dtype=torch.bool)  # the CFG null text (caption dropout)

    def v_cond(x: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        return model(x, tt, cond, cmask, text, text_mask, frame_shot, text_shot)

    def v_uncond(x: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        return model(x, tt, cond, cmask, text, null_mask, frame_shot, text_shot)

    schedule = sampling_schedule(steps, t * h * w, flow)
    return sample(
        guided(v_cond, v_uncond, cfg_scale), shape, schedule, seed, method,
        known if known_mask is not None else None, known_mask,
    )
