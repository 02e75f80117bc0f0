"""The hybrid discriminator (report section 2.1): appearance and motion.

A 2D PatchGAN (Isola et al.) judges each frame's local texture; a 3D PatchGAN with the same layout
judges short space-time patches of the clip, so flicker and broken motion are penalised too.
GroupNorm instead of BatchNorm keeps the result independent of how a batch is composed.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, c), c)


class PatchDiscriminator2D(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for i in range(1, n_layers + 1):
            c_next = width * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(c, c_next, 4, stride, 1), _gn(c_next), nn.LeakyReLU(0.2)]
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        return self.net(x.transpose(1, 2).reshape(b * t, c, h, w))  # (B*T, 1, h', w') patch logits


class PatchDiscriminator3D(nn.Module):
    """Kernel (3, 4, 4); time is strided once so 1-frame images pass too (zero time padding)."""

    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv3d(in_channels, width, (3, 4, 4), (1, 2, 2), (1, 1, 1)), nn.LeakyReLU(0.2)]
        c = width
        for i in range(1, n_layers + 1):
            c_next = width * min(2**i, 8)
            stride = (2 if i == 1 else 1, 2, 2) if i < n_layers else (1, 1, 1)
            layers += [nn.Conv3d(c, c_next, (3, 4, 4), stride, (1, 1, 1)), _gn(c_next), nn.LeakyReLU(0.2)]
            c = c_next
        layers.append(nn.Conv3d(c, 1, (3, 4, 4), 1, (1, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, t', h', w') patch logits


class HybridDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        self.frame = PatchDiscriminator2D(in_channels, width, n_layers)
        self.clip = PatchDiscriminator3D(in_channels, width, n_layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: (B, 3, T, H, W) in [-1, 1] -> [per-frame logits, per-clip logits]."""
        return [self.frame(x), self.clip(x)]
