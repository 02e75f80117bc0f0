"""LightningModule for the causal VAE and for the thin decoder (encoder frozen).

One generator step (L1 + KL + perceptual + adaptive-weighted hinge adversarial) and, after the
warm-up, one discriminator step per batch, with manual optimisation because the two players have
their own optimisers. Batches are dicts {"pixels": (B, 3, T, H, W) in [-1, 1], "sample_id": [str]};
image batches (T = 1) and clip batches go through the same code, which is how images and videos
are trained jointly.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from torch import nn

from models.vae.autoencoder import CausalVAE
from models.vae.discriminator import HybridDiscriminator
from models.vae.losses import LossConfig, VAELoss


class NonFiniteError(RuntimeError):
    """Training met NaN/inf; the message names the step and the sample(s)."""


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-4
    disc_lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    grad_clip: float = 1.0
    disc_width: int = 64
    disc_layers: int = 3


def check_finite_pixels(x: torch.Tensor, ids: list[str], step: int) -> None:
    bad = (~torch.isfinite(x)).flatten(1).any(1)
    if bool(bad.any()):
        names = [ids[i] for i in bad.nonzero().flatten().tolist()]
        raise NonFiniteError(
            f"training step {step}: input sample(s) {names} contain NaN/inf pixels. Training stopped "
            "before the weights were touched; check how these clips were decoded (corrupt file?) and "
            "remove or re-encode them."
        )


class VAELightning(L.LightningModule):
    def __init__(
        self,
        vae: CausalVAE,
        perceptual: nn.Module,
        loss: LossConfig = LossConfig(),
        optim: OptimConfig = OptimConfig(),
        freeze_encoder: bool = False,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.vae = vae
        self.optim_cfg = optim
        self.freeze_encoder = freeze_encoder
        disc = HybridDiscriminator(vae.cfg.in_channels, optim.disc_width, optim.disc_layers)
        self.criterion = VAELoss(loss, perceptual, disc)
        if freeze_encoder:
            # The thin decoder is retrained against a fixed, already trained encoder (report 5.1).
            self.vae.encoder.requires_grad_(False)
        self.step_count = 0  # generator steps taken (independent of Lightning's per-optimizer count)
        self.history: list[dict[str, float]] = []

    # -- optimisers -----------------------------------------------------------------------------
    def generator_parameters(self) -> list[nn.Parameter]:
        module = self.vae.decoder if self.freeze_encoder else self.vae
        return [p for p in module.parameters() if p.requires_grad]

    def configure_optimizers(self):
        o = self.optim_cfg
        opt_g = torch.optim.Adam(self.generator_parameters(), lr=o.lr, betas=o.betas)
        opt_d = torch.optim.Adam(self.criterion.discriminator.parameters(), lr=o.disc_lr, betas=o.betas)
        return [opt_g, opt_d]

    # -- one step -------------------------------------------------------------------------------
    def reconstruct(self, x: torch.Tensor):
        if self.freeze_encoder:
            with torch.no_grad():
                posterior = self.vae.encode(x)
                z = posterior.sample()
            return self.vae.decode(z), None
        recon, posterior = self.vae(x)
        return recon, posterior

    def _guard_terms(self, terms: dict[str, torch.Tensor], x, recon, ids: list[str], step: int) -> None:
        bad_terms = [k for k, v in terms.items() if not bool(torch.isfinite(v).all())]
        if not bad_terms:
            return
        per_sample = self.criterion.per_sample_reconstruction(x.detach(), recon.detach())
        culprits = [ids[i] for i in (~torch.isfinite(per_sample)).nonzero().flatten().tolist()]
        where = f"sample(s) {culprits} reconstruct to NaN/inf" if culprits else f"batch samples {ids}"
        raise NonFiniteError(
            f"training step {step}: loss term(s) {bad_terms} became NaN/inf ({where}). Training stopped "
            "instead of diverging silently; lower encoding.learning_rate or check those clips."
        )

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x: torch.Tensor = batch["pixels"]
        ids: list[str] = list(batch["sample_id"])
        step = self.step_count
        check_finite_pixels(x, ids, step)
        opt_g, opt_d = self.optimizers()
        disc = self.criterion.discriminator

        disc.requires_grad_(False)  # the generator step must not accumulate discriminator grads
        recon, posterior = self.reconstruct(x)
        g_loss, terms = self.criterion.generator(x, recon, posterior, self.vae.decoder.last_layer, step)
        self._guard_terms(terms, x, recon, ids, step)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        if self.optim_cfg.grad_clip > 0:
            self.clip_gradients(opt_g, gradient_clip_val=self.optim_cfg.grad_clip, gradient_clip_algorithm="norm")
        opt_g.step()
        disc.requires_grad_(True)

        if self.criterion.disc_active(step):
            d_loss, d_terms = self.criterion.discriminator_loss(x, recon)
            self._guard_terms(d_terms, x, recon, ids, step)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()
            terms.update(d_terms)

        self.step_count += 1
        record = {k: float(v) for k, v in terms.items()}
        record["frames"] = float(x.shape[2])
        self.history.append(record)
        kind = "image" if x.shape[2] == 1 else "video"
        logged = {f"train/{k}": v for k, v in terms.items()}
        logged[f"train/{kind}_l1"] = terms["l1"]
        self.log_dict(logged, on_step=True, on_epoch=False, batch_size=x.shape[0])
        return g_loss.detach()
