"""Each loss term, the hinge losses, the adaptive weight, the perceptual fallback, the NaN guard."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from models.vae.autoencoder import CausalVAE, DiagonalGaussian
from models.vae.discriminator import HybridDiscriminator
from models.vae.lightning import NonFiniteError, OptimConfig, VAELightning
from models.vae.losses import LossConfig, VAELoss, adaptive_weight, hinge_d_loss, hinge_g_loss
from models.vae.metrics import psnr, ssim
from models.vae.perceptual import PerceptualFallback, build_perceptual


def _perc() -> PerceptualFallback:
    return PerceptualFallback(width_scale=0.0625, seed=0)


def test_kl_zero_for_standard_normal_and_positive_otherwise():
    z = torch.zeros(2, 4, 1, 2, 2)
    assert torch.allclose(DiagonalGaussian(z, z).kl(), torch.zeros(2))
    assert (DiagonalGaussian(z + 1, z).kl() > 0).all()
    # closed form for mean 1, var 1: 0.5 * 1 per element
    assert torch.allclose(DiagonalGaussian(z + 1, z).kl(), torch.full((2,), 0.5))


def test_hinge_losses():
    real_good, fake_good = [torch.full((4,), 2.0)], [torch.full((4,), -2.0)]
    assert hinge_d_loss(real_good, fake_good).item() == 0.0  # beyond the margins
    assert hinge_d_loss([torch.zeros(4)], [torch.zeros(4)]).item() == pytest.approx(1.0)
    assert hinge_g_loss([torch.full((3,), 0.5)]).item() == pytest.approx(-0.5)


def test_adaptive_weight_is_grad_norm_ratio():
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    rec = (3.0 * w).sum()  # grad (3, 3)  -> norm 3*sqrt(2)
    g = (w * torch.tensor([1.0, 1.0])).sum()  # grad (1, 1) -> norm sqrt(2)
    weight = adaptive_weight(rec, g, w)
    assert weight.item() == pytest.approx(3.0, rel=1e-3)
    assert not weight.requires_grad
    big = adaptive_weight((1e6 * w).sum(), (1e-9 * w).sum(), w, max_weight=10.0)
    assert big.item() == 10.0


def test_perceptual_fallback_properties():
    net = _perc()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    assert torch.allclose(net(x, x), torch.zeros(3), atol=1e-6)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    d_small, d_big = net(x, (x + 0.05 * torch.randn_like(x)).clamp(-1, 1)), net(x, noisy)
    assert (d_big > d_small).all()
    assert "fallback" in net.name and "random-init" in net.name
    assert not any(p.requires_grad for p in net.parameters())


def test_build_perceptual_warns_and_loads_local_backbone(tmp_path):
    with pytest.warns(UserWarning, match="NOT ImageNet-pretrained"):
        net = build_perceptual("auto", width_scale=0.0625)
    assert net.name.startswith("fallback:")
    # a local VGG16 `features.*` file (torchvision naming) makes it a pretrained-backbone fallback
    from safetensors.torch import save_file

    full = PerceptualFallback(width_scale=1.0, seed=3)
    state = {f"features.{k}": v for k, v in full.features.state_dict().items()}
    state["lin0.model.1.weight"] = torch.full((1, 64, 1, 1), 0.5)
    save_file(state, str(tmp_path / "vgg.safetensors"))
    loaded = build_perceptual("auto", backbone_path=str(tmp_path / "vgg.safetensors"))
    assert "local:" in loaded.name
    assert torch.equal(loaded.features[0].weight, full.features[0].weight)
    assert torch.allclose(loaded.lins[0].weight, torch.full((1, 64, 1, 1), 0.5))
    with pytest.raises(RuntimeError, match="lpips"):
        build_perceptual("lpips")


def test_generator_terms_and_adversarial_switch(tiny_cfg):
    torch.manual_seed(0)
    vae = CausalVAE(tiny_cfg)
    crit = VAELoss(LossConfig(disc_start=2, perceptual_frames=2, kl_weight=1e-3), _perc(), HybridDiscriminator(3, 8, 2))
    x = torch.rand(2, 3, 5, 32, 32) * 2 - 1
    recon, post = vae(x)
    _, before = crit.generator(x, recon, post, vae.decoder.last_layer, step=1)
    assert before["g_adv"].item() == 0.0 and before["d_weight"].item() == 0.0
    assert before["l1"].item() == pytest.approx((x - recon).abs().mean().item(), rel=1e-5)
    assert before["kl"].item() == pytest.approx(post.kl().mean().item(), rel=1e-5)
    assert before["perceptual"].item() > 0
    total, after = crit.generator(x, recon, post, vae.decoder.last_layer, step=2)
    assert after["d_weight"].item() > 0
    expected = after["l1"] + after["perceptual"] + 1e-3 * after["kl"] + after["d_weight"] * after["g_adv"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-4)
    d_loss, d_terms = crit.discriminator_loss(x, recon)
    assert d_loss.item() > 0 and set(d_terms) >= {"d_loss", "logits_real", "logits_fake"}


def test_identical_recon_has_zero_reconstruction_terms(tiny_cfg):
    crit = VAELoss(LossConfig(disc_start=10), _perc(), HybridDiscriminator(3, 8, 2))
    x = torch.rand(1, 3, 5, 32, 32) * 2 - 1
    w = nn.Parameter(torch.ones(1))
    _, terms = crit.generator(x, x * w, None, w, step=0)
    assert terms["l1"].item() == 0.0 and terms["perceptual"].item() == pytest.approx(0.0, abs=1e-6)


def test_metrics():
    x = torch.rand(2, 3, 3, 32, 32) * 2 - 1
    assert torch.isinf(psnr(x, x)).logical_not().all() and (psnr(x, x) > 90).all()
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-4)
    y = (x + 0.2 * torch.randn_like(x)).clamp(-1, 1)
    # mse on [0,1] scale of noise std 0.1 -> about 20 dB
    assert 17 < psnr(x, y).mean().item() < 23
    worse = (x + 0.6 * torch.randn_like(x)).clamp(-1, 1)
    assert (ssim(x, worse) < ssim(x, y)).all() and (ssim(x, y) < 0.99).all()


def _batches(x: torch.Tensor, ids: list[str], n: int):
    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return {"pixels": x, "sample_id": ids}

    return torch.utils.data.DataLoader(Data(), batch_size=None)


def _trainer(steps_unused: int = 0) -> L.Trainer:
    return L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, deterministic=True)


def test_lightning_trains_and_discriminator_starts_after_warmup(tiny_cfg):
    L.seed_everything(0)
    module = VAELightning(CausalVAE(tiny_cfg), _perc(), LossConfig(disc_start=2, perceptual_frames=2),
                          OptimConfig(lr=1e-3, disc_width=8, disc_layers=2))
    x = torch.rand(2, 3, 5, 32, 32) * 2 - 1
    _trainer().fit(module, _batches(x, ["a", "b"], 4))
    h = module.history
    assert len(h) == 4
    assert all("d_loss" not in r for r in h[:2]) and all("d_loss" in r for r in h[2:])
    assert all(r["d_weight"] > 0 for r in h[2:])


def test_thin_training_keeps_encoder_frozen(tiny_cfg):
    L.seed_everything(0)
    vae = CausalVAE(tiny_cfg)
    enc_before = {k: v.clone() for k, v in vae.encoder.state_dict().items()}
    dec_before = {k: v.clone() for k, v in vae.decoder.state_dict().items()}
    module = VAELightning(vae, _perc(), LossConfig(disc_start=100, perceptual_frames=2),
                          OptimConfig(lr=1e-3, disc_width=8, disc_layers=2), freeze_encoder=True)
    _trainer().fit(module, _batches(torch.rand(1, 3, 5, 32, 32) * 2 - 1, ["a"], 2))
    for k, v in vae.encoder.state_dict().items():
        assert torch.equal(v, enc_before[k]), k
    assert any(not torch.equal(v, dec_before[k]) for k, v in vae.decoder.state_dict().items())
    assert all(r["kl"] == 0.0 for r in module.history)


def test_nan_in_batch_names_step_and_sample(tiny_cfg):
    L.seed_everything(0)
    module = VAELightning(CausalVAE(tiny_cfg), _perc(), LossConfig(disc_start=100, perceptual_frames=2),
                          OptimConfig(disc_width=8, disc_layers=2))
    x = torch.rand(2, 3, 5, 32, 32) * 2 - 1
    x[1, 0, 2, 3, 3] = float("nan")
    with pytest.raises(NonFiniteError, match=r"training step 0: input sample\(s\) \['clip-b:0'\]"):
        _trainer().fit(module, _batches(x, ["clip-a:0", "clip-b:0"], 2))


def test_nan_loss_names_sample(tiny_cfg):
    L.seed_everything(0)
    vae = CausalVAE(tiny_cfg)
    module = VAELightning(vae, _perc(), LossConfig(disc_start=100, perceptual_frames=2),
                          OptimConfig(disc_width=8, disc_layers=2))
    x = torch.rand(2, 3, 5, 32, 32) * 2 - 1
    x[0] = 1e38  # finite input whose reconstruction overflows to inf/nan
    with pytest.raises(NonFiniteError, match=r"training step 0: loss term"):
        _trainer().fit(module, _batches(x, ["big", "ok"], 2))
