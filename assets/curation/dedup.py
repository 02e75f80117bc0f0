"""Semantic deduplication: shot embeddings, k-means candidates, pairwise similarity inside clusters.

Embedding (embedded default, weight-free, named `fallback:descriptor`): the shot's thumbnails
(already cropped to the rectified region) at 8x8 colour, averaged in three time bins and
concatenated, mean-removed and L2-normalised. It survives re-encoding, sensor noise, small crops
and resolution changes (what near-duplicates are) and separates different content.

Cost grows ~linearly: k-means with k ~ sqrt(n) on the shot embeddings, each shot joins its
`assign` nearest clusters (so pairs near a cluster border are not lost), exact cosine similarity
only inside clusters. A clip is a near-duplicate of another when each of its shots matches a shot
of the other (its content is contained in the other clip); groups are the connected components of
that relation, and each group keeps its best `quality_score` clip.
"""

from __future__ import annotations

import cv2
import numpy as np

DESCRIPTOR_BACKEND = "fallback:descriptor"


def shot_embedding(thumbs: list[np.ndarray], crop: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """(D,) float32 unit vector from (T, T, 3) uint8 thumbnails; `crop` in fractions of the frame."""
    if not thumbs:
        return np.zeros(3 * 8 * 8 * 3, np.float32)
    small = []
    for t in thumbs:
        if crop is not None:
            th, tw = t.shape[:2]
            x0, y0, x1, y1 = crop
            t = t[int(y0 * th) : max(int(y0 * th) + 1, int(round(y1 * th))), int(x0 * tw) : max(int(x0 * tw) + 1, int(round(x1 * tw)))]
        small.append(cv2.resize(t, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32))
    bins = np.array_split(np.arange(len(small)), 3)
    parts = [np.mean([small[i] for i in (b if len(b) else [len(small) - 1])], axis=0) for b in bins]
    v = np.concatenate([p.reshape(-1) for p in parts])  # (3 * 8 * 8 * 3,)
    v = v - v.mean()
    n = np.linalg.norm(v)
    return (v / n if n > 0 else v).astype(np.float32)


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 20) -> np.ndarray:
    """Centroids (k, D) by Lloyd's algorithm with k-means++ seeding (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    k = max(1, min(k, n))
    centres = [x[rng.integers(n)]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.stack(centres)[None]) ** 2).sum(-1), axis=1)
        p = d / d.sum() if d.sum() > 0 else np.full(n, 1.0 / n)
        centres.append(x[rng.choice(n, p=p)])
    c = np.stack(centres)
    for _ in range(iters):
        assign = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.stack([x[assign == j].mean(0) if np.any(assign == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def similar_pairs(emb: np.ndarray, threshold: float, n_clusters: int, assign: int, seed: int) -> set[tuple[int, int]]:
    """Index pairs (i < j) with cosine similarity >= threshold, searched inside k-means clusters."""
    n = len(emb)
    if n < 2:
        return set()
    k = n_clusters or max(1, int(round(np.sqrt(n))))
    c = kmeans(emb, k, seed)
    d = ((emb[:, None, :] - c[None]) ** 2).sum(-1)  # (n, k)
    nearest = np.argsort(d, axis=1)[:, : max(1, min(assign, len(c)))]
    members: dict[int, list[int]] = {}
    for i, cl in enumerate(nearest):
        for j in cl:
            members.setdefault(int(j), []).append(i)
    pairs: set[tuple[int, int]] = set()
    for idx in members.values():
        if len(idx) < 2:
            continue
        e = emb[idx]
        sim = e @ e.T  # (m, m) cosine (unit vectors)
        a, b = np.nonzero(np.triu(sim >= threshold, k=1))
        for p, q in zip(a, b, strict=True):
            i, j = idx[p], idx[q]
            pairs.add((min(i, j), max(i, j)))
    return pairs


def duplicate_groups(
    clip_shots: list[list[int]], shot_pairs: set[tuple[int, int]]
) -> list[int]:
    """Group id per clip: clips are linked when every shot of one matches a shot of the other."""
    owner = {s: c for c, shots in enumerate(clip_shots) for s in shots}
    matches: dict[tuple[int, int], set[int]] = {}  # (clip a, clip b) -> shots of a matched in b
    for i, j in shot_pairs:
        a, b = owner[i], owner[j]
        if a == b:
            continue
        matches.setdefault((a, b), set()).add(i)
        matches.setdefault((b, a), set()).add(j)
    parent = list(range(len(clip_shots)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), covered in matches.items():
        if covered >= set(clip_shots[a]):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(len(clip_shots))]
