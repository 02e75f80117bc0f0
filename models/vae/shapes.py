"""The bad-input policy: frame counts not 1 + r_t n and sizes not divisible by r_h / r_w.

Two documented policies, both reversible in shape through `ConformInfo`:

- `trim` (training and packing default): keep the first 1 + r_t * floor((T - 1) / r_t) frames and
  centre-crop H and W down to the nearest multiple of r_h / r_w. Only real pixels are kept, no
  invented frames. A frame smaller than one latent cell cannot be trimmed and raises.
- `pad` (inference on arbitrary inputs): repeat the last frame up to the next 1 + r_t n and
  replicate-pad the bottom / right edges up to the next multiple; `restore` crops the decoded
  output back to the original shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

Policy = Literal["trim", "pad"]


@dataclass(frozen=True)
class ConformInfo:
    original: tuple[int, int, int]  # (T, H, W) before conforming
    conformed: tuple[int, int, int]  # (T, H, W) after
    policy: str
    crop_top: int = 0
    crop_left: int = 0

    @property
    def changed(self) -> bool:
        return self.original != self.conformed


def conformed_shape(t: int, h: int, w: int, r_t: int, r_s: int, policy: Policy) -> tuple[int, int, int]:
    if t < 1:
        raise ValueError("a clip needs at least one frame")
    if policy == "trim":
        if h < r_s or w < r_s:
            raise ValueError(
                f"frame {h}x{w} is smaller than one {r_s}x{r_s} latent cell; trimming would leave nothing, "
                "use policy='pad'"
            )
        return 1 + r_t * ((t - 1) // r_t), h - h % r_s, w - w % r_s
    if policy == "pad":
        up = lambda v, r: -(-v // r) * r  # noqa: E731 - ceil to a multiple
        return 1 + up(t - 1, r_t), up(h, r_s), up(w, r_s)
    raise ValueError(f"unknown shape policy {policy!r}; use 'trim' or 'pad'")


def conform_video(x: torch.Tensor, r_t: int, r_s: int, policy: Policy = "trim") -> tuple[torch.Tensor, ConformInfo]:
    """x: (B, C, T, H, W) -> conformed (B, C, T*, H*, W*) and how to undo it."""
    t, h, w = x.shape[2:]
    t2, h2, w2 = conformed_shape(t, h, w, r_t, r_s, policy)
    if policy == "trim":
        top, left = (h - h2) // 2, (w - w2) // 2
        y = x[:, :, :t2, top : top + h2, left : left + w2]
        return y, ConformInfo((t, h, w), (t2, h2, w2), policy, top, left)
    y = x
    if t2 > t:
        y = torch.cat([y, y[:, :, -1:].expand(-1, -1, t2 - t, -1, -1)], dim=2)
    if (h2, w2) != (h, w):
        b, c = y.shape[:2]
        flat = y.transpose(1, 2).reshape(b * t2, c, h, w)  # (B*T, C, H, W)
        flat = F.pad(flat, (0, w2 - w, 0, h2 - h), mode="replicate")
        y = flat.reshape(b, t2, c, h2, w2).transpose(1, 2)
    return y.contiguous(), ConformInfo((t, h, w), (t2, h2, w2), policy)


def restore(y: torch.Tensor, info: ConformInfo) -> torch.Tensor:
    """Undo `pad` on a decoded output (crop back). `trim` is lossy; the trimmed shape is returned."""
    if info.policy == "pad":
        t, h, w = info.original
        return y[:, :, :t, :h, :w]
    return y
