"""Temporally causal video VAE (report 2.1), its training objective and the thin decoder (5.1)."""

from models.vae.autoencoder import CausalVAE, DiagonalGaussian, streaming
from models.vae.config import VAEConfig
from models.vae.losses import LossConfig
from models.vae.shapes import ConformInfo, conform_video, restore

__all__ = ["CausalVAE", "ConformInfo", "DiagonalGaussian", "LossConfig", "VAEConfig", "conform_video", "restore", "streaming"]
