"""Typed configuration of the causal video VAE (report section 2.1).

The paper's autoencoder maps RGB (T'+1, H', W', 3) to latents (T+1, H, W, C) with
(r_t, r_h, r_w) = (4, 16, 16) and C = 48. Every level of the encoder halves H and W; the deepest
log2(r_t) levels also halve time (keeping the leading frame), so the level count follows from r_h.
The decoder mirrors the encoder with its own channel widths, which is what the thin decoder
(report section 5.1) narrows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any


def _log2_exact(value: int, name: str) -> int:
    power = int(round(math.log2(value))) if value > 0 else -1
    if value < 1 or 2**power != value:
        raise ValueError(f"{name} must be a power of two >= 1, got {value}")
    return power


@dataclass(frozen=True)
class VAEConfig:
    in_channels: int = 3
    latent_channels: int = 48  # C in the report
    temporal_ratio: int = 4  # r_t
    spatial_ratio: int = 16  # r_h = r_w
    # Channel width per level, level 0 at pixel resolution; len = log2(spatial_ratio) + 1.
    encoder_channels: tuple[int, ...] = (128, 256, 512, 512, 512)
    decoder_channels: tuple[int, ...] = (128, 256, 512, 512, 512)
    # Temporal kernel per level (3 = full 3D causal conv, 1 = per-frame 2D conv). The paper-style
    # default mixes time everywhere; small CPU presets may use 1 at the pixel-side levels, where 3D
    # convs dominate cost, and keep time mixing at the deeper levels (temporal downsampling always
    # uses a 3-frame kernel).
    time_kernels: tuple[int, ...] | None = None
    num_res_blocks: int = 2  # encoder residual blocks per level
    decoder_res_blocks: int | None = None  # per decoder level; None -> num_res_blocks + 1 (SD/MAGVIT)
    mid_attention: bool = True  # per-frame spatial attention in the bottleneck (causal by construction)
    norm_groups: int = 32
    # DC-AE-style parameter-free residual paths around every down/upsampling (blocks.Downsample):
    # much faster convergence of the 16x spatial compression at small step budgets. Off = plain MAGVIT.
    resample_shortcut: bool = False
    # Residual autoencoding (models/vae/shortcut.py): a parameter-free causal space-to-channel latent
    # (4x4-pooled frames for C = 48) added to the encoder mean and its inverse added to the decoder
    # output; both conv heads start at zero, so the network learns a residual over it.
    latent_shortcut: bool = False
    # Initial bias of the posterior's log-variance channels. None keeps the default init (logvar ~ 0,
    # i.e. unit-variance sampling noise on latents of scale ~1, which drowns the signal for the first
    # thousands of steps); a negative value (e.g. -8 -> std 0.02) lets short runs learn from step 0.
    logvar_init: float | None = None
    logvar_min: float = -30.0
    logvar_max: float = 20.0
    # Latent normalisation for the DiT (z_dit = (z - shift) * scale), measured after training.
    latent_shift: float = 0.0
    latent_scale: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)  # provenance notes (e.g. thin-decoder origin)

    def __post_init__(self) -> None:
        levels = _log2_exact(self.spatial_ratio, "spatial_ratio") + 1
        t_down = _log2_exact(self.temporal_ratio, "temporal_ratio")
        if t_down > levels - 1:
            raise ValueError(
                f"temporal_ratio {self.temporal_ratio} needs {t_down} downsampling levels but "
                f"spatial_ratio {self.spatial_ratio} gives only {levels - 1}"
            )
        for name in ("encoder_channels", "decoder_channels"):
            chans = tuple(getattr(self, name))
            object.__setattr__(self, name, chans)
            if len(chans) != levels:
                raise ValueError(
                    f"{name} needs {levels} widths (one per level for spatial_ratio "
                    f"{self.spatial_ratio}), got {len(chans)}"
                )
            if min(chans) < 1:
                raise ValueError(f"{name} widths must be >= 1, got {chans}")
        if self.latent_shortcut:
            from models.vae.shortcut import shortcut_factors  # noqa: PLC0415 - raises a clear ValueError

            shortcut_factors(self.in_channels, self.latent_channels, self.spatial_ratio)
        if self.time_kernels is not None:
            tk = tuple(int(k) for k in self.time_kernels)
            object.__setattr__(self, "time_kernels", tk)
            if len(tk) != levels or any(k not in (1, 3) for k in tk):
                raise ValueError(f"time_kernels needs {levels} entries, each 1 or 3; got {tk}")

    def norm_groups_for(self, channels: int) -> int:
        # GroupNorm needs channels % groups == 0; narrow (tiny / thin) widths use fewer groups.
        return math.gcd(self.norm_groups, channels)

    def time_kernel(self, level: int) -> int:
        return 3 if self.time_kernels is None else self.time_kernels[level]

    @property
    def decoder_blocks(self) -> int:
        return self.num_res_blocks + 1 if self.decoder_res_blocks is None else self.decoder_res_blocks

    @property
    def levels(self) -> int:
        return len(self.encoder_channels)

    @property
    def temporal_down(self) -> tuple[bool, ...]:
        """Which of the levels-1 downsampling steps also halve time: the deepest log2(r_t)."""
        n = self.levels - 1
        t = _log2_exact(self.temporal_ratio, "temporal_ratio")
        return tuple(i >= n - t for i in range(n))

    def latent_frames(self, frames: int) -> int:
        """1 + n*r_t frames -> 1 + n latent frames."""
        return 1 + (frames - 1) // self.temporal_ratio

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["encoder_channels"] = list(self.encoder_channels)
        d["decoder_channels"] = list(self.decoder_channels)
        d["time_kernels"] = list(self.time_kernels) if self.time_kernels is not None else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VAEConfig":
        data = dict(data)
        data["encoder_channels"] = tuple(data["encoder_channels"])
        data["decoder_channels"] = tuple(data["decoder_channels"])
        if data.get("time_kernels") is not None:
            data["time_kernels"] = tuple(data["time_kernels"])
        return cls(**data)

    def thin(self, levels: int = 2, factor: float = 0.5) -> "VAEConfig":
        """The thin decoder: the `levels` decoder stages nearest pixel space get `factor` x width.

        The report profiles the decoder, finds the pixel-side stages dominate latency and narrows
        them; the encoder is untouched (and frozen when the thin decoder is retrained).
        """
        if not 1 <= levels <= self.levels:
            raise ValueError(f"thin levels must be in [1, {self.levels}], got {levels}")
        chans = list(self.decoder_channels)
        for i in range(levels):
            chans[i] = max(1, int(round(chans[i] * factor)))
        extra = dict(self.extra, thin_from=list(self.decoder_channels), thin_levels=levels, thin_factor=factor)
        return replace(self, decoder_channels=tuple(chans), extra=extra)
