"""The VAE's held-out metrics carry the mean-colour reference the `heldout_psnr` check compares against."""

from __future__ import annotations

import numpy as np
import torch

from assets.encoding.settings import EncodingSettings
from assets.encoding.vae_training import ClipFrames, evaluate


class _Posterior:
    def __init__(self, z: torch.Tensor) -> None:
        self.z = z

    def mode(self) -> torch.Tensor:
        return self.z


class _StubVAE(torch.nn.Module):
    """Reconstructs either the input itself or its mean colour (a VAE that learned nothing useful)."""

    def __init__(self, flat: bool) -> None:
        super().__init__()
        self.flat = flat

    def encode(self, x: torch.Tensor) -> _Posterior:
        return _Posterior(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z.mean(dim=(2, 3, 4), keepdim=True).expand_as(z) if self.flat else z


def test_gain_over_mean_colour_separates_a_flat_reconstruction_from_a_faithful_one() -> None:
    rng = np.random.default_rng(0)
    clips = [ClipFrames(f"c{i}", rng.integers(0, 256, size=(9, 32, 32, 3), dtype=np.uint8)) for i in range(2)]
    s = EncodingSettings()
    flat, _ = evaluate(_StubVAE(flat=True), clips, s)
    good, _ = evaluate(_StubVAE(flat=False), clips, s)
    assert abs(flat["psnr"] - flat["psnr_mean_colour"]) < 1e-3  # no gain: the check fails it
    assert good["psnr"] - good["psnr_mean_colour"] > 20.0
    assert flat["psnr_mean_colour"] == good["psnr_mean_colour"]  # the reference depends on the clips only


def test_shortcut_only_psnr_is_what_an_untrained_shortcut_vae_scores(tiny_cfg) -> None:
    """With a latent shortcut the metrics carry the parameter-free shortcut's own PSNR: an untrained VAE
    (zero-initialised heads) scores exactly it, a VAE whose conv paths were perturbed does not."""
    from dataclasses import replace

    from models.vae.autoencoder import CausalVAE

    rng = np.random.default_rng(1)
    clips = [ClipFrames(f"c{i}", rng.integers(0, 256, size=(9, 32, 32, 3), dtype=np.uint8)) for i in range(2)]
    s = EncodingSettings()
    torch.manual_seed(0)
    vae = CausalVAE(replace(tiny_cfg, latent_channels=12, latent_shortcut=True)).eval()
    m, _ = evaluate(vae, clips, s)
    assert abs(m["psnr"] - m["psnr_shortcut_only"]) < 1e-4  # nothing learned yet: the learned gain is 0
    with torch.no_grad():
        vae.decoder.conv_out.conv.weight.add_(0.2)  # a residual that only adds error
    m2, _ = evaluate(vae, clips, s)
    assert m2["psnr_shortcut_only"] == m["psnr_shortcut_only"]  # the reference depends on the clips only
    assert m2["psnr"] < m2["psnr_shortcut_only"] - 1.0
    flat, _ = evaluate(_StubVAE(flat=True), clips, s)
    assert "psnr_shortcut_only" not in flat  # no shortcut, no reference
