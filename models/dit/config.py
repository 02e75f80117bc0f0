"""Typed configuration of the Seedance-style diffusion transformer (report section 2.2)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class DiTConfig:
    """Widths and switches of `SeedDiT`.

    There is no patch size: the VAE already compresses 4x16x16, so every latent cell is one visual
    token (report 2.1, following DC-AE). `latent_channels` is the VAE's C (48 in the paper).
    """

    latent_channels: int = 4  # C of the VAE latent (paper: 48)
    text_dim: int = 32  # width of the text encoder's token embeddings
    hidden: int = 64  # transformer width D
    heads: int = 4  # attention heads; head_dim = hidden // heads
    depth: int = 2  # number of (spatial block, temporal block) pairs
    mlp_ratio: float = 4.0
    temporal_window: int = 4  # side (latent cells) of the square spatial window of temporal blocks
    temporal_sees_text: bool = False  # report: text only in spatial layers; option asked by the notes
    text_scope: str = "all"  # "all": a frame attends to every shot's caption; "own": only its shot's
    rope_theta: float = 10000.0
    qk_norm: bool = True  # report: Q and K normalised before attention (training stability)
    activation_checkpointing: bool = False  # recompute each block in backward (report 6.1, MLAC)

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"dit.hidden ({self.hidden}) must be divisible by dit.heads ({self.heads})")
        if self.head_dim % 2 or self.head_dim < 8:
            raise ValueError(f"head_dim {self.head_dim} must be even and >= 8 for 3D RoPE")
        if self.text_scope not in ("all", "own"):
            raise ValueError(f"dit.text_scope must be 'all' or 'own', got {self.text_scope!r}")
        if self.temporal_window < 1:
            raise ValueError("dit.temporal_window must be >= 1")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def rope_dims(self) -> tuple[int, int, int]:
        """How a head's channels are split between the (t, h, w) rotary axes.

        h and w get 3/8 of the head each (even), t the rest, as in Open-Sora / HunyuanVideo's 3D RoPE.
        Text tokens use the same three axes with equal positions (1D RoPE on the diagonal, MM-RoPE).
        """
        hw = (self.head_dim * 3 // 8) // 2 * 2
        return self.head_dim - 2 * hw, hw, hw

    @property
    def in_channels(self) -> int:
        """Unified task formulation: noisy latent + conditioning latent + 1 binary mask channel."""
        return 2 * self.latent_channels + 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiTConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown DiT config keys: {sorted(unknown)}")
        return cls(**data)
