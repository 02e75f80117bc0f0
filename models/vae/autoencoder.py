"""The temporally causal video VAE (MAGVIT-style), report section 2.1.

RGB (B, 3, 1 + r_t*n, H', W') -> latents (B, C, 1 + n, H'/r_h, W'/r_w). Images are one-frame videos.
`encode_chunked` / `decode_chunked` stream long videos through the same weights chunk by chunk with
a causal cache, so memory is bounded by the chunk and the result equals the whole-clip result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.vae.blocks import Downsample, FrameAttention, ResBlock3d, Upsample, norm
from models.vae.causal import CausalConv3d, StreamingModule
from models.vae.config import VAEConfig
from models.vae.shortcut import LatentShortcut


@dataclass
class DiagonalGaussian:
    """Posterior q(z|x) = N(mean, exp(logvar)); tensors (B, C, T, H, W)."""

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype, device=self.mean.device)
        return self.mean + self.std * noise

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) per sample, averaged over latent elements: (B,)."""
        kl = 0.5 * (self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar)
        return kl.flatten(1).mean(1)


def _shortcut(cfg: VAEConfig) -> LatentShortcut | None:
    if not cfg.latent_shortcut:
        return None
    return LatentShortcut(cfg.in_channels, cfg.latent_channels, cfg.temporal_ratio, cfg.spatial_ratio)


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch, g = cfg.encoder_channels, cfg.norm_groups
        self.conv_in = CausalConv3d(cfg.in_channels, ch[0], (cfg.time_kernel(0), 3, 3))
        self.down = nn.ModuleList()
        c_prev = ch[0]
        for i, c in enumerate(ch):
            stage = nn.Module()
            blocks = []
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock3d(c_prev, c, g, cfg.time_kernel(i)))
                c_prev = c
            stage.blocks = nn.ModuleList(blocks)
            last = i == cfg.levels - 1
            stage.downsample = nn.Identity() if last else Downsample(c, cfg.temporal_down[i], cfg.time_kernel(i), cfg.resample_shortcut)
            self.down.append(stage)
        tk = cfg.time_kernel(cfg.levels - 1)
        self.mid = nn.Sequential(
            ResBlock3d(c_prev, c_prev, g, tk),
            FrameAttention(c_prev, g) if cfg.mid_attention else nn.Identity(),
            ResBlock3d(c_prev, c_prev, g, tk),
        )
        self.norm_out = norm(c_prev, g)
        self.conv_out = CausalConv3d(c_prev, 2 * cfg.latent_channels, (tk, 3, 3))
        if cfg.logvar_init is not None:
            with torch.no_grad():  # output channels [C, 2C) are the log-variance (see CausalVAE.encode)
                self.conv_out.conv.bias[cfg.latent_channels :].fill_(cfg.logvar_init)
        self.shortcut = _shortcut(cfg)
        if self.shortcut is not None:
            with torch.no_grad():  # the mean head learns a residual over the shortcut, starting from zero
                self.conv_out.conv.weight[: cfg.latent_channels].zero_()
                self.conv_out.conv.bias[: cfg.latent_channels].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 3, T', H', W')
        h = self.conv_in(x)
        for stage in self.down:
            for block in stage.blocks:
                h = block(h)
            h = stage.downsample(h)
        h = self.mid(h)
        moments = self.conv_out(F.silu(self.norm_out(h)))  # (B, 2C, T, H, W): mean, logvar
        if self.shortcut is None:
            return moments
        s = self.shortcut.to_latent(x)  # (B, C, T, H, W)
        return moments + torch.cat([s, torch.zeros_like(s)], dim=1)


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch, g = cfg.decoder_channels, cfg.norm_groups
        c_prev = ch[-1]
        tk = cfg.time_kernel(cfg.levels - 1)
        self.conv_in = CausalConv3d(cfg.latent_channels, c_prev, (tk, 3, 3))
        self.mid = nn.Sequential(
            ResBlock3d(c_prev, c_prev, g, tk),
            FrameAttention(c_prev, g) if cfg.mid_attention else nn.Identity(),
            ResBlock3d(c_prev, c_prev, g, tk),
        )
        # Stages are stored deepest first (execution order); up[-1] runs at pixel resolution.
        self.up = nn.ModuleList()
        for i in reversed(range(cfg.levels)):
            c = ch[i]
            stage = nn.Module()
            blocks = []
            for _ in range(cfg.decoder_blocks):
                blocks.append(ResBlock3d(c_prev, c, g, cfg.time_kernel(i)))
                c_prev = c
            stage.blocks = nn.ModuleList(blocks)
            # Upsampling to level i-1 happens at the end of stage i (mirrors the encoder); its conv
            # runs at level i-1's resolution, so it takes that level's temporal kernel.
            up = Upsample(c, cfg.temporal_down[i - 1], cfg.time_kernel(i - 1), cfg.resample_shortcut) if i > 0 else None
            stage.upsample = up if up is not None else nn.Identity()
            self.up.append(stage)
        self.norm_out = norm(c_prev, g)
        self.conv_out = CausalConv3d(c_prev, cfg.in_channels, (cfg.time_kernel(0), 3, 3))
        self.shortcut = _shortcut(cfg)
        if self.shortcut is not None:
            with torch.no_grad():  # pixels = shortcut + a learned residual that starts at zero
                self.conv_out.conv.weight.zero_()
                self.conv_out.conv.bias.zero_()

    @property
    def last_layer(self) -> torch.Tensor:
        """The weight the adaptive adversarial weight is measured at (taming / VQGAN)."""
        return self.conv_out.conv.weight

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for stage in self.up:
            for block in stage.blocks:
                h = block(h)
            h = stage.upsample(h)
        out = self.conv_out(F.silu(self.norm_out(h)))  # (B, 3, T', H', W')
        return out if self.shortcut is None else out + self.shortcut.to_pixels(z)


