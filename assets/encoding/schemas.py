"""Manifest schemas of the encoding group (one definition each)."""

from __future__ import annotations

import pyarrow as pa

# A checkpoint: one row per file of the HF-style directory (config.json, model.safetensors).
CHECKPOINT_SCHEMA = pa.schema(
    [
        pa.field("name", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
    ]
)

# The packed-latents index: one row per (clip, resolution) sample; tensors live in the shard.
PACKED_INDEX_SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string(), nullable=False),  # f"{clip_id}@{resolution}"
        pa.field("clip_id", pa.string(), nullable=False),
        pa.field("clip_sha256", pa.string(), nullable=False),
        pa.field("resolution", pa.int32(), nullable=False),  # short side in pixels
        pa.field("split", pa.string()),
        pa.field("shard_path", pa.string(), nullable=False),  # store path of the safetensors shard
        pa.field("shard_sha256", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),  # tensor key prefix inside the shard
        pa.field("cache_key", pa.string(), nullable=False),  # sha(clip sha, vae sha, text encoder sha, packing)
        pa.field("frames", pa.int32(), nullable=False),  # pixel frames encoded (1 + r_t n)
        pa.field("fps", pa.float32(), nullable=False),
        pa.field("height", pa.int32(), nullable=False),  # pixel size encoded
        pa.field("width", pa.int32(), nullable=False),
        pa.field("latent_t", pa.int32(), nullable=False),
        pa.field("latent_h", pa.int32(), nullable=False),
        pa.field("latent_w", pa.int32(), nullable=False),
        pa.field("latent_c", pa.int32(), nullable=False),
        pa.field("latent_shift", pa.float64(), nullable=False),  # z_dit = (z - shift) * scale
        pa.field("latent_scale", pa.float64(), nullable=False),
        pa.field("n_tokens", pa.int64(), nullable=False),  # latent_t * latent_h * latent_w
        pa.field("shot_starts_latent", pa.list_(pa.int32())),  # latent frame where each shot starts
        pa.field("n_shots", pa.int32()),
        pa.field("sampling_weight", pa.float64(), nullable=False),
        pa.field("caption_long_en", pa.string()),
        pa.field("caption_short_en", pa.string()),
        pa.field("caption_long_zh", pa.string()),
        pa.field("caption_short_zh", pa.string()),
        pa.field("text_keys", pa.list_(pa.string())),  # e.g. ["long_en", "short_en", ...]
        # optional attributes from the training dataset (continue-training quality filters, balance)
        pa.field("category", pa.string()),
        pa.field("aesthetic_score", pa.float64()),
        pa.field("motion_score", pa.float64()),
    ]
)
