"""VAE training objective: L1 + KL + perceptual + adversarial (hinge), report section 2.1.

The adversarial term's weight is adaptive as in taming-transformers / VQGAN: the ratio of the
reconstruction (L1 + perceptual) gradient norm to the adversarial gradient norm at the decoder's last
layer, so neither term swamps the other whatever their raw scales. It is zero until the discriminator
warm-up ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.vae.autoencoder import DiagonalGaussian
from models.vae.perceptual import sample_frames


@dataclass(frozen=True)
class LossConfig:
    l1_weight: float = 1.0
    kl_weight: float = 1e-6
    perceptual_weight: float = 1.0
    perceptual_frames: int = 4  # frames per clip fed to the perceptual net (0 = all)
    adversarial_weight: float = 0.5  # multiplies the adaptive weight
    disc_start: int = 5000  # generator steps before the discriminator (and its loss) switch on
    adaptive_max: float = 1e4


def hinge_d_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Mean over discriminator heads of E[relu(1 - D(x))] + E[relu(1 + D(x_hat))]."""
    terms = [F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean() for r, f in zip(real, fake)]
    return 0.5 * torch.stack(terms).mean()


def hinge_g_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    return -torch.stack([f.mean() for f in fake]).mean()


def adaptive_weight(
    rec_loss: torch.Tensor, g_loss: torch.Tensor, last_layer: torch.Tensor, max_weight: float = 1e4
) -> torch.Tensor:
    """||grad rec|| / (||grad g|| + 1e-4) at `last_layer`, clamped to [0, max_weight], detached."""
    rec_grad = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_grad = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    weight = rec_grad.norm() / (g_grad.norm() + 1e-4)
    return weight.clamp(0.0, max_weight).detach()


class VAELoss(nn.Module):
    """Computes the generator and discriminator objectives; holds no trainable generator weights."""

    def __init__(self, cfg: LossConfig, perceptual: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        self.perceptual = perceptual
        self.discriminator = discriminator

    def disc_active(self, step: int) -> bool:
        return step >= self.cfg.disc_start

    def per_sample_reconstruction(self, x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        """L1 per sample (B,), used by the NaN guard to name the offending sample."""
        return (x - recon).abs().flatten(1).mean(1)

    def generator(
        self,
        x: torch.Tensor,
        recon: torch.Tensor,
        posterior: DiagonalGaussian | None,
        last_layer: torch.Tensor,
        step: int,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x, recon: (B, 3, T, H, W). Returns the total loss and each term (detached) for logging."""
        cfg = self.cfg
        l1 = (x - recon).abs().mean()
        px, pr = sample_frames(x, recon, cfg.perceptual_frames, generator)
        perceptual = self.perceptual(px.contiguous(), pr.contiguous()).mean()
        rec = cfg.l1_weight * l1 + cfg.perceptual_weight * perceptual
        kl = posterior.kl().mean() if posterior is not None else x.new_zeros(())
        terms = {"l1": l1, "perceptual": perceptual, "kl": kl}
        total = rec + cfg.kl_weight * kl
        if self.disc_active(step) and cfg.adversarial_weight > 0:
            g_adv = hinge_g_loss(self.discriminator(recon))
            d_weight = adaptive_weight(rec, g_adv, last_layer, cfg.adaptive_max) * cfg.adversarial_weight
            total = total + d_weight * g_adv
            terms.update(g_adv=g_adv, d_weight=d_weight)
        else:
            terms.update(g_adv=x.new_zeros(()), d_weight=x.new_zeros(()))
        terms = {k: v.detach() for k, v in terms.items()}
        terms["loss"] = total.detach()
        return total, terms

    def discriminator_loss(self, x: torch.Tensor, recon: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real = self.discriminator(x.detach())
        fake = self.discriminator(recon.detach())
        loss = hinge_d_loss(real, fake)
        return loss, {
            "d_loss": loss.detach(),
            "logits_real": torch.stack([r.mean() for r in real]).mean().detach(),
            "logits_fake": torch.stack([f.mean() for f in fake]).mean().detach(),
        }
