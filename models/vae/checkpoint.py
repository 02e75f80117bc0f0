"""Checkpoint layout: HF-style directory with `config.json` + `model.safetensors` (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from models.vae.autoencoder import CausalVAE
from models.vae.config import VAEConfig

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save_vae(vae: CausalVAE, directory: str | Path, extra: dict | None = None) -> Path:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    config = {"model_type": "seedflow-causal-vae", **vae.cfg.to_dict(), **({"training": extra} if extra else {})}
    (d / CONFIG_NAME).write_text(json.dumps(config, indent=1, sort_keys=True), encoding="utf-8")
    state = {k: v.detach().contiguous().cpu() for k, v in vae.state_dict().items()}
    save_file(state, str(d / WEIGHTS_NAME), metadata={"format": "pt"})
    return d


def read_config(directory: str | Path) -> VAEConfig:
    data = json.loads((Path(directory) / CONFIG_NAME).read_text(encoding="utf-8"))
    data.pop("model_type", None)
    data.pop("training", None)
    return VAEConfig.from_dict(data)


def load_vae(directory: str | Path, map_location: str = "cpu") -> CausalVAE:
    d = Path(directory)
    vae = CausalVAE(read_config(d))
    state = load_file(str(d / WEIGHTS_NAME), device=map_location)
    vae.load_state_dict(state, strict=True)
    return vae.eval()


def transplant_decoder(src: CausalVAE, dst: CausalVAE) -> list[str]:
    """Copy encoder and every decoder tensor whose shape matches from src into dst.

    The thin decoder keeps the deep (narrow-in-pixels) stages of the full decoder unchanged, so
    starting them from the trained weights shortens its retraining; narrowed stages start fresh.
    Returns the names of tensors that could not be copied.
    """
    dst.encoder.load_state_dict(src.encoder.state_dict())
    skipped = []
    src_state = src.decoder.state_dict()
    with torch.no_grad():
        for name, tensor in dst.decoder.state_dict().items():
            if name in src_state and src_state[name].shape == tensor.shape:
                tensor.copy_(src_state[name])
            else:
                skipped.append(name)
    return skipped
