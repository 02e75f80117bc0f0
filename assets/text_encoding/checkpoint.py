"""Checkpoint directories <-> the artifact store (HF layout: config.json, safetensors, tokenizer files)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from models.text_encoder.encoder import TextEncoder, load_text_encoder_dir


def store_checkpoint(store: Any, directory: str | Path, namespace: str) -> dict[str, dict[str, Any]]:
    """Every file of a checkpoint directory, content-addressed: name -> {path, sha256, size}."""
    return {name: ref.to_dict() for name, ref in store.put_dir(directory, namespace=namespace).items()}


def materialize_checkpoint(store: Any, files: dict[str, dict[str, Any]], dst: str | Path) -> Path:
    """Lay a stored checkpoint out as a directory (verifying each file's hash) for `from_pretrained`."""
    for name, ref in files.items():
        if not store.verify(ref["path"], ref["sha256"]):
            raise ValueError(f"checkpoint file {name} ({ref['path']}) is corrupt: its hash does not match")
    return store.materialize_dir({name: ref["path"] for name, ref in files.items()}, dst)


def load_stored_text_encoder(store: Any, value: dict[str, Any]) -> TextEncoder:
    if "files" not in value:
        raise ValueError(f"not a text_encoder asset value (no 'files'): keys {sorted(value)}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = materialize_checkpoint(store, value["files"], Path(tmp) / "text_encoder")
        return load_text_encoder_dir(directory)
