"""Training the causal VAE and the thin decoder on curated clips (plain logic, no Dagster).

Images and videos are trained jointly (report 2.1): every step is either a batch of clips
(`clip_frames` frames, random crops) or a batch of single frames, drawn with `image_ratio`. Each
step's batch is derived from the seed and the step index only, so a run repeats exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from assets.common.seeding import stable_seed
from assets.encoding.settings import EncodingSettings
from assets.encoding.video_io import decode_frames, resize_short_side, to_tensor, to_uint8
from models.vae.autoencoder import CausalVAE
from models.vae.checkpoint import transplant_decoder
from models.vae.lightning import VAELightning
from models.vae.metrics import psnr, ssim
from models.vae.perceptual import build_perceptual, perceptual_name
from models.vae.shapes import conform_video

log = logging.getLogger(__name__)


@dataclass
class ClipFrames:
    clip_id: str
    frames: np.ndarray  # (T, H, W, 3) uint8 at the training scale


def training_scale(settings: EncodingSettings) -> int:
    """Short side clips are resized to: the smallest packing resolution, at least one crop."""
    return max(settings.crop_size, min(settings.pack_resolutions))


def load_clip(path: str, clip_id: str, settings: EncodingSettings) -> ClipFrames:
    frames, _ = decode_frames(path, max_frames=settings.max_frames_in_memory, fps=settings.pack_fps)
    frames = resize_short_side(frames, training_scale(settings), settings.spatial_ratio)
    return ClipFrames(clip_id, frames)


def split_heldout(clip_ids: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Deterministic split by a stable hash of the clip id; at least one held-out clip if any."""
    if fraction <= 0 or len(clip_ids) < 2:
        return list(clip_ids), []
    ranked = sorted(clip_ids, key=lambda c: stable_seed(seed, "vae-heldout", c))
    n = max(1, round(fraction * len(clip_ids)))
    held = set(ranked[:n])
    return [c for c in clip_ids if c not in held], [c for c in clip_ids if c in held]


class JointBatches(Dataset):
    """One item = one batch: {"pixels": (B, 3, T, H, W) in [-1, 1], "sample_id": [str]}."""

    def __init__(self, clips: list[ClipFrames], settings: EncodingSettings, seed: int, steps: int) -> None:
        if not clips:
            raise ValueError("no clips to train the VAE on; check the deduplicated_clips manifest")
        self.clips, self.s, self.seed, self.steps = clips, settings, seed, steps
        self.video_clips = [c for c in clips if c.frames.shape[0] >= settings.clip_frames]
        if not self.video_clips:
            log.warning("no clip has %d frames; training on single frames only", settings.clip_frames)

    def __len__(self) -> int:
        return self.steps

    def _crop(self, rng: np.random.Generator, clip: ClipFrames, frames: int) -> tuple[np.ndarray, str]:
        t, h, w, _ = clip.frames.shape
        c = self.s.crop_size
        t0 = int(rng.integers(0, t - frames + 1))
        y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        return clip.frames[t0 : t0 + frames, y : y + c, x : x + c], f"{clip.clip_id}:t{t0}:y{y}:x{x}"

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng(stable_seed(self.seed, "vae-batch", index))
        image = not self.video_clips or rng.random() < self.s.image_ratio
        pool, frames, n = (self.clips, 1, self.s.image_batch) if image else (self.video_clips, self.s.clip_frames, self.s.clip_batch)
        crops, ids = [], []
        for _ in range(n):
            crop, sid = self._crop(rng, pool[int(rng.integers(0, len(pool)))], frames)
            if rng.random() < 0.5:  # horizontal flip augmentation
                crop = crop[:, :, ::-1]
            crops.append(to_tensor(np.ascontiguousarray(crop)))
            ids.append(sid)
        return {"pixels": torch.stack(crops), "sample_id": ids}


def _trainer(steps: int, logger: Any, trainer_kwargs: dict[str, Any] | None) -> L.Trainer:
    kwargs: dict[str, Any] = {
        "accelerator": "cpu", "devices": 1, "deterministic": True, "enable_progress_bar": True,
        "max_epochs": 1, "limit_train_batches": steps, "logger": logger if logger is not None else False,
        "log_every_n_steps": 1, "enable_checkpointing": False, "enable_model_summary": False,
        "num_sanity_val_steps": 0,
    }
    kwargs.update(trainer_kwargs or {})
    return L.Trainer(**kwargs)


def build_perceptual_net(settings: EncodingSettings, seed: int) -> torch.nn.Module:
    return build_perceptual(
        settings.perceptual_backend,
        width_scale=settings.perceptual_width_scale,
        seed=stable_seed(seed, "perceptual") % (2**31),
        backbone_path=settings.perceptual_backbone_path or None,
    )


def train_vae(
    clips: list[ClipFrames],
    settings: EncodingSettings,
    seed: int,
    logger: Any = None,
    trainer_kwargs: dict[str, Any] | None = None,
) -> tuple[CausalVAE, list[dict[str, float]], torch.nn.Module]:
    L.seed_everything(stable_seed(seed, "vae") % (2**31), workers=True, verbose=False)
    vae = CausalVAE(settings.vae_config())
    perceptual = build_perceptual_net(settings, seed)
    module = VAELightning(vae, perceptual, settings.loss_config(), settings.optim_config())
    data = DataLoader(JointBatches(clips, settings, seed, settings.steps), batch_size=None, shuffle=False)
    _trainer(settings.steps, logger, trainer_kwargs).fit(module, data)
    return vae.eval(), module.history, perceptual


