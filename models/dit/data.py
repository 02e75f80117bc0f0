"""Training samples, token-budget batching across ranks, and a synthetic latent world for tests.

A sample is one clip (or image) already encoded offline: latents (C, T, H, W), caption token
embeddings (long and short variants, report 4.2), per-token shot ids and per-frame shot ids.
Batches come from `TokenBudgetBatchSampler`: every (step, rank) draws one shape bucket and as many
samples of it as fit the rank's token budget, so each rank carries about the same number of tokens
whatever the mix of images, short clips and long clips (report 6.1, workload balance). Every draw
is a pure function of (seed, step, rank): a resumed run asks for step k and gets exactly batch k.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch


def mix_seed(*parts: Any) -> int:
    """Stable 63-bit seed from any printable parts (never Python's salted hash())."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


@dataclass(frozen=True)
class SampleKey:
    index: int  # row of the dataset
    caption: str  # "long" or "short" caption variant
    step: int  # training step that drew it


class LatentSource(Protocol):
    """What the trainer needs from a latent dataset (packed_latents, or the synthetic world)."""

    def __len__(self) -> int: ...
    def shape(self, index: int) -> tuple[int, int, int]: ...  # (T, H, W) latent grid
    def weight(self, index: int) -> float: ...  # rebalanced sampling weight
    def sample(self, index: int, caption: str) -> dict[str, torch.Tensor]: ...


class LatentDataset(torch.utils.data.Dataset):
    def __init__(self, source: LatentSource) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: SampleKey) -> dict[str, Any]:
        item = dict(self.source.sample(key.index, key.caption))
        item["step"] = key.step
        return item


