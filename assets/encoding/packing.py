"""Offline packing (report 3, figure 3): every training clip encoded once into sharded safetensors.

Per (clip, resolution) sample a shard holds, under the key prefix `<sample_id>/`:

- `latents`       (T, H, W, C) float32: the VAE posterior mode, raw (normalise with the index's
                  `latent_shift` / `latent_scale`, which the loader does by default);
- `cond_latent`   (1, H, W, C): the image-to-video condition, the first frame encoded alone (equal
                  to latents[0] because the VAE is causal; stored so the DiT needs no VAE);
- `cond_frame`    (h, w, 3) uint8: the first frame's pixels at the packed resolution;
- `text_<form>_<lang>` (L, D) float32: text-encoder hidden states of the caption, valid tokens only;
- `shot_starts`   (S,) int32: latent frame at which each shot starts (first is 0).

The parquet index carries one row per sample (schema `PACKED_INDEX_SCHEMA`) with shapes, token
counts, sampling weights and captions. Each sample has a cache key = sha256(clip sha, VAE weights sha,
text encoder version, packing settings): re-materialising reuses every sample whose key is already
in the previous index (tensors copied from the old shard) and encodes only what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import torch
from safetensors import safe_open
from safetensors.torch import save as save_tensors
from tqdm import tqdm

from assets.encoding.schemas import PACKED_INDEX_SCHEMA
from assets.encoding.settings import EncodingSettings
from assets.encoding.video_io import decode_frames, resize_short_side, source_index_to_output, to_tensor
from models.vae.autoencoder import CausalVAE
from models.vae.shapes import conform_video

log = logging.getLogger(__name__)

PACK_VERSION = "1"  # bump when the shard layout changes (invalidates every cache key)


class TextEncoder(Protocol):
    def encode(self, texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """-> hidden (B, L, D), mask (B, L) (1 / True where a token is real)."""


def packing_fingerprint(settings: EncodingSettings, max_tokens: int) -> str:
    keys = ["pack_resolutions", "pack_max_frames", "pack_fps", "caption_languages", "temporal_ratio", "spatial_ratio"]
    spec = {k: getattr(settings, k) for k in keys} | {"max_tokens": max_tokens, "version": PACK_VERSION}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def cache_key(clip_sha: str, vae_sha: str, text_sha: str, fingerprint: str) -> str:
    return hashlib.sha256("\x1f".join([clip_sha, vae_sha, text_sha, fingerprint]).encode()).hexdigest()


def shot_starts_in_latents(boundaries: Iterable[int] | None, frames_used: int, src_fps: float, fps: float, r_t: int) -> list[int]:
    """Clip-local shot-start frames -> latent frames. Latent 0 is frame 0; latent j covers frames
    r_t(j-1)+1 .. r_t j, so a shot starting at frame f >= 1 starts in latent ceil(f / r_t)."""
    starts = {0}
    for b in boundaries if boundaries is not None else []:
        f = source_index_to_output(int(b), src_fps, fps)
        if 0 < f < frames_used:
            starts.add(-(-f // r_t))
    return sorted(starts)


def text_keys(settings: EncodingSettings) -> list[str]:
    return [f"{form}_{lang}" for lang in settings.caption_languages for form in ("long", "short")]


@torch.no_grad()
def encode_video(vae: CausalVAE, frames: np.ndarray, resolution: int, settings: EncodingSettings) -> dict[str, torch.Tensor]:
    """(T, H, W, 3) uint8 -> latents (T', h, w, C), cond_latent (1, h, w, C), cond_frame (h, w, 3)."""
    scaled = resize_short_side(frames, resolution, settings.spatial_ratio)
    x = to_tensor(scaled)[None]  # (1, 3, T, H, W)
    x, _ = conform_video(x, settings.temporal_ratio, settings.spatial_ratio, "trim")
    z = vae.encode_chunked(x, settings.chunk_frames).mode()  # (1, C, T', h, w)
    cond = vae.encode(x[:, :, :1]).mode()  # (1, C, 1, h, w)
    return {
        "latents": z[0].permute(1, 2, 3, 0).contiguous(),  # (T', h, w, C)
        "cond_latent": cond[0].permute(1, 2, 3, 0).contiguous(),  # (1, h, w, C)
        "cond_frame": torch.from_numpy(np.ascontiguousarray(scaled[0])),  # (H, W, 3) uint8
        "_frames": torch.tensor(x.shape[2]),
    }


@torch.no_grad()
def encode_captions(encoder: TextEncoder, clip: Mapping[str, Any], settings: EncodingSettings, max_tokens: int) -> dict[str, torch.Tensor]:
    keys = text_keys(settings)
    texts = [str(clip.get(f"caption_{k}") or "") for k in keys]
    hidden, mask = encoder.encode(texts, max_tokens)  # (B, L, D), (B, L)
    out = {}
    for i, k in enumerate(keys):
        valid = mask[i].bool()
        out[f"text_{k}"] = hidden[i][valid].float().contiguous()  # (L_i, D)
    return out


@dataclass
class _Shard:
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


class _PreviousIndex:
    """Samples of the previous materialisation by cache key, read lazily from their shards."""

    def __init__(self, store: Any, index: pa.Table | None) -> None:
        self.store = store
        self.rows = {r["cache_key"] + "|" + str(r["resolution"]): r for r in (index.to_pylist() if index is not None else [])}

    def get(self, key: str, resolution: int) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
        row = self.rows.get(f"{key}|{resolution}")
        if row is None or not self.store.exists(row["shard_path"]):
            return None
        prefix = row["key"] + "/"
        with safe_open(str(self.store.local_path(row["shard_path"])), framework="pt") as f:
            tensors = {k[len(prefix) :]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
        return row, tensors


def pack_clips(
    store: Any,
    table: pa.Table,
    vae: CausalVAE,
    vae_sha: str,
    text_encoder: TextEncoder | None,
    text_sha: str,
    settings: EncodingSettings,
    max_tokens: int,
    previous_index: pa.Table | None = None,
    namespace: str = "encoding/packed",
    progress: bool = True,
) -> tuple[pa.Table, dict[str, int]]:
    """Pack every clip of the training dataset; returns the index table and cache statistics.

    `text_encoder` may be None when every sample comes from the cache (it is only called on misses).
    """
    vae.eval()
    fingerprint = packing_fingerprint(settings, max_tokens)
    previous = _PreviousIndex(store, previous_index)
    clips = sorted(table.to_pylist(), key=lambda r: str(r["clip_id"]))
    stats = {"clips": len(clips), "samples": 0, "reused": 0, "encoded": 0, "shards": 0}
    shard = _Shard()
    index_rows: list[dict[str, Any]] = []

    def flush() -> None:
        if not shard.rows:
            return
        ref = store.put_bytes(save_tensors(shard.tensors, metadata={"format": "pt"}), namespace=namespace, suffix=".safetensors")
        for row in shard.rows:
            index_rows.append(row | {"shard_path": ref.path, "shard_sha256": ref.sha256})
        stats["shards"] += 1
        shard.tensors.clear()
        shard.rows.clear()

    for clip in tqdm(clips, desc="packing latents", disable=not progress):
        key = cache_key(str(clip["sha256"]), vae_sha, text_sha, fingerprint)
        cached = {res: previous.get(key, res) for res in settings.pack_resolutions}
        frames = src_fps = None
        texts: dict[str, torch.Tensor] | None = None
        for res in settings.pack_resolutions:
            sample_id = f"{clip['clip_id']}@{res}"
            if cached[res] is not None:
                old_row, tensors = cached[res]  # type: ignore[misc]
                meta = {k: old_row[k] for k in ("frames", "fps", "height", "width")}
                stats["reused"] += 1
            else:
                if frames is None:
                    path = store.local_path(str(clip["path"]))
                    frames, src_fps = decode_frames(path, max_frames=settings.pack_max_frames, fps=settings.pack_fps)
                if texts is None:
                    if text_encoder is None:
                        raise ValueError("packing needs the text encoder for clips not in the cache")
                    texts = encode_captions(text_encoder, clip, settings, max_tokens)
                tensors = encode_video(vae, frames, res, settings)
                n_frames = int(tensors.pop("_frames"))
                fps_out = float(settings.pack_fps or src_fps)
                starts = shot_starts_in_latents(clip.get("shot_boundaries"), n_frames, float(src_fps), settings.pack_fps, settings.temporal_ratio)
                tensors |= texts
                tensors["shot_starts"] = torch.tensor(starts, dtype=torch.int32)
                h, w = tensors["cond_frame"].shape[:2]
                meta = {"frames": n_frames, "fps": fps_out, "height": int(h), "width": int(w)}
                stats["encoded"] += 1
            lt, lh, lw, lc = tensors["latents"].shape
            starts = tensors["shot_starts"].tolist()
            row = {
                "sample_id": sample_id, "clip_id": str(clip["clip_id"]), "clip_sha256": str(clip["sha256"]),
                "resolution": int(res), "split": clip.get("split"), "key": sample_id, "cache_key": key,
                **meta, "latent_t": lt, "latent_h": lh, "latent_w": lw, "latent_c": lc,
                "latent_shift": float(vae.cfg.latent_shift), "latent_scale": float(vae.cfg.latent_scale),
                "n_tokens": int(lt * lh * lw), "shot_starts_latent": starts, "n_shots": len(starts),
                "sampling_weight": float(clip.get("sampling_weight") if clip.get("sampling_weight") is not None else 1.0),
                "caption_long_en": clip.get("caption_long_en"), "caption_short_en": clip.get("caption_short_en"),
                "caption_long_zh": clip.get("caption_long_zh"), "caption_short_zh": clip.get("caption_short_zh"),
                "text_keys": text_keys(settings),
                "category": clip.get("style"),  # the SFT specialists' category: the clip's visual style
                "aesthetic_score": clip.get("aesthetic_score"),
                "motion_score": clip.get("motion_score"),
            }
            for name, t in tensors.items():
                shard.tensors[f"{sample_id}/{name}"] = t.contiguous().clone()  # text is shared across resolutions
            shard.rows.append(row)
            stats["samples"] += 1
            if len(shard.rows) >= settings.shard_size:
                flush()
    flush()
    index = pa.Table.from_pylist(index_rows, schema=PACKED_INDEX_SCHEMA)
    return index, stats
