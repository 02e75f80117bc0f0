"""The `encoding` preset section: causal VAE (2.1), thin decoder (5.1), offline packing (3, fig. 3)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from resources.params import Section


class EncodingSettings(Section):
    # --- VAE architecture (paper: (r_t, r_h, r_w) = (4, 16, 16), C = 48) ------------------------------
    latent_channels: int = Field(default=48, ge=1, le=1024)
    temporal_ratio: int = Field(default=4, ge=1, le=16)
    spatial_ratio: int = Field(default=16, ge=2, le=64)
    encoder_channels: list[int] = Field(default=[128, 256, 512, 512, 512], min_length=2, max_length=8)
    decoder_channels: list[int] = Field(default=[128, 256, 512, 512, 512], min_length=2, max_length=8)
    time_kernels: list[Literal[1, 3]] | None = None  # per level; None = 3D causal convs everywhere
    num_res_blocks: int = Field(default=2, ge=1, le=8)
    decoder_res_blocks: int | None = Field(default=None, ge=1, le=8)
    mid_attention: bool = True
    norm_groups: int = Field(default=32, ge=1, le=64)
    resample_shortcut: bool = False  # DC-AE-style parameter-free paths around down/upsampling
    latent_shortcut: bool = False  # DC-AE residual autoencoding at the latent (needs C = 3 q^2)
    logvar_init: float | None = Field(default=None, ge=-30, le=20)  # initial posterior log-variance bias

    # --- VAE training data: curated clips and single frames, trained jointly -------------------------
    crop_size: int = Field(default=256, ge=16, le=2048)  # square random crops (multiple of spatial_ratio)
    clip_frames: int = Field(default=17, ge=1, le=257)  # frames per training clip (1 + r_t n)
    clip_batch: int = Field(default=1, ge=1, le=256)
    image_batch: int = Field(default=4, ge=1, le=1024)
    image_ratio: float = Field(default=0.25, ge=0.0, le=1.0)  # share of steps that are image batches
    max_clips: int = Field(default=0, ge=0)  # 0 = every curated clip
    heldout_fraction: float = Field(default=0.1, ge=0.0, le=0.5)
    max_frames_in_memory: int = Field(default=65, ge=1)  # frames decoded per clip for training

    # --- optimisation -------------------------------------------------------------------------------
    steps: int = Field(default=100_000, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0, le=1.0)
    disc_learning_rate: float = Field(default=1e-4, gt=0, le=1.0)
    grad_clip: float = Field(default=1.0, ge=0)
    kl_weight: float = Field(default=1e-6, ge=0)
    perceptual_weight: float = Field(default=1.0, ge=0)
    perceptual_frames: int = Field(default=4, ge=0)  # frames per clip through the perceptual net
    adversarial_weight: float = Field(default=0.5, ge=0)
    disc_start: int = Field(default=20_000, ge=0)  # generator steps before the discriminator switches on
    disc_width: int = Field(default=64, ge=4, le=1024)
    disc_layers: int = Field(default=3, ge=1, le=6)
    perceptual_backend: Literal["auto", "lpips", "fallback"] = "auto"
    perceptual_width_scale: float = Field(default=1.0, gt=0, le=1.0)  # fallback only (1.0 = VGG16)
    perceptual_backbone_path: str = ""  # local VGG16 safetensors (torchvision `features.*` keys)
    min_heldout_psnr: float = Field(default=28.0, ge=0, le=100)  # blocking asset check on the vae
    # ... and the held-out PSNR must beat each clip's mean-colour picture by this much on average:
    # an absolute floor alone passed or failed with the difficulty of the few held-out clips
    min_psnr_gain_over_mean_colour: float = Field(default=3.0, ge=-100, le=100)  # negative: no gain asked (tests)
    # With `latent_shortcut`, WARN check `learned_over_shortcut`: the held-out PSNR minus the parameter-free
    # shortcut's alone must be at least this (the conv paths' own contribution; negative: "does no harm")
    min_learned_gain_db: float = Field(default=1.0, ge=-100, le=100)
    sample_videos: int = Field(default=2, ge=0, le=64)  # side-by-side videos logged to MLflow

    # --- thin decoder (report 5.1: narrower pixel-side decoder stages, encoder frozen) --------------
    thin_levels: int = Field(default=2, ge=1, le=8)
    thin_factor: float = Field(default=0.5, gt=0, le=1.0)
    thin_steps: int = Field(default=20_000, ge=1)
    thin_learning_rate: float = Field(default=1e-4, gt=0, le=1.0)
    max_thin_psnr_drop: float = Field(default=0.5, ge=0)  # asset check: held-out PSNR drop vs full

    # --- offline packing (report 3, figure 3) --------------------------------------------------------
    pack_resolutions: list[int] = Field(default=[256, 640], min_length=1)  # short side in pixels
    pack_max_frames: int = Field(default=145, ge=1)  # frames per clip (1 + r_t n), 12 s at 12 fps
    pack_fps: float = Field(default=12.0, ge=0)  # resample clips to this rate (0 = keep source fps)
    chunk_frames: int = Field(default=32, ge=1)  # temporal chunk for encoding long clips (multiple of r_t)
    shard_size: int = Field(default=256, ge=1)  # samples per safetensors shard
    caption_languages: list[Literal["en", "zh"]] = Field(default=["en", "zh"], min_length=1)
    pack_batch: int = Field(default=8, ge=1)  # captions per text-encoder call

    @model_validator(mode="after")
    def _ratios(self) -> "EncodingSettings":
        r_t, r_s = self.temporal_ratio, self.spatial_ratio
        if (self.clip_frames - 1) % r_t:
            raise ValueError(f"clip_frames must be 1 + {r_t}n, got {self.clip_frames}")
        if (self.pack_max_frames - 1) % r_t:
            raise ValueError(f"pack_max_frames must be 1 + {r_t}n, got {self.pack_max_frames}")
        if self.crop_size % r_s:
            raise ValueError(f"crop_size must be a multiple of spatial_ratio {r_s}, got {self.crop_size}")
        if self.chunk_frames % r_t:
            raise ValueError(f"chunk_frames must be a multiple of temporal_ratio {r_t}")
        for res in self.pack_resolutions:
            if res % r_s:
                raise ValueError(f"pack_resolutions must be multiples of {r_s}, got {res}")
        if self.thin_levels > len(self.decoder_channels):
            raise ValueError("thin_levels exceeds the number of decoder levels")
        return self

    def vae_config(self):
        from models.vae.config import VAEConfig

        return VAEConfig(
            latent_channels=self.latent_channels,
            temporal_ratio=self.temporal_ratio,
            spatial_ratio=self.spatial_ratio,
            encoder_channels=tuple(self.encoder_channels),
            decoder_channels=tuple(self.decoder_channels),
            time_kernels=tuple(self.time_kernels) if self.time_kernels else None,
            num_res_blocks=self.num_res_blocks,
            decoder_res_blocks=self.decoder_res_blocks,
            mid_attention=self.mid_attention,
            norm_groups=self.norm_groups,
            resample_shortcut=self.resample_shortcut,
            latent_shortcut=self.latent_shortcut,
            logvar_init=self.logvar_init,
        )

    def loss_config(self, disc_start: int | None = None):
        from models.vae.losses import LossConfig

        return LossConfig(
            kl_weight=self.kl_weight,
            perceptual_weight=self.perceptual_weight,
            perceptual_frames=self.perceptual_frames,
            adversarial_weight=self.adversarial_weight,
            disc_start=self.disc_start if disc_start is None else disc_start,
        )

    def optim_config(self, lr: float | None = None):
        from models.vae.lightning import OptimConfig

        return OptimConfig(
            lr=lr or self.learning_rate,
            disc_lr=self.disc_learning_rate,
            grad_clip=self.grad_clip,
            disc_width=self.disc_width,
            disc_layers=self.disc_layers,
        )
