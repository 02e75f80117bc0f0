"""Reading packed latents for DiT training: a Dataset, a streaming IterableDataset, bucketing by tokens.

    index = PackedLatentDataset.read_index(store, packed_latents_value)
    ds = PackedLatentDataset(index, store.local_path, resolution=64, split="train")
    sampler = TokenBucketBatchSampler(ds.n_tokens, ds.shapes, max_tokens=512, weights=ds.sampling_weights, seed=0)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_packed)

Each item: latents (T, H, W, C) (normalised for the DiT unless normalize=False), cond_latent
(1, H, W, C), cond_frame (H', W', 3) uint8, text {key: (L, D)}, shot_starts (S,), sampling_weight,
sample_id, n_tokens. A batch stacks samples of one latent shape (so no padding of video tokens) and
pads text to the longest caption with a mask. Shards are memory-mapped, never loaded whole.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from safetensors import safe_open
from torch.utils.data import Dataset, IterableDataset, Sampler, get_worker_info

from assets.common.manifest import read_manifest
from assets.common.seeding import stable_seed


class _ShardCache:
    """A few open (memory-mapped) safetensors shards, least recently used evicted."""

    def __init__(self, resolve: Callable[[str], Any], size: int = 8) -> None:
        self.resolve, self.size = resolve, size
        self.open: OrderedDict[str, Any] = OrderedDict()

    def get(self, shard_path: str) -> Any:
        if shard_path in self.open:
            self.open.move_to_end(shard_path)
            return self.open[shard_path]
        handle = safe_open(str(self.resolve(shard_path)), framework="pt")
        self.open[shard_path] = handle
        if len(self.open) > self.size:
            self.open.popitem(last=False)
        return handle


def _sample(handle: Any, row: Mapping[str, Any], normalize: bool, texts: Sequence[str] | None) -> dict[str, Any]:
    p = row["key"] + "/"
    lat = handle.get_tensor(p + "latents")
    cond = handle.get_tensor(p + "cond_latent")
    if normalize:
        shift, scale = float(row["latent_shift"]), float(row["latent_scale"])
        lat, cond = (lat - shift) * scale, (cond - shift) * scale
    keys = texts if texts is not None else list(row["text_keys"] or [])
    return {
        "sample_id": row["sample_id"],
        "latents": lat,  # (T, H, W, C)
        "cond_latent": cond,  # (1, H, W, C)
        "cond_frame": handle.get_tensor(p + "cond_frame"),  # (H', W', 3) uint8
        "text": {k: handle.get_tensor(f"{p}text_{k}") for k in keys},  # (L, D) each
        "shot_starts": handle.get_tensor(p + "shot_starts"),
        "sampling_weight": float(row["sampling_weight"]),
        "n_tokens": int(row["n_tokens"]),
    }


class PackedLatentDataset(Dataset):
    def __init__(
        self,
        index: pa.Table,
        resolve: Callable[[str], Any],
        resolution: int | None = None,
        split: str | None = None,
        normalize: bool = True,
        texts: Sequence[str] | None = None,
    ) -> None:
        rows = index.to_pylist()
        if resolution is not None:
            rows = [r for r in rows if int(r["resolution"]) == int(resolution)]
        if split is not None:
            rows = [r for r in rows if r["split"] == split]
        self.rows = rows
        self.normalize, self.texts = normalize, texts
        self.cache = _ShardCache(resolve)

    @staticmethod
    def read_index(store: Any, value: Mapping[str, Any]) -> pa.Table:
        """The index table from a `packed_latents` asset value (or a bare manifest ref)."""
        return read_manifest(store, value["index"] if "index" in value else value)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self.rows[i]
        return _sample(self.cache.get(row["shard_path"]), row, self.normalize, self.texts)

    @property
    def n_tokens(self) -> list[int]:
        return [int(r["n_tokens"]) for r in self.rows]

    @property
    def shapes(self) -> list[tuple[int, int, int]]:
        return [(int(r["latent_t"]), int(r["latent_h"]), int(r["latent_w"])) for r in self.rows]

    @property
    def sampling_weights(self) -> list[float]:
        return [float(r["sampling_weight"]) for r in self.rows]


class ShardStream(IterableDataset):
    """Streams samples shard by shard (one shard open at a time): shard order shuffled per epoch,
    shards split across data-parallel ranks and dataloader workers."""

    def __init__(self, dataset: PackedLatentDataset, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        self.ds, self.seed, self.shuffle, self.rank, self.world = dataset, seed, shuffle, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        by_shard: dict[str, list[int]] = {}
        for i, r in enumerate(self.ds.rows):
            by_shard.setdefault(r["shard_path"], []).append(i)
        shards = sorted(by_shard)
        rng = np.random.default_rng(stable_seed(self.seed, "shards", self.epoch))
        if self.shuffle:
            shards = [shards[j] for j in rng.permutation(len(shards))]
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        for s in shards[self.rank * nw + wid :: self.world * nw]:
            order = by_shard[s]
            if self.shuffle:
                order = [order[j] for j in rng.permutation(len(order))]
            for i in order:
                yield self.ds[i]


class TokenBucketBatchSampler(Sampler[list[int]]):
    """Batches of one latent shape whose total token count stays within `max_tokens`.

    Samples are drawn per epoch with replacement in proportion to `weights` (the rebalanced
    sampling weights of the training dataset) or as a plain permutation without weights; each drawn
    sample joins the pending batch of its shape bucket, which is emitted when the next sample would
    exceed the budget. A sample larger than the budget forms a batch on its own. Batches are split
    across data-parallel ranks (`rank::world_size`), same seed on every rank.
    """

    def __init__(
        self,
        n_tokens: Sequence[int],
        shapes: Sequence[tuple[int, int, int]],
        max_tokens: int,
        weights: Sequence[float] | None = None,
        seed: int = 0,
        shuffle: bool = True,
        num_samples: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
    ) -> None:
        if len(n_tokens) != len(shapes):
            raise ValueError("n_tokens and shapes must have one entry per sample")
        if max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        self.n_tokens, self.shapes, self.max_tokens = list(n_tokens), list(shapes), max_tokens
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        if self.weights is not None and (self.weights < 0).any():
            raise ValueError("sampling weights must be >= 0")
        self.seed, self.shuffle, self.rank, self.world = seed, shuffle, rank, world_size
        self.num_samples = num_samples or len(n_tokens)
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _draw(self) -> list[int]:
        n = len(self.n_tokens)
        if n == 0:
            return []
        rng = np.random.default_rng(stable_seed(self.seed, "token-buckets", self.epoch))
        if self.weights is not None and self.weights.sum() > 0:
            p = self.weights / self.weights.sum()
            return rng.choice(n, size=self.num_samples, replace=True, p=p).tolist()
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        reps = math.ceil(self.num_samples / n)
        return np.concatenate([order] * reps)[: self.num_samples].tolist()

    def _batches(self) -> list[list[int]]:
        pending: dict[tuple[int, int, int], list[int]] = {}
        used: dict[tuple[int, int, int], int] = {}
        out: list[list[int]] = []
        for i in self._draw():
            key, tok = tuple(self.shapes[i]), self.n_tokens[i]
            if pending.get(key) and used[key] + tok > self.max_tokens:
                out.append(pending.pop(key))
                used[key] = 0
            pending.setdefault(key, []).append(i)
            used[key] = used.get(key, 0) + tok
        if not self.drop_last:
            out.extend(pending[k] for k in sorted(pending) if pending[k])
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()[self.rank :: self.world]

    def __len__(self) -> int:
        return len(self._batches()[self.rank :: self.world])


def collate_packed(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack one-shape latents; pad each caption kind to its longest sequence with a mask."""
    shapes = {tuple(s["latents"].shape) for s in samples}
    if len(shapes) != 1:
        raise ValueError(f"a batch must hold one latent shape, got {sorted(shapes)}; use TokenBucketBatchSampler")
    out: dict[str, Any] = {
        "sample_id": [s["sample_id"] for s in samples],
        "latents": torch.stack([s["latents"] for s in samples]),  # (B, T, H, W, C)
        "cond_latent": torch.stack([s["cond_latent"] for s in samples]),  # (B, 1, H, W, C)
        "cond_frame": torch.stack([s["cond_frame"] for s in samples]),  # (B, H', W', 3)
        "shot_starts": [s["shot_starts"] for s in samples],
        "sampling_weight": torch.tensor([s["sampling_weight"] for s in samples]),
        "text": {},
        "text_mask": {},
    }
    for key in samples[0]["text"]:
        seqs = [s["text"][key] for s in samples]
        length = max(1, max(t.shape[0] for t in seqs))
        dim = seqs[0].shape[1]
        hidden = torch.zeros(len(seqs), length, dim, dtype=seqs[0].dtype)
        mask = torch.zeros(len(seqs), length, dtype=torch.bool)
        for i, t in enumerate(seqs):
            hidden[i, : t.shape[0]] = t
            mask[i, : t.shape[0]] = True
        out["text"][key], out["text_mask"][key] = hidden, mask  # (B, L, D), (B, L)
    return out


