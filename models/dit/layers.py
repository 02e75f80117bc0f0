"""Small building blocks shared by the spatial and temporal DiT blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.dit.rope import apply_rope


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x (N, S, D), shift/scale (N, D) -> x * (1 + scale) + shift."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class AdaLNModulation(nn.Module):
    """c (N, D) -> `chunks` vectors of (N, D). Zero-initialised (adaLN-Zero): a new block starts as identity."""

    def __init__(self, hidden: int, chunks: int) -> None:
        super().__init__()
        self.chunks = chunks
        self.proj = nn.Linear(hidden, chunks * hidden)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.proj(F.silu(c)).chunk(self.chunks, dim=-1)


class MLP(nn.Module):
    def __init__(self, hidden: int, ratio: float) -> None:
        super().__init__()
        inner = int(hidden * ratio)
        self.fc1 = nn.Linear(hidden, inner)
        self.fc2 = nn.Linear(inner, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class QKV(nn.Module):
    """One modality's QKV projection with per-head RMS QK-norm (report: Q and K normalised)."""

    def __init__(self, hidden: int, heads: int, qk_norm: bool) -> None:
        super().__init__()
        self.heads = heads
        self.proj = nn.Linear(hidden, 3 * hidden)
        hd = hidden // heads
        self.q_norm = nn.RMSNorm(hd, eps=1e-6) if qk_norm else nn.Identity()
        self.k_norm = nn.RMSNorm(hd, eps=1e-6) if qk_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, s, d = x.shape
        qkv = self.proj(x).view(n, s, 3, self.heads, d // self.heads)  # (N, S, 3, heads, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (N, heads, S, hd)
        return self.q_norm(q), self.k_norm(k), v


def attention(
    q: torch.Tensor,  # (N, heads, Sq, hd)
    k: torch.Tensor,  # (N, heads, Sk, hd)
    v: torch.Tensor,  # (N, heads, Sk, hd)
    q_angles: torch.Tensor,  # (N, Sq, hd/2)
    k_angles: torch.Tensor,  # (N, Sk, hd/2)
    mask: torch.Tensor | None,  # bool, broadcastable to (N, 1, Sq, Sk); True = may attend
) -> torch.Tensor:
    q = apply_rope(q, q_angles)
    k = apply_rope(k, k_angles)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (N, heads, Sq, hd)
    n, h, s, hd = out.shape
    return out.transpose(1, 2).reshape(n, s, h * hd)  # (N, Sq, D)


class TimestepEmbedder(nn.Module):
    """Flow time t in [0, 1] -> (B, D): sinusoidal features of 1000 t, then an MLP (as in DiT / SD3)."""

    def __init__(self, hidden: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = (t.float() * 1000.0)[:, None] * freqs[None]  # (B, half)
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (B, freq_dim)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))