def train_thin_decoder(
    vae: CausalVAE,
    clips: list[ClipFrames],
    settings: EncodingSettings,
    seed: int,
    logger: Any = None,
    trainer_kwargs: dict[str, Any] | None = None,
) -> tuple[CausalVAE, list[dict[str, float]], list[str]]:
    """Narrow the pixel-side decoder stages and retrain the decoder with the encoder frozen.

    Stages that keep their width start from the full decoder's weights (a warm start; the
    narrowed ones start fresh). The discriminator starts after half the thin steps' warm-up share.
    """
    L.seed_everything(stable_seed(seed, "thin-vae") % (2**31), workers=True, verbose=False)
    thin = CausalVAE(vae.cfg.thin(settings.thin_levels, settings.thin_factor))
    fresh = transplant_decoder(vae, thin)
    perceptual = build_perceptual_net(settings, seed)
    disc_start = min(settings.disc_start, settings.thin_steps)  # same warm-up, capped by the run
    module = VAELightning(
        thin, perceptual, settings.loss_config(disc_start=disc_start),
        settings.optim_config(lr=settings.thin_learning_rate), freeze_encoder=True,
    )
    data = DataLoader(
        JointBatches(clips, settings, stable_seed(seed, "thin"), settings.thin_steps), batch_size=None, shuffle=False
    )
    _trainer(settings.thin_steps, logger, trainer_kwargs).fit(module, data)
    return thin.eval(), module.history, fresh


def eval_clip(clip: ClipFrames, settings: EncodingSettings) -> torch.Tensor:
    """The held-out view of a clip: its first clip_frames frames (trimmed to 1 + r_t n), full frame."""
    x = to_tensor(clip.frames[: settings.clip_frames])[None]  # (1, 3, T, H, W)
    x, _ = conform_video(x, settings.temporal_ratio, settings.spatial_ratio, "trim")
    return x


@torch.no_grad()
def evaluate(
    vae: CausalVAE, clips: list[ClipFrames], settings: EncodingSettings, perceptual: torch.nn.Module | None = None,
    keep: int = 0,
) -> tuple[dict[str, float], list[tuple[str, np.ndarray, np.ndarray]]]:
    """Held-out PSNR / SSIM / perceptual distance (posterior mode), plus `keep` (orig, recon) pairs."""
    vae.eval()
    rows: dict[str, list[float]] = {"psnr": [], "ssim": [], "lpips": [], "psnr_mean_colour": [], "psnr_shortcut_only": []}
    pairs = []
    enc_sc = getattr(getattr(vae, "encoder", None), "shortcut", None)
    dec_sc = getattr(getattr(vae, "decoder", None), "shortcut", None)
    for clip in clips:
        x = eval_clip(clip, settings)
        y = vae.decode(vae.encode(x).mode()).clamp(-1, 1)
        rows["psnr"].append(float(psnr(x, y).mean()))
        if enc_sc is not None and dec_sc is not None:
            # With a latent shortcut (DC-AE residual autoencoding) the conv paths learn a residual over a
            # parameter-free 4x4-pooled copy of the clip: what they add is the PSNR above this one.
            rows["psnr_shortcut_only"].append(float(psnr(x, dec_sc.to_pixels(enc_sc.to_latent(x)).clamp(-1, 1)).mean()))
        # Reference on the same clip: every pixel replaced by the clip's mean colour. Held-out clips
        # differ a lot in difficulty (a flat sky vs a city), so the check asks the VAE to beat this.
        rows["psnr_mean_colour"].append(float(psnr(x, x.mean(dim=(2, 3, 4), keepdim=True).expand_as(x)).mean()))
        rows["ssim"].append(float(ssim(x, y).mean()))
        if perceptual is not None:
            b, c, t, h, w = x.shape
            fx = x.transpose(1, 2).reshape(b * t, c, h, w)
            fy = y.transpose(1, 2).reshape(b * t, c, h, w)
            rows["lpips"].append(float(perceptual(fx, fy).mean()))
        if len(pairs) < keep:
            pairs.append((clip.clip_id, to_uint8(x[0]), to_uint8(y[0])))
    metrics = {k: float(np.mean(v)) for k, v in rows.items() if v}
    metrics["clips"] = float(len(clips))
    if perceptual is not None:
        metrics["lpips_backend"] = perceptual_name(perceptual)  # type: ignore[assignment]
    return metrics, pairs


@torch.no_grad()
def fit_latent_normalisation(vae: CausalVAE, clips: list[ClipFrames], settings: EncodingSettings) -> CausalVAE:
    """Measure the latents' mean / std so the DiT sees roughly unit-variance latents; store in config."""
    zs = [vae.encode(eval_clip(c, settings)).mode().flatten() for c in clips]
    if not zs:
        return vae
    z = torch.cat(zs)
    shift, std = float(z.mean()), float(z.std())
    vae.cfg = replace(vae.cfg, latent_shift=shift, latent_scale=1.0 / max(std, 1e-6))
    return vae
