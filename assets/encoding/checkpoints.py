"""Storing and loading VAE checkpoints in the artifact store (safetensors + config.json, no pickle)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from assets.common.manifest import ManifestRef, read_manifest, write_manifest
from assets.encoding.schemas import CHECKPOINT_SCHEMA
from models.vae.autoencoder import CausalVAE
from models.vae.checkpoint import WEIGHTS_NAME, load_vae, save_vae
from resources.store import ArtifactStore


def store_vae(store: ArtifactStore, vae: CausalVAE, namespace: str, extra: dict | None = None) -> ManifestRef:
    with tempfile.TemporaryDirectory() as tmp:
        save_vae(vae, tmp, extra=extra)
        refs = store.put_dir(tmp, namespace=namespace)
    rows = [{"name": n, "path": r.path, "sha256": r.sha256, "size": r.size} for n, r in sorted(refs.items())]
    return write_manifest(store, namespace, pa.Table.from_pylist(rows, schema=CHECKPOINT_SCHEMA), CHECKPOINT_SCHEMA)


def checkpoint_files(store: ArtifactStore, ref: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`ref`: the checkpoint manifest ref, or a `vae` / `thin_vae_decoder` asset value holding it."""
    if "checkpoint" in ref:
        ref = ref["checkpoint"]
    return {r["name"]: r for r in read_manifest(store, ref).to_pylist()}


def weights_sha(store: ArtifactStore, ref: Mapping[str, Any]) -> str:
    """The content hash that identifies a VAE (used in packing cache keys)."""
    return checkpoint_files(store, ref)[WEIGHTS_NAME]["sha256"]


def load_stored_vae(store: ArtifactStore, ref: Mapping[str, Any]) -> CausalVAE:
    files = {name: row["path"] for name, row in checkpoint_files(store, ref).items()}
    with tempfile.TemporaryDirectory() as tmp:
        store.materialize_dir(files, Path(tmp))
        return load_vae(tmp)
