"""Encoder/decoder blocks of the causal VAE: residual block, per-frame attention, resampling."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.vae.causal import CausalConv3d, FrameGroupNorm, StreamingModule


def norm(channels: int, groups: int) -> FrameGroupNorm:
    return FrameGroupNorm(math.gcd(groups, channels), channels, eps=1e-6)


class ResBlock3d(nn.Module):
    """norm -> SiLU -> causal conv, twice, with a 1x1x1 skip when widths differ."""

    def __init__(self, in_channels: int, out_channels: int, groups: int, time_kernel: int = 3) -> None:
        super().__init__()
        k = (time_kernel, 3, 3)
        self.norm1 = norm(in_channels, groups)
        self.conv1 = CausalConv3d(in_channels, out_channels, k)
        self.norm2 = norm(out_channels, groups)
        self.conv2 = CausalConv3d(out_channels, out_channels, k)
        self.skip = nn.Conv3d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class FrameAttention(nn.Module):
    """Single-head spatial self-attention inside each frame (no mixing across time, so causal)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = norm(channels, groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = self.norm(x).transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, C, H, W)
        q, k, v = self.qkv(y).reshape(b * t, 3, c, h * w).permute(1, 0, 3, 2).unbind(0)  # each (B*T, HW, C)
        o = F.scaled_dot_product_attention(q, k, v)  # (B*T, HW, C)
        o = self.proj(o.transpose(1, 2).reshape(b * t, c, h, w))
        return x + o.reshape(b, t, c, h, w).transpose(1, 2)


def frame_avg_pool2(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, C, T, H/2, W/2): 2x2 average pooling inside each frame."""
    b, c, t, h, w = x.shape
    y = F.avg_pool2d(x.transpose(1, 2).reshape(b * t, c, h, w), 2)  # (B*T, C, H/2, W/2)
    return y.reshape(b, t, c, h // 2, w // 2).transpose(1, 2)


class Downsample(StreamingModule):
    """Strided causal conv: halves H, W and (optionally) time keeping the leading frame.

    With kernel 3, stride 2 and two past-padding frames, 1 + 2m frames -> 1 + m frames and
    output j sees input frames <= 2j; the first output frame sees only the first input frame.

    With `shortcut`, a parameter-free residual path is added (the space-to-channel shortcut of
    DC-AE, Chen et al. 2024, at equal width: 2x2 average pooling, and in time the causal mean of
    frames (2j-1, 2j), the leading frame paired with itself). It hands the deep levels a coarse copy
    of the input from the first step, so a 16x compression autoencoder converges in far fewer steps.
    """

    def __init__(self, channels: int, time: bool, time_kernel: int = 3, shortcut: bool = False) -> None:
        super().__init__()
        kt = 3 if time else time_kernel  # halving time needs a window over past frames
        self.time, self.shortcut = time, shortcut
        self.conv = CausalConv3d(channels, channels, (kt, 3, 3), stride=(2 if time else 1, 2, 2))

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.time:
            if not self.streaming or self.first_chunk:
                x = torch.cat([x[:, :, :1], x], dim=2)  # leading frame pairs with itself: 1 + 2m -> 2 + 2m
            if self.streaming:
                self.first_chunk = False
            b, c, t, h, w = x.shape
            x = x.reshape(b, c, t // 2, 2, h, w).mean(3)  # (B, C, T/2, H, W); later chunks are even-length
        return frame_avg_pool2(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y + self._shortcut(x) if self.shortcut else y


class Upsample(StreamingModule):
    """Nearest x2 in H, W (and time), then a causal conv (plus the upsampled input with `shortcut`).

    In time, latent frame 0 yields one frame and each later latent frame two (1 + m -> 1 + 2m),
    mirroring the encoder: the repeat doubles every frame and the very first copy is dropped.
    """

    def __init__(self, channels: int, time: bool, time_kernel: int = 3, shortcut: bool = False) -> None:
        super().__init__()
        self.time, self.shortcut = time, shortcut
        self.conv = CausalConv3d(channels, channels, (time_kernel, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        if self.time:
            x = x.repeat_interleave(2, dim=2)  # (B, C, 2T, H, W)
            if not self.streaming or self.first_chunk:
                x = x[:, :, 1:]  # leading frame maps to a single frame
            if self.streaming:
                self.first_chunk = False
        y = F.interpolate(x.transpose(1, 2).reshape(-1, c, h, w), scale_factor=2.0, mode="nearest")
        y = y.reshape(b, -1, c, 2 * h, 2 * w).transpose(1, 2)  # (B, C, T_out, 2H, 2W)
        # shortcut: the nearest-upsampled input itself (channel-to-space shortcut of DC-AE at equal width)
        return self.conv(y) + y if self.shortcut else self.conv(y)
