"""Checkpoints without pickle: nested training state in one safetensors file, models as HF-style dirs.

A Lightning checkpoint is a nested structure (weights, optimizer moments, scheduler, loop counters,
RNG states, data-loader position). `encode_state` splits it into the tensors, stored as safetensors,
and a JSON skeleton that records the structure (dicts with non-string keys, tuples, None, numbers)
in the file's metadata. Nothing is ever unpickled, so a checkpoint from an untrusted source cannot
run code. `SafetensorsCheckpointIO` plugs this into Lightning's Trainer.

A model asset is a directory `config.json` + `model.safetensors`; `load_dit` builds the module on
the meta device and assigns the loaded tensors (no time spent initialising weights that are
immediately overwritten; report 6.1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from models.dit.config import DiTConfig
from models.dit.model import SeedDiT

_META_KEY = "seedflow.state"


def encode_state(obj: Any) -> tuple[dict[str, torch.Tensor], str]:
    """Nested state -> (flat tensor dict, JSON skeleton)."""
    tensors: dict[str, torch.Tensor] = {}

    def enc(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = x.detach().cpu().clone().contiguous()
            return {"__tensor__": key}
        if isinstance(x, np.ndarray):
            key = f"t{len(tensors)}"
            tensors[key] = torch.from_numpy(np.ascontiguousarray(x).copy())
            return {"__ndarray__": key}
        if isinstance(x, np.generic):
            return x.item()
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, tuple):
            return {"__tuple__": [enc(v) for v in x]}
        if isinstance(x, list):
            return [enc(v) for v in x]
        if isinstance(x, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in x):
                return {k: enc(v) for k, v in x.items()}
            return {"__dict__": [[enc(k), enc(v)] for k, v in x.items()]}
        raise TypeError(
            f"cannot store {type(x).__name__} in a safetensors checkpoint; keep checkpoint state to "
            "tensors, numbers, strings, lists, tuples and dicts"
        )

    skeleton = json.dumps(enc(obj))
    return tensors, skeleton


def decode_state(tensors: dict[str, torch.Tensor], skeleton: str) -> Any:
    def dec(x: Any) -> Any:
        if isinstance(x, list):
            return [dec(v) for v in x]
        if isinstance(x, dict):
            if "__tensor__" in x:
                return tensors[x["__tensor__"]]
            if "__ndarray__" in x:
                return tensors[x["__ndarray__"]].numpy()
            if "__tuple__" in x:
                return tuple(dec(v) for v in x["__tuple__"])
            if "__dict__" in x:
                return {_hashable(dec(k)): dec(v) for k, v in x["__dict__"]}
            return {k: dec(v) for k, v in x.items()}
        return x

    return dec(json.loads(skeleton))


def _hashable(k: Any) -> Any:
    return tuple(_hashable(v) for v in k) if isinstance(k, list) else k


def save_state(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write atomically (temp + rename) so a crash never leaves a half checkpoint under the name."""
    tensors, skeleton = encode_state(obj)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={_META_KEY: skeleton})
    os.replace(tmp, path)


def load_state(path: str | os.PathLike[str]) -> Any:
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if _META_KEY not in meta:
        raise ValueError(f"{path} is not a seedflow training checkpoint (no {_META_KEY!r} metadata)")
    return decode_state(load_file(str(path)), meta[_META_KEY])


def _checkpoint_io_base() -> type:
    from lightning.pytorch.plugins.io import CheckpointIO

    return CheckpointIO


class SafetensorsCheckpointIO(_checkpoint_io_base()):  # type: ignore[misc]
    """Lightning CheckpointIO writing `save_state` files (use with a `.safetensors` ModelCheckpoint)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        save_state(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Any | None = None, **kwargs: Any) -> dict[str, Any]:
        return load_state(path)

    def remove_checkpoint(self, path: Any) -> None:
        p = Path(path)
        if p.exists():
            p.unlink()


# --- model directories -------------------------------------------------------------------------

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def save_dit(model: SeedDiT, directory: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> Path:
    """HF-style directory: config.json (DiT config + `extra`, e.g. flow config) + model.safetensors."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(d / MODEL_FILE))
    cfg = {"dit": json.loads(model.config.to_json()), **(extra or {})}
    (d / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True), encoding="utf-8")
    return d


def read_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    return json.loads((Path(directory) / CONFIG_FILE).read_text(encoding="utf-8"))


def load_dit(
    directory: str | os.PathLike[str], *, overrides: dict[str, Any] | None = None
) -> tuple[SeedDiT, dict[str, Any]]:
    """Build on the meta device, then assign the stored tensors (no wasted random init).

    `overrides` may change run-time switches such as `activation_checkpointing` but not widths.
    """
    cfg_all = read_config(directory)
    cfg = DiTConfig.from_dict({**cfg_all["dit"], **(overrides or {})})
    with torch.device("meta"):
        model = SeedDiT(cfg)
    state = load_file(str(Path(directory) / MODEL_FILE))
    model.load_state_dict(state, strict=True, assign=True)
    return model, cfg_all
