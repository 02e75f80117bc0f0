"""Reconstruction metrics on pixels in [-1, 1]: PSNR and SSIM per sample, averaged over frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    return ((x.clamp(-1, 1) + 1) / 2).float()


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) in [-1, 1] -> PSNR in dB per sample (B,), peak 1 on the [0, 1] scale."""
    mse = (_to_unit(x) - _to_unit(y)).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]  # (1, 1, size, size)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11) -> torch.Tensor:
    """Gaussian-window SSIM (Wang et al. 2004) per sample (B,), mean over channels and frames."""
    b, c, t, h, w = x.shape
    size = min(window, h, w)
    xs = _to_unit(x).transpose(1, 2).reshape(b * t * c, 1, h, w)  # (B*T*C, 1, H, W)
    ys = _to_unit(y).transpose(1, 2).reshape(b * t * c, 1, h, w)
    win = _gaussian_window(size, 1.5 * size / 11).to(xs)
    mu_x, mu_y = F.conv2d(xs, win), F.conv2d(ys, win)
    sxx = F.conv2d(xs * xs, win) - mu_x**2
    syy = F.conv2d(ys * ys, win) - mu_y**2
    sxy = F.conv2d(xs * ys, win) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return s.reshape(b, -1).mean(1)
