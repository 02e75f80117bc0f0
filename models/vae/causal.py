"""Temporally causal primitives: a 3D convolution that never looks at later frames, per-frame norm.

Causality is what lets one VAE encode images (a single frame) and videos with the same code path,
and what makes chunked (streaming) encode/decode exact: every module below only needs the last few
frames of the previous chunk, kept in a small cache.

Tensors are (B, C, T, H, W) throughout; the report's (T+1, H, W, C) layout is a permutation of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _triple(v: int | tuple[int, int, int]) -> tuple[int, int, int]:
    return (v, v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


class StreamingModule(nn.Module):
    """A module with an optional causal cache carried from one temporal chunk to the next."""

    def __init__(self) -> None:
        super().__init__()
        self.streaming = False
        self.first_chunk = True

    def reset_stream(self, streaming: bool) -> None:
        self.streaming = streaming
        self.first_chunk = True
        self._clear_cache()

    def _clear_cache(self) -> None:  # pragma: no cover - overridden
        pass


class CausalConv3d(StreamingModule):
    """Conv3d padded only on the past side of time.

    Frame k of the output sees input frames <= k * stride. The first chunk is front-padded with
    copies of its first frame (kernel - 1 of them), so an image (T = 1) is treated exactly like the
    first frame of a video. In streaming mode the cache holds the input frames not yet consumed by
    a full window (kernel - 1 for stride 1, kernel - stride for stride 2 after aligned chunks), so
    chunked output equals whole-clip output exactly and memory is bounded by the chunk.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int] = 3,
        stride: int | tuple[int, int, int] = 1,
    ) -> None:
        super().__init__()
        kt, kh, kw = _triple(kernel_size)
        st, sh, sw = _triple(stride)
        self.time_kernel, self.time_stride = kt, st
        self.conv: nn.Conv2d | nn.Conv3d
        if kt == 1 and st == 1:
            # A purely spatial kernel runs as a 2D conv over every frame: identical maths, and much
            # faster on CPU than a (1, k, k) Conv3d at small widths.
            self.conv = nn.Conv2d(in_channels, out_channels, (kh, kw), stride=(sh, sw), padding=(kh // 2, kw // 2))
        else:
            # Spatial padding is symmetric zero padding; temporal padding is done by hand (causal).
            self.conv = nn.Conv3d(
                in_channels, out_channels, (kt, kh, kw), stride=(st, sh, sw), padding=(0, kh // 2, kw // 2)
            )
        self.cache: torch.Tensor | None = None

    def _clear_cache(self) -> None:
        self.cache = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, T, H, W)
        kt, st = self.time_kernel, self.time_stride
        if isinstance(self.conv, nn.Conv2d):
            b, c, t, h, w = x.shape
            y = self.conv(x.transpose(1, 2).reshape(b * t, c, h, w))  # (B*T, C', H', W')
            return y.reshape(b, t, *y.shape[1:]).transpose(1, 2)  # (B, C', T, H', W')
        if self.streaming and not self.first_chunk:
            assert self.cache is not None
            x = torch.cat([self.cache, x], dim=2)
        elif kt > 1:
            pad = x[:, :, :1].expand(-1, -1, kt - 1, -1, -1)  # replicate the first frame into the past
            x = torch.cat([pad, x], dim=2)
        t = x.shape[2]
        n_out = (t - kt) // st + 1 if t >= kt else 0
        if n_out == 0:
            raise ValueError(
                f"temporal chunk too short for a causal conv (kernel {kt}, stride {st}, {t} frames "
                "with cache); use chunks of a multiple of the temporal ratio"
            )
        if self.streaming:
            # Keep what the next window needs: frames from the start of the next window on.
            self.cache = x[:, :, n_out * st :].detach()
            self.first_chunk = False
        return self.conv(x)


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm applied to each frame separately.

    Plain GroupNorm on (B, C, T, H, W) pools statistics over time, which would let a later frame
    change an earlier frame's features (breaking causality and chunk invariance).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, C, H, W)
        y = F.group_norm(y, self.num_groups, self.weight, self.bias, self.eps)
        return y.reshape(b, t, c, h, w).transpose(1, 2)  # (B, C, T, H, W)