def collate(items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stack one bucket's samples; pad text to the longest caption (mask False, shot id 0)."""
    n_txt = max(int(it["text"].shape[0]) for it in items)
    dt = items[0]["text"].shape[1]
    text = torch.zeros(len(items), n_txt, dt)
    mask = torch.zeros(len(items), n_txt, dtype=torch.bool)
    shot = torch.zeros(len(items), n_txt, dtype=torch.long)
    for i, it in enumerate(items):
        n = it["text"].shape[0]
        text[i, :n] = it["text"]
        mask[i, :n] = it["text_mask"]
        shot[i, :n] = it["text_shot"]
    return {
        "latents": torch.stack([it["latents"] for it in items]),  # (B, C, T, H, W)
        "text": text,  # (B, L, Dt)
        "text_mask": mask,  # (B, L)
        "text_shot": shot,  # (B, L)
        "frame_shot": torch.stack([it["frame_shot"] for it in items]),  # (B, T)
        "step": torch.tensor([it["step"] for it in items]),
    }


class TokenBudgetBatchSampler(torch.utils.data.Sampler):
    """Yields, for steps start..steps-1, this rank's batch of `SampleKey`s.

    Per (step, rank): draw a bucket (same latent shape) with probability proportional to its total
    sampling weight, then `clamp(token_budget // tokens_per_sample, 1, max_batch)` samples of it by
    weight (with replacement), and a caption variant per sample (`short_caption_share`).
    """

    def __init__(
        self,
        source: LatentSource,
        *,
        steps: int,
        token_budget: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        start_step: int = 0,
        max_batch: int = 64,
        short_caption_share: float = 0.0,
    ) -> None:
        self.steps, self.budget, self.seed = steps, token_budget, seed
        self.rank, self.world_size, self.start_step = rank, world_size, start_step
        self.max_batch, self.short_share = max_batch, short_caption_share
        buckets: dict[tuple[int, int, int], list[int]] = {}
        for i in range(len(source)):
            if source.weight(i) > 0:
                buckets.setdefault(source.shape(i), []).append(i)
        if not buckets:
            raise ValueError("no sample with a positive sampling weight to train on")
        self.shapes = sorted(buckets)
        self.members = [torch.tensor(buckets[s]) for s in self.shapes]
        self.member_w = [torch.tensor([source.weight(i) for i in buckets[s]], dtype=torch.float64) for s in self.shapes]
        self.bucket_w = torch.stack([w.sum() for w in self.member_w])

    def batch_for(self, step: int, rank: int) -> list[SampleKey]:
        g = torch.Generator().manual_seed(mix_seed(self.seed, "batch", step, rank))
        b = int(torch.multinomial(self.bucket_w, 1, generator=g))
        t, h, w = self.shapes[b]
        n = max(1, min(self.max_batch, self.budget // (t * h * w)))
        pick = torch.multinomial(self.member_w[b], n, replacement=True, generator=g)
        short = torch.rand(n, generator=g) < self.short_share
        return [
            SampleKey(int(self.members[b][p]), "short" if s else "long", step)
            for p, s in zip(pick.tolist(), short.tolist(), strict=True)
        ]

    def tokens(self, batch: Sequence[SampleKey], source: LatentSource) -> int:
        return sum(int(torch.tensor(source.shape(k.index)).prod()) for k in batch)

    def __iter__(self) -> Iterator[list[SampleKey]]:
        for step in range(self.start_step, self.steps):
            yield self.batch_for(step, self.rank)

    def __len__(self) -> int:
        # The whole stage is one epoch of `steps` batches. On resume Lightning restores how many
        # batches of that epoch are done and counts on from there, so the length stays the full
        # stage even though iteration starts at `start_step`.
        return self.steps


# --- the synthetic latent world ------------------------------------------------------------------


class SyntheticLatents:
    """A learnable stand-in for packed latents, for tests and development (named as such).

    Each sample has a colour (which latent channels light up), a motion (direction a blob moves
    across latent frames) and 1-3 shots (each shot its own colour and caption). Caption token
    embeddings are fixed random vectors per word, so the text really determines the latent.
    """

    COLOURS = ("red", "green", "blue", "white")
    MOTIONS = ("left", "right", "up", "down")

    def __init__(
        self,
        n: int,
        shapes: Sequence[tuple[int, int, int]],
        channels: int = 4,
        text_dim: int = 16,
        seed: int = 0,
        max_shots: int = 1,
    ) -> None:
        g = torch.Generator().manual_seed(mix_seed(seed, "synthetic-latents"))
        self.channels, self.text_dim = channels, text_dim
        words = [*self.COLOURS, *self.MOTIONS, "shot", "static", "a", "moves"]
        self.vocab = {w: torch.randn(text_dim, generator=g) for w in words}
        self.rows = []
        for i in range(n):
            shape = tuple(shapes[i % len(shapes)])
            t = shape[0]
            shots = 1 if t == 1 else int(torch.randint(1, max_shots + 1, (1,), generator=g))
            shots = min(shots, t)
            colours = [self.COLOURS[int(torch.randint(0, 4, (1,), generator=g))] for _ in range(shots)]
            motion = self.MOTIONS[int(torch.randint(0, 4, (1,), generator=g))]
            start = torch.randint(0, 10_000, (2,), generator=g).tolist()
            self.rows.append({"shape": shape, "colours": colours, "motion": motion, "start": start,
                              "weight": 1.0 + (i % 3)})

    def __len__(self) -> int:
        return len(self.rows)

    def shape(self, index: int) -> tuple[int, int, int]:
        return self.rows[index]["shape"]

    def weight(self, index: int) -> float:
        return float(self.rows[index]["weight"])

    def frame_shots(self, index: int) -> torch.Tensor:
        row = self.rows[index]
        t, shots = row["shape"][0], len(row["colours"])
        return torch.arange(t) * shots // t  # (T,) equal split, in temporal order

    def captions(self, index: int, caption: str) -> list[list[str]]:
        row = self.rows[index]
        if caption == "short":  # motion only (report 4.2: static description removed)
            return [["a", "shot", "moves", row["motion"]] for _ in row["colours"]]
        return [["a", c, "shot", "moves", row["motion"]] for c in row["colours"]]

    def latents(self, index: int) -> torch.Tensor:
        row = self.rows[index]
        t, h, w = row["shape"]
        frame_shot = self.frame_shots(index)
        dy, dx = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}[row["motion"]]
        ys = torch.arange(h).view(h, 1).float()
        xs = torch.arange(w).view(1, w).float()
        out = torch.zeros(self.channels, t, h, w)
        for f in range(t):
            cy = (row["start"][0] + dy * f) % h
            cx = (row["start"][1] + dx * f) % w
            blob = torch.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / 2.0)  # (H, W)
            colour = self.COLOURS.index(row["colours"][int(frame_shot[f])])
            out[colour % self.channels, f] = 2.0 * blob - 0.5
            out[(colour + 1) % self.channels, f] = 0.5 - blob
        return out

    def embed(self, words: list[str]) -> torch.Tensor:
        return torch.stack([self.vocab[w] for w in words])  # (n, Dt)

    def sample(self, index: int, caption: str) -> dict[str, torch.Tensor]:
        caps = self.captions(index, caption)
        text = torch.cat([self.embed(c) for c in caps])  # (L, Dt)
        text_shot = torch.cat([torch.full((len(c),), k, dtype=torch.long) for k, c in enumerate(caps)])
        return {
            "latents": self.latents(index),
            "text": text,
            "text_mask": torch.ones(text.shape[0], dtype=torch.bool),
            "text_shot": text_shot,
            "frame_shot": self.frame_shots(index),
        }
