"""Offline packing: round trip, cache reuse on re-materialisation, loader, token bucketing."""

from __future__ import annotations

import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader

from assets.encoding.packed_dataset import PackedLatentDataset, ShardStream, TokenBucketBatchSampler, collate_packed
from assets.encoding.packing import pack_clips, shot_starts_in_latents
from assets.encoding.settings import EncodingSettings
from assets.encoding.video_io import decode_frames, resize_short_side, to_tensor
from models.vae.autoencoder import CausalVAE

from ._clips import ByteTextEncoder, clip_table


def _settings(**over) -> EncodingSettings:
    base = dict(
        latent_channels=8, encoder_channels=[8, 8, 16, 16, 16], decoder_channels=[8, 8, 16, 16, 16],
        time_kernels=[1, 1, 3, 3, 3], num_res_blocks=1, decoder_res_blocks=1, norm_groups=4,
        crop_size=32, clip_frames=9, pack_resolutions=[32, 48], pack_max_frames=13, pack_fps=12.0,
        chunk_frames=4, shard_size=4, caption_languages=["en", "zh"],
    )
    return EncodingSettings(**(base | over))


@pytest.fixture
def packed(store, tmp_path):
    s = _settings()
    torch.manual_seed(0)
    vae = CausalVAE(s.vae_config()).eval()
    table = clip_table(store, tmp_path)
    enc = ByteTextEncoder()
    index, stats = pack_clips(store, table, vae, "vae-sha-1", enc, "text-sha-1", s, max_tokens=16, progress=False)
    return s, vae, table, enc, index, stats


def test_shot_starts_in_latents():
    assert shot_starts_in_latents([0, 5, 8, 9, 40], 13, 12.0, 12.0, 4) == [0, 2, 3]
    assert shot_starts_in_latents(None, 9, 12.0, 12.0, 4) == [0]
    assert shot_starts_in_latents([6], 9, 24.0, 12.0, 4) == [0, 1]  # frame 6 at 24 fps -> frame 3 at 12 fps


def test_pack_round_trip(packed, store):
    s, vae, table, enc, index, stats = packed
    assert stats == {"clips": 3, "samples": 6, "reused": 0, "encoded": 6, "shards": 2}
    assert index.num_rows == 6 and len(set(index.column("shard_path").to_pylist())) == 2
    rows = {r["sample_id"]: r for r in index.to_pylist()}
    r0 = rows["clip00@32"]
    # 14 frames -> trimmed to 13 = 1 + 4*3 -> 4 latent frames; 48x80 -> short side 32 -> 32x53 -> 32x48
    assert (r0["frames"], r0["latent_t"], r0["latent_h"], r0["latent_w"], r0["latent_c"]) == (13, 4, 2, 3, 8)
    assert r0["n_tokens"] == 24 and r0["shot_starts_latent"] == [0, 2] and r0["split"] == "val"
    assert rows["clip00@48"]["latent_h"] == 3
    # the stored latents equal a direct (whole-clip) encode of the same frames
    ds = PackedLatentDataset(index, store.local_path, resolution=32, normalize=False)
    item = ds[[r["sample_id"] for r in ds.rows].index("clip00@32")]
    frames, _ = decode_frames(store.local_path(table.column("path")[0].as_py()), max_frames=13, fps=12.0)
    x = to_tensor(resize_short_side(frames, 32, 16))[None]
    with torch.no_grad():
        z = vae.encode(x).mode()[0].permute(1, 2, 3, 0)
    torch.testing.assert_close(item["latents"], z, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(item["cond_latent"][0], item["latents"][0], rtol=1e-3, atol=1e-3)  # causal
    assert item["cond_frame"].shape == (32, 48, 3) and item["cond_frame"].dtype == torch.uint8
    hidden, mask = enc.encode(["a square 0 moves right"], 16)
    torch.testing.assert_close(item["text"]["long_en"], hidden[0][mask[0].bool()])
    assert set(item["text"]) == {"long_en", "short_en", "long_zh", "short_zh"}
    assert item["text"]["long_zh"].shape[0] == 16  # truncated at max_tokens


def test_repack_reuses_unchanged_and_reencodes_changed(packed, store, tmp_path):
    s, vae, table, enc, index, _ = packed
    calls = enc.calls
    again, stats = pack_clips(store, table, vae, "vae-sha-1", None, "text-sha-1", s, 16, previous_index=index, progress=False)
    assert stats["reused"] == 6 and stats["encoded"] == 0 and enc.calls == calls
    assert again.equals(index)  # same shards, same bytes, same index
    # one clip changes content -> only its two samples are re-encoded
    shas = table.column("sha256").to_pylist()
    shas[1] = "f" * 64
    changed = table.set_column(table.schema.get_field_index("sha256"), "sha256", pa.array(shas))
    _, stats = pack_clips(store, changed, vae, "vae-sha-1", enc, "text-sha-1", s, 16, previous_index=index, progress=False)
    assert (stats["reused"], stats["encoded"]) == (4, 2)
    # a new VAE invalidates everything
    _, stats = pack_clips(store, table, vae, "vae-sha-2", enc, "text-sha-1", s, 16, previous_index=index, progress=False)
    assert (stats["reused"], stats["encoded"]) == (0, 6)


def test_loader_buckets_by_tokens_and_weights(packed, store):
    s, _, _, _, index, _ = packed
    ds = PackedLatentDataset(index, store.local_path)
    sampler = TokenBucketBatchSampler(ds.n_tokens, ds.shapes, max_tokens=60, weights=ds.sampling_weights, seed=1, num_samples=40)
    batches = list(sampler)
    assert sum(len(b) for b in batches) == 40
    for b in batches:
        assert len({ds.shapes[i] for i in b}) == 1
        assert sum(ds.n_tokens[i] for i in b) <= 60 or len(b) == 1
    assert batches == list(TokenBucketBatchSampler(ds.n_tokens, ds.shapes, 60, ds.sampling_weights, seed=1, num_samples=40))
    counts = torch.bincount(torch.tensor([i for b in batches for i in b]), minlength=len(ds))
    assert counts.sum() == 40
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_packed)
    batch = next(iter(loader))
    b = len(batch["sample_id"])
    assert batch["latents"].shape[0] == b and batch["latents"].ndim == 5
    assert batch["text"]["long_en"].shape[:2] == batch["text_mask"]["long_en"].shape
    # ranks see disjoint batches
    r0 = list(TokenBucketBatchSampler(ds.n_tokens, ds.shapes, 60, seed=2, rank=0, world_size=2))
    r1 = list(TokenBucketBatchSampler(ds.n_tokens, ds.shapes, 60, seed=2, rank=1, world_size=2))
    assert sorted(i for b in r0 + r1 for i in b) == list(range(len(ds)))
    # streaming reads every sample once per epoch
    assert sorted(x["sample_id"] for x in ShardStream(ds, seed=3)) == sorted(r["sample_id"] for r in ds.rows)
    # normalised latents use the index's shift / scale
    raw = PackedLatentDataset(index, store.local_path, normalize=False)[0]["latents"]
    torch.testing.assert_close(ds[0]["latents"], (raw - ds.rows[0]["latent_shift"]) * ds.rows[0]["latent_scale"])
    with pytest.raises(ValueError, match="one latent shape"):
        collate_packed([ds[0], ds[[r["resolution"] for r in ds.rows].index(48)]])
