"""Timesteps of rectified flow.

Convention (SD3 / rectified flow): x_t = (1 - t) x_0 + t eps, t = 0 is data, t = 1 is noise, and
the network predicts the velocity v = dx_t/dt = eps - x_0.

Training times are logit-normal: t = sigmoid(u), u ~ N(m, s^2) (SD3 section 3.1), which puts
most samples at mid noise levels.

Resolution- and duration-aware shift (report 4.1: "videos with higher resolution and longer
duration require more noise"). A shift s > 1 moves every time towards noise:

    time_shift(t, s) = s t / (1 + (s - 1) t)          (SD3 eq. 23; = Flux's exp(mu) form)

The shift depends on the token count N = T * H * W of the latent (T latent frames, H x W cells):
a larger grid or more frames means more redundant signal, so noise must go higher to destroy it.
SD3 derives s proportional to sqrt(N) for images; for video that over-shifts (Wan, HunyuanVideo
use s = 5..7 at ~50-100k tokens), so we interpolate log(s) linearly in log(N) between two
anchor points from the preset and clamp outside them:

    alpha = log(s_hi / s_lo) / log(N_hi / N_lo)
    s(N)  = s_lo * (N / N_lo) ** alpha,   clamped to [s_lo, s_hi]

Anchors in the presets: paper (256 tokens = 256px image, s = 1) -> (49k tokens = 480p 5 s 24 fps,
s = 5); tiny keeps the same ratios on its small grids. At the geometric mean of the anchors the
shift is the geometric mean of the shifts, which the unit tests check in closed form.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class FlowConfig:
    logit_mean: float = 0.0  # m of the logit-normal (SD3: 0.0)
    logit_std: float = 1.0  # s of the logit-normal (SD3: 1.0)
    shift_tokens_lo: int = 256  # N_lo anchor: tokens of the base resolution image
    shift_lo: float = 1.0  # s at N_lo
    shift_tokens_hi: int = 49152  # N_hi anchor
    shift_hi: float = 5.0  # s at N_hi
    text_dropout: float = 0.1  # share of captions dropped to the null text (enables CFG)

    def __post_init__(self) -> None:
        if not (0 < self.shift_tokens_lo < self.shift_tokens_hi):
            raise ValueError("flow.shift_tokens_lo must be positive and below flow.shift_tokens_hi")
        if not (0 < self.shift_lo <= self.shift_hi):
            raise ValueError("flow.shift_lo must be positive and at most flow.shift_hi")

    def to_dict(self) -> dict:
        return asdict(self)


def logit_normal(n: int, mean: float, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n,) times t = sigmoid(u), u ~ N(mean, std^2)."""
    u = torch.randn(n, generator=generator) * std + mean
    return torch.sigmoid(u)


def time_shift(t: torch.Tensor | float, shift: float) -> torch.Tensor | float:
    """s t / (1 + (s - 1) t): identity at s = 1, fixes 0 and 1, pushes towards 1 (noise) for s > 1."""
    return shift * t / (1 + (shift - 1) * t)


def resolution_shift(tokens: int, cfg: FlowConfig) -> float:
    """Shift for a latent of `tokens` = T * H * W cells (log-log interpolation between the anchors)."""
    alpha = math.log(cfg.shift_hi / cfg.shift_lo) / math.log(cfg.shift_tokens_hi / cfg.shift_tokens_lo)
    s = cfg.shift_lo * (max(tokens, 1) / cfg.shift_tokens_lo) ** alpha
    return float(min(max(s, cfg.shift_lo), cfg.shift_hi))


def training_times(n: int, tokens: int, cfg: FlowConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """Logit-normal times, shifted for the latent size: (n,) in (0, 1)."""
    return time_shift(logit_normal(n, cfg.logit_mean, cfg.logit_std, generator), resolution_shift(tokens, cfg))


def sampling_schedule(steps: int, tokens: int, cfg: FlowConfig) -> torch.Tensor:
    """(steps + 1,) times from 1 to 0: uniform grid shifted like the training times."""
    if steps < 1:
        raise ValueError("sampling needs at least one step")
    grid = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    return time_shift(grid, resolution_shift(tokens, cfg)).to(torch.float32)
