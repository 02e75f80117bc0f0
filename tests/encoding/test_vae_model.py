"""Causal VAE: shapes, causality, chunked == whole, thin decoder, checkpoint round trip."""

from __future__ import annotations

import pytest
import torch

from models.vae.autoencoder import CausalVAE
from models.vae.checkpoint import load_vae, save_vae, transplant_decoder
from models.vae.config import VAEConfig


def _vae(cfg: VAEConfig, seed: int = 0) -> CausalVAE:
    torch.manual_seed(seed)
    return CausalVAE(cfg).eval()


@pytest.mark.parametrize("frames,latent_frames", [(1, 1), (5, 2), (9, 3), (17, 5)])
def test_shapes_images_and_videos(tiny_cfg, frames, latent_frames):
    vae = _vae(tiny_cfg)
    x = torch.rand(2, 3, frames, 32, 48) * 2 - 1
    with torch.no_grad():
        post = vae.encode(x)
        assert post.mean.shape == (2, tiny_cfg.latent_channels, latent_frames, 2, 3)
        y = vae.decode(post.mean)
    assert y.shape == x.shape
    assert tiny_cfg.latent_frames(frames) == latent_frames


def test_paper_default_ratios():
    cfg = VAEConfig()
    assert (cfg.temporal_ratio, cfg.spatial_ratio, cfg.latent_channels) == (4, 16, 48)
    assert cfg.temporal_down == (False, False, True, True)
    with pytest.raises(ValueError, match="spatial_ratio"):
        VAEConfig(encoder_channels=(8, 8), decoder_channels=(8, 8))


def test_image_is_first_frame_of_video(tiny_cfg):
    vae = _vae(tiny_cfg)
    x = torch.rand(1, 3, 9, 32, 32) * 2 - 1
    with torch.no_grad():
        video = vae.encode(x).mean
        image = vae.encode(x[:, :, :1]).mean
    torch.testing.assert_close(image, video[:, :, :1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("shortcut", [False, True])
@pytest.mark.parametrize("changed_frame", [1, 4, 5, 8])
def test_encoder_causality(tiny_cfg, changed_frame, shortcut):
    from dataclasses import replace

    vae = _vae(replace(tiny_cfg, resample_shortcut=shortcut))
    x = torch.rand(1, 3, 9, 32, 32) * 2 - 1
    x2 = x.clone()
    x2[:, :, changed_frame] = torch.rand_like(x2[:, :, changed_frame]) * 2 - 1
    with torch.no_grad():
        a, b = vae.encode(x).mean, vae.encode(x2).mean
    first_affected = (changed_frame + 3) // 4  # latent j covers frames 4j-3 .. 4j
    for j in range(a.shape[2]):
        diff = (a[:, :, j] - b[:, :, j]).abs().max().item()
        if j < first_affected:
            assert diff == 0.0, f"latent {j} changed after editing future frame {changed_frame}"
    assert (a[:, :, first_affected] - b[:, :, first_affected]).abs().max() > 0  # the edit is seen


def test_decoder_causality(tiny_cfg):
    vae = _vae(tiny_cfg)
    z = torch.randn(1, tiny_cfg.latent_channels, 4, 2, 2)
    z2 = z.clone()
    z2[:, :, 2] += 1.0  # latent 2 decodes to frames 5..8
    with torch.no_grad():
        a, b = vae.decode(z), vae.decode(z2)
    assert a.shape[2] == 13
    assert (a[:, :, :5] - b[:, :, :5]).abs().max().item() == 0.0
    assert (a[:, :, 5:9] - b[:, :, 5:9]).abs().max().item() > 0


@pytest.mark.parametrize("time_kernels,shortcut", [(None, False), ((1, 1, 3, 3, 3), False), ((1, 1, 3, 3, 3), True)])
def test_chunked_equals_whole(tiny_cfg, time_kernels, shortcut):
    from dataclasses import replace

    vae = _vae(replace(tiny_cfg, time_kernels=time_kernels, resample_shortcut=shortcut))
    x = torch.rand(1, 3, 17, 32, 32) * 2 - 1
    with torch.no_grad():
        whole = vae.encode(x)
        for chunk in (4, 8):
            part = vae.encode_chunked(x, chunk)
            torch.testing.assert_close(part.mean, whole.mean, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(part.logvar, whole.logvar, rtol=1e-5, atol=1e-5)
        y = vae.decode(whole.mean)
        for chunk in (1, 2, 3):
            torch.testing.assert_close(vae.decode_chunked(whole.mean, chunk), y, rtol=1e-5, atol=1e-5)
        # streaming state is cleared afterwards: a plain call still gives the whole-clip result
        torch.testing.assert_close(vae.decode(whole.mean), y, rtol=0, atol=0)
    with pytest.raises(ValueError, match="multiple of 4"):
        vae.encode_chunked(x, 6)


def test_logvar_init_sets_posterior_noise(tiny_cfg):
    from dataclasses import replace

    vae = _vae(replace(tiny_cfg, logvar_init=-8.0))
    post = vae.encode(torch.rand(1, 3, 5, 32, 32) * 2 - 1)
    assert post.std.mean().item() < 0.1  # default init gives std ~ 1 (noise drowning the latent)


def test_chunk_cache_is_bounded(tiny_cfg):
    """Memory is bounded by the chunk: every cache holds at most kernel - 1 frames."""
    from models.vae.autoencoder import streaming
    from models.vae.causal import CausalConv3d

    vae = _vae(tiny_cfg)
    x = torch.rand(1, 3, 33, 32, 32)
    with torch.no_grad(), streaming(vae.encoder):
        vae.encoder(x[:, :, :5])
        for a in range(5, 33, 4):
            vae.encoder(x[:, :, a : a + 4])
            for m in vae.encoder.modules():
                if isinstance(m, CausalConv3d) and m.cache is not None:
                    assert m.cache.shape[2] <= m.time_kernel - 1


def test_thin_decoder_config_and_transplant(tiny_cfg):
    thin_cfg = tiny_cfg.thin(levels=2, factor=0.5)
    assert thin_cfg.decoder_channels == (4, 4, 16, 16, 16)
    assert thin_cfg.encoder_channels == tiny_cfg.encoder_channels
    full, thin = _vae(tiny_cfg), _vae(thin_cfg, seed=1)
    skipped = transplant_decoder(full, thin)
    assert skipped and all(not n.startswith("mid") for n in skipped)
    for name, t in thin.decoder.state_dict().items():
        if name.startswith("mid") or name.startswith("conv_in"):
            torch.testing.assert_close(t, full.decoder.state_dict()[name])
    x = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(thin.encode(x).mean, full.encode(x).mean)
        assert thin.decode(full.encode(x).mean).shape == x.shape


def test_checkpoint_round_trip(tiny_cfg, tmp_path):
    vae = _vae(tiny_cfg)
    save_vae(vae, tmp_path / "ckpt", extra={"steps": 3})
    loaded = load_vae(tmp_path / "ckpt")
    assert loaded.cfg == vae.cfg
    x = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(x).mean, vae.encode(x).mean, rtol=0, atol=0)


def test_rejects_unconformed_input(tiny_cfg):
    vae = _vae(tiny_cfg)
    with pytest.raises(ValueError, match="conform_video"):
        vae.encode(torch.zeros(1, 3, 6, 32, 32))
    with pytest.raises(ValueError, match="conform_video"):
        vae.encode(torch.zeros(1, 3, 5, 30, 32))
