"""Parameter-free latent shortcut (residual autoencoding, DC-AE, Chen et al. 2024), made causal.

A 16x spatial compression autoencoder learns slowly from scratch: for thousands of steps its conv path
reconstructs little more than the mean colour. DC-AE adds non-parametric space-to-channel shortcuts so the
network only has to learn a residual over a coarse, exactly invertible-in-shape copy of the input. Here:

  encoder side  x (B, 3, 1 + r_t n, H', W') -> (B, C, 1 + n, H'/r_s, W'/r_s)
                causal mean over each latent's frames (latent 0 = frame 0, latent j = frames 4j-3..4j),
                p x p average pooling, then pixel-unshuffle by q (p * q = r_s, 3 q^2 = C: for the paper's
                C = 48, q = 4, so the shortcut latent is the 4x4-pooled frame, 3 colours x 16 sub-positions);
  decoder side  the exact shape inverse: pixel-shuffle by q, nearest upsampling by p, each latent frame
                repeated over the frames it covers.

Both are causal and chunk-exact (latent j only sees frames <= 4j; chunks are latent-aligned). The VAE adds
them to its encoder mean and decoder output; with `zero_init` the conv heads start at zero, so an untrained
VAE *is* the shortcut and training must beat it (the asset reports the shortcut-only PSNR for that reason).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.vae.causal import StreamingModule


def shortcut_factors(in_channels: int, latent_channels: int, spatial_ratio: int) -> tuple[int, int]:
    """(p, q): pooling and pixel-unshuffle factors with p * q = spatial_ratio, in_channels * q^2 = C."""
    q2, rem = divmod(latent_channels, in_channels)
    q = math.isqrt(q2) if q2 > 0 else 0
    if rem or q * q != q2 or q < 1 or spatial_ratio % q:
        raise ValueError(
            f"latent_shortcut needs latent_channels = in_channels * q^2 with q dividing spatial_ratio; got "
            f"C={latent_channels}, in_channels={in_channels}, spatial_ratio={spatial_ratio} (C=48 -> q=4 works)"
        )
    return spatial_ratio // q, q


class LatentShortcut(StreamingModule):
    def __init__(self, in_channels: int, latent_channels: int, temporal_ratio: int, spatial_ratio: int) -> None:
        super().__init__()
        self.in_channels, self.latent_channels, self.r_t = in_channels, latent_channels, temporal_ratio
        self.pool, self.q = shortcut_factors(in_channels, latent_channels, spatial_ratio)

    def _leading(self) -> bool:
        """True on a whole clip or the first chunk of a stream (where frame 0 stands alone)."""
        first = not self.streaming or self.first_chunk
        if self.streaming:
            self.first_chunk = False
        return first

    def to_latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H', W') -> (B, C, T_lat, H'/r_s, W'/r_s)."""
        if self._leading():
            x = torch.cat([x[:, :, :1].expand(-1, -1, self.r_t - 1, -1, -1), x], dim=2)  # frame 0 alone
        b, c, t, h, w = x.shape
        x = x.reshape(b, c, t // self.r_t, self.r_t, h, w).mean(3)  # (B, 3, T_lat, H', W')
        t = x.shape[2]
        y = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T_lat, 3, H', W')
        y = F.pixel_unshuffle(F.avg_pool2d(y, self.pool), self.q)  # (B*T_lat, C, H, W)
        return y.reshape(b, t, *y.shape[1:]).transpose(1, 2)

    def to_pixels(self, z: torch.Tensor) -> torch.Tensor:
        """(B, C, T_lat, H, W) -> (B, 3, frames, H * r_s, W * r_s), frames = 1 + r_t (T_lat - 1) on a whole clip."""
        b, c, t, h, w = z.shape
        y = F.pixel_shuffle(z.transpose(1, 2).reshape(b * t, c, h, w), self.q)  # (B*T_lat, 3, qH, qW)
        y = F.interpolate(y, scale_factor=self.pool, mode="nearest")  # (B*T_lat, 3, H', W')
        y = y.reshape(b, t, *y.shape[1:]).transpose(1, 2).repeat_interleave(self.r_t, dim=2)
        return y[:, :, self.r_t - 1 :] if self._leading() else y
