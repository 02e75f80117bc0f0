"""Latent shortcut (residual autoencoding): shapes, exactness on block-constant input, causality, chunking."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from models.vae.autoencoder import CausalVAE
from models.vae.shortcut import LatentShortcut, shortcut_factors


def test_factors_and_bad_channel_counts():
    assert shortcut_factors(3, 48, 16) == (4, 4)  # the paper's C = 48: 4x4 pooling, 4x4 unshuffle
    assert shortcut_factors(3, 12, 16) == (8, 2)
    with pytest.raises(ValueError, match="latent_shortcut needs"):
        shortcut_factors(3, 16, 16)


def test_round_trip_exact_on_block_constant_video():
    sc = LatentShortcut(3, 48, 4, 16)
    lat = torch.rand(1, 3, 3, 8, 12)  # one colour per 4x4 block, per latent frame
    x = lat.repeat_interleave(4, 3).repeat_interleave(4, 4).repeat_interleave(4, 2)[:, :, 3:]  # (1, 3, 9, 32, 48)
    z = sc.to_latent(x)
    assert z.shape == (1, 48, 3, 2, 3)
    torch.testing.assert_close(sc.to_pixels(z), x)


def _vae(tiny_cfg, **kw):
    torch.manual_seed(0)
    return CausalVAE(replace(tiny_cfg, latent_channels=12, latent_shortcut=True, **kw)).eval()


def test_untrained_vae_is_the_shortcut(tiny_cfg):
    """Zero-initialised heads: before training, the VAE reconstructs exactly what the shortcut carries."""
    vae = _vae(tiny_cfg)
    x = torch.rand(1, 3, 9, 32, 32) * 2 - 1
    with torch.no_grad():
        y = vae.decode(vae.encode(x).mode())
        sc = LatentShortcut(3, 12, 4, 16)
        torch.testing.assert_close(y, sc.to_pixels(sc.to_latent(x)))


def test_shortcut_vae_causal_and_chunked(tiny_cfg):
    vae = _vae(tiny_cfg, resample_shortcut=True, time_kernels=(1, 1, 3, 3, 3))
    for p in vae.parameters():  # make the conv path non-trivial
        p.data.add_(0.05 * torch.randn_like(p))
    x = torch.rand(1, 3, 17, 32, 32) * 2 - 1
    x2 = x.clone()
    x2[:, :, 5] = 0.0  # frame 5 belongs to latent 2
    with torch.no_grad():
        a, b = vae.encode(x).mean, vae.encode(x2).mean
        assert (a[:, :, :2] - b[:, :, :2]).abs().max().item() == 0.0
        assert (a[:, :, 2] - b[:, :, 2]).abs().max().item() > 0
        for chunk in (4, 8):
            torch.testing.assert_close(vae.encode_chunked(x, chunk).mean, a, rtol=1e-5, atol=1e-5)
        y = vae.decode(a)
        assert y.shape[2] == 17
        for chunk in (1, 2, 3):
            torch.testing.assert_close(vae.decode_chunked(a, chunk), y, rtol=1e-5, atol=1e-5)