class PackedDataset:
    """Row view used by the DiT curriculum (`assets.pretraining.sources.PackedLatentSource`).

    `row(i)` -> latents (C, T, H, W), text_long / mask_long, text_short / mask_short ((L, D) / (L,)),
    cond_latent (C, 1, H, W), shot_starts, weight, category, aesthetic, motion. `resolution=None`
    takes the largest packed resolution (one row per clip); `language` picks the caption language.
    """

    def __init__(self, store: Any, value: Mapping[str, Any], resolution: int | None = None,
                 split: str | None = None, language: str = "en", normalize: bool = True) -> None:
        index = PackedLatentDataset.read_index(store, value)
        if resolution is None and index.num_rows:
            resolution = max(int(r) for r in index.column("resolution").to_pylist())
        self.language = language
        self.ds = PackedLatentDataset(index, store.local_path, resolution=resolution, split=split,
                                      normalize=normalize, texts=[f"long_{language}", f"short_{language}"])

    def __len__(self) -> int:
        return len(self.ds)

    def row(self, i: int) -> dict[str, Any]:
        s, r = self.ds[i], self.ds.rows[i]
        out: dict[str, Any] = {
            "sample_id": s["sample_id"],
            "latents": s["latents"].permute(3, 0, 1, 2).contiguous(),  # (T, H, W, C) -> (C, T, H, W)
            "cond_latent": s["cond_latent"].permute(3, 0, 1, 2).contiguous(),  # (C, 1, H, W)
            "shot_starts": s["shot_starts"].tolist(),
            "weight": s["sampling_weight"],
            "category": r.get("category"),
            "aesthetic": r.get("aesthetic_score"),
            "motion": r.get("motion_score"),
        }
        for form in ("long", "short"):
            t = s["text"][f"{form}_{self.language}"]
            out[f"text_{form}"] = t
            out[f"mask_{form}"] = torch.ones(t.shape[0], dtype=torch.bool)
        return out