@contextmanager
def streaming(module: nn.Module) -> Iterator[None]:
    """Switch every causal module inside `module` to chunk-streaming with fresh caches."""
    parts = [m for m in module.modules() if isinstance(m, StreamingModule)]
    for m in parts:
        m.reset_stream(True)
    try:
        yield
    finally:
        for m in parts:
            m.reset_stream(False)


class CausalVAE(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    # -- shapes -----------------------------------------------------------------------------
    def check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.cfg.in_channels:
            raise ValueError(f"expected pixels (B, {self.cfg.in_channels}, T, H, W), got {tuple(x.shape)}")
        t, h, w = x.shape[2:]
        r_t, r_s = self.cfg.temporal_ratio, self.cfg.spatial_ratio
        if (t - 1) % r_t or h % r_s or w % r_s:
            raise ValueError(
                f"frames must be 1 + {r_t}n and sizes multiples of {r_s}; got T={t}, H={h}, W={w}. "
                "Conform the input first with models.vae.shapes.conform_video (policy 'trim' or 'pad')."
            )

    # -- whole clip ---------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        """x: (B, 3, 1 + r_t n, H', W') in [-1, 1] -> posterior over (B, C, 1 + n, H, W)."""
        self.check_input(x)
        moments = self.encoder(x)
        mean, logvar = moments.chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar.clamp(self.cfg.logvar_min, self.cfg.logvar_max))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, C, 1 + n, H, W) -> pixels (B, 3, 1 + r_t n, r_h H, r_w W)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor, sample: bool = True, generator: torch.Generator | None = None):
        posterior = self.encode(x)
        z = posterior.sample(generator) if sample else posterior.mode()
        return self.decode(z), posterior

    # -- chunked (long videos) ----------------------------------------------------------------
    def encode_chunked(self, x: torch.Tensor, chunk_frames: int) -> DiagonalGaussian:
        """Encode 1 + chunk_frames frames, then chunk_frames at a time, carrying the causal cache.

        chunk_frames must be a multiple of r_t so each chunk ends on a latent boundary.
        """
        self.check_input(x)
        r_t = self.cfg.temporal_ratio
        if chunk_frames < r_t or chunk_frames % r_t:
            raise ValueError(f"chunk_frames must be a positive multiple of {r_t}, got {chunk_frames}")
        bounds = [0, min(1 + chunk_frames, x.shape[2])]
        while bounds[-1] < x.shape[2]:
            bounds.append(min(bounds[-1] + chunk_frames, x.shape[2]))
        outs = []
        with streaming(self.encoder):
            for a, b in zip(bounds[:-1], bounds[1:]):
                outs.append(self.encoder(x[:, :, a:b]))
        mean, logvar = torch.cat(outs, dim=2).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar.clamp(self.cfg.logvar_min, self.cfg.logvar_max))

    def decode_chunked(self, z: torch.Tensor, chunk_latents: int) -> torch.Tensor:
        """Decode chunk_latents latent frames at a time (any positive size), carrying the cache."""
        if chunk_latents < 1:
            raise ValueError(f"chunk_latents must be >= 1, got {chunk_latents}")
        outs = []
        with streaming(self.decoder):
            for a in range(0, z.shape[2], chunk_latents):
                outs.append(self.decoder(z[:, :, a : a + chunk_latents]))
        return torch.cat(outs, dim=2)

    # -- latent normalisation for the DiT ---------------------------------------------------------
    def normalize_latents(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.cfg.latent_shift) * self.cfg.latent_scale

    def denormalize_latents(self, z: torch.Tensor) -> torch.Tensor:
        return z / self.cfg.latent_scale + self.cfg.latent_shift
