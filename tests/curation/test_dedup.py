"""Dedup embeddings, clustering and near-duplicate groups."""

from __future__ import annotations

import numpy as np

from assets.curation.dedup import duplicate_groups, kmeans, shot_embedding, similar_pairs


def _thumbs(seed: int, noise: float = 0.0, shift: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (4, 4, 3)).astype(np.float32)
    big = np.kron(base, np.ones((8, 8, 1)))  # (32, 32, 3) blocky content
    out = []
    for t in range(6):
        img = np.roll(big, shift + t, axis=1) + np.random.default_rng(seed + 99 + t).normal(0, noise, big.shape)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def test_near_duplicates_pair_and_different_content_does_not() -> None:
    emb = np.stack([shot_embedding(_thumbs(s, noise=n, shift=sh)) for s, n, sh in
                    [(1, 0, 0), (1, 6, 1), (2, 0, 0), (3, 0, 0), (2, 6, 0), (4, 0, 0)]])  # fmt: skip
    pairs = similar_pairs(emb, 0.95, 0, 2, seed=0)
    assert pairs == {(0, 1), (2, 4)}
    assert np.allclose(kmeans(emb, 3, seed=5), kmeans(emb, 3, seed=5))  # seeded


def test_groups_use_containment_of_shots() -> None:
    # clip 0: shots {0}; clip 1: shots {1, 2}; clip 2: shots {3}. Shot 0 ~ shot 1, shot 3 ~ nothing.
    groups = duplicate_groups([[0], [1, 2], [3]], {(0, 1)})
    assert groups[0] == groups[1] != groups[2]  # clip 0 is contained in clip 1
    # The bigger clip alone is not contained in the smaller one, but they still share a group.
    assert duplicate_groups([[0, 1], [2]], {(0, 2)}) == [0, 0]
    assert duplicate_groups([[0, 1], [2, 3]], {(0, 2)}) == [0, 1]  # partial overlap: not duplicates
