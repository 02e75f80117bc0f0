"""Semantic deduplication: shot embeddings, k-means candidates, pairwise similarity inside clusters.

Embedding (embedded default, weight-free, named `fallback:descriptor`): per shot, the thumbnails are
band-passed with a difference of Gaussians (sigma 1.5 and 4 px at 32 px thumbnails), sampled on a
16x16 grid, averaged in two overlapping time bins (`time_weights`: a coarse temporal signature for
pans and moving subjects that tolerates segments cut a few frames differently) and L2-normalised. The rows of `shot_embedding` are [descriptor (DIM), valid-cell mask (GRID*GRID)].

Why a band-pass and not a colour layout: a near-duplicate is the same shot re-rendered (same scene,
subjects, colours, camera path) with other sensor noise, a centre crop, a lower internal resolution or
another codec. The flat part of the picture (sky, grass, ground gradients) is what *different* shots of
the same scene share, so the former 8x8 colour layout scored those above 0.95 (12 such pairs among 194
shots of world seed 11) while re-renders that shifted a little fell below. The band keeps subjects,
horizon and large texture (what a re-render keeps) and drops the flat background and the pixel-level
noise/codec texture (what it changes).

Rectification crops: the picture stays in frame coordinates and the clip's crop box becomes a mask
(blurs are normalised convolutions, so the cut-away overlay does not leak into the band); two shots
are compared on the grid cells valid in both. Cutting the crop out and resizing it instead moved every
edge whenever the two copies got different crops (one overlay missed, or a false one found).

Zooms: a centre crop rescaled to the frame moves every edge. Each shot carries `len(ZOOMS)` views, its
descriptor (and mask) after a centre crop of each zoom fraction; two shots are compared as max over
(full view of one, any view of the other) both ways, so a crop of 0.76-1.0 of either matches within
~3 % of scale.

Batch centring (`center_views`): before comparing, the batch's mean full view is subtracted (shrunk
toward 0 for small batches), which removes what every shot shares (horizon edges). The threshold
(preset `dedup_similarity`) is chosen on worlds of other seeds than the benchmark's (see the preset).
Known miss: a shot both dark and blurred keeps little in the band but sensor noise, so two copies of
it score low (0.73 on world seed 19, the only true pair of world seeds 11/13/17/19 below 0.83).

Cost grows ~linearly: k-means with k ~ sqrt(n) on the full views, each shot joins the `assign` nearest
clusters of its full view and the nearest cluster of each zoomed view (so a cropped copy meets its
original), exact similarity only inside clusters. `similar_pairs(..., stats=d)` counts the pair
comparisons it made. A clip is a near-duplicate of another when each of its shots matches a shot of the
other (its content is contained in the other clip); groups are the connected components of that
relation, and each group keeps its best `quality_score` clip.
"""

from __future__ import annotations

import cv2
import numpy as np

from assets.curation.disjoint import DisjointSets

DESCRIPTOR_BACKEND = "fallback:descriptor"
THUMB = 32  # the descriptor works on square thumbnails of this side (the analysis pass's thumb_size)
GRID = 16  # band-passed thumbnails are sampled on GRID x GRID cells
TIME_BINS = 2  # hat-weighted time bins (start-weighted, end-weighted): see `time_weights`
SIGMAS = (1.5, 4.0)  # DoG band at THUMB px: above noise / codec texture, below the flat background
ZOOMS = (1.0, 0.94, 0.88, 0.82, 0.76)  # centre-crop fractions of the views (1.0 = the shot itself)
DIM = TIME_BINS * GRID * GRID * 3
CELLS = GRID * GRID
CENTER_PRIOR = 32  # shots: the batch mean is removed with weight n / (n + CENTER_PRIOR)
MIN_OVERLAP = 0.5  # two views are compared only if they share this fraction of valid cells


def _zoom(t: np.ndarray, z: float, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Centre crop of fraction z rescaled to the full size (sub-pixel, so small zoom steps are exact)."""
    if z >= 1.0:
        return t
    h, w = t.shape[:2]
    m = np.float32([[z, 0, (1 - z) * w / 2], [0, z, (1 - z) * h / 2]])  # output -> input coordinates
    return cv2.warpAffine(t, m, (w, h), flags=interp | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


def time_weights(n: int, bins: int = TIME_BINS) -> np.ndarray:
    """(bins, n) float32 weights of a shot's n thumbnails (time order) in each time bin, rows sum to 1.

    Overlapping hat functions (linear interpolation weights: for 2 bins, 1 - t and t) rather than
    disjoint slices. Why: a copy's detected segment often covers another stretch of the shot than its
    original's (a dissolve on one side only, a cut found a few frames off), so disjoint bins compared
    different moments (3 bins: a 12- vs 17-frame segment of one shot fell to 0.71); and each hat bin
    averages more thumbnails, so a dark, blurred shot's sensor noise cancels more (0.44 -> 0.73 on
    world seed 19's worst pair). Still ordered in time: a pan and its reverse differ."""
    t = np.linspace(0.0, 1.0, n) if n > 1 else np.full(1, 0.5)
    if bins == 1:
        return np.full((1, n), 1.0 / n, np.float32)
    c = np.linspace(0.0, 1.0, bins)
    w = np.maximum(0.0, 1.0 - np.abs(t[None] - c[:, None]) * (bins - 1))  # (bins, n)
    w = np.where(w.sum(1, keepdims=True) > 0, w, 1.0)  # a bin no thumbnail reaches: the shot's mean
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def _blur(x: np.ndarray, m: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (H, W, 3) x over the pixels where mask m (H, W) is 1 (normalised convolution)."""
    num = cv2.GaussianBlur(x * m[..., None], (0, 0), sigma)
    return num / np.maximum(cv2.GaussianBlur(m, (0, 0), sigma), 1e-3)[..., None]


def _crop_mask(crop: tuple[float, float, float, float] | None) -> np.ndarray:
    """(THUMB, THUMB) float32: 1 on pixels whose centre lies in the crop box (fractions of the frame)."""
    x0, y0, x1, y1 = crop if crop is not None else (0.0, 0.0, 1.0, 1.0)
    c = (np.arange(THUMB) + 0.5) / THUMB
    m = np.zeros((THUMB, THUMB), np.float32)
    m[np.ix_((c >= y0) & (c <= y1), (c >= x0) & (c <= x1))] = 1.0
    return m


def shot_embedding(thumbs: list[np.ndarray], crop: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """(len(ZOOMS), DIM + CELLS) float32 from a shot's (T, T, 3) uint8 full-frame thumbnails in time
    order: per view the unit descriptor (0 outside the mask) then the valid-cell mask; row 0 is the
    full view. `crop`: the clip's rectified region in fractions of the frame (None: all of it)."""
    out = np.zeros((len(ZOOMS), DIM + CELLS), np.float32)
    if not len(thumbs):
        return out
    frames = [cv2.resize(t, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32) for t in thumbs]
    mask = _crop_mask(crop)
    weights = time_weights(len(frames))  # (TIME_BINS, n_frames)
    for v, z in enumerate(ZOOMS):
        mz = _zoom(mask, z, cv2.INTER_NEAREST)
        band = []
        for f in frames:
            fz = _zoom(f, z)
            band.append(cv2.resize(_blur(fz, mz, SIGMAS[0]) - _blur(fz, mz, SIGMAS[1]), (GRID, GRID), interpolation=cv2.INTER_AREA))
        cells = (cv2.resize(mz, (GRID, GRID), interpolation=cv2.INTER_AREA) > 0.99).astype(np.float32)  # (G, G)
        x = np.einsum("kt,thwc->khwc", weights, np.stack(band)) * cells[None, :, :, None]  # (TB, G, G, 3)
        n = np.linalg.norm(x)
        out[v, :DIM] = x.reshape(-1) / n if n > 0 else x.reshape(-1)
        out[v, DIM:] = cells.reshape(-1)
    return out


def _split(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, V, D) descriptors and (n, V, CELLS) masks (None for plain (n, D) / (n, V, D) embeddings,
    e.g. a pretrained encoder's vectors, which are compared by plain cosine)."""
    e = np.asarray(emb, np.float32)
    if e.ndim == 2:
        e = e[:, None, :]
    if e.shape[-1] == DIM + CELLS:
        return e[..., :DIM], e[..., DIM:]
    return e, None


def _cell_sum(x: np.ndarray) -> np.ndarray:
    """(..., DIM) -> (..., CELLS): sum over time bins and channels of each grid cell."""
    return x.reshape(*x.shape[:-1], TIME_BINS, CELLS, 3).sum(axis=(-3, -1))


def _per_cell(m: np.ndarray) -> np.ndarray:
    """(..., CELLS) -> (..., DIM): a cell value repeated over time bins and channels."""
    return np.broadcast_to(m[..., None, :, None], (*m.shape[:-1], TIME_BINS, CELLS, 3)).reshape(*m.shape[:-1], DIM)


def center_views(emb: np.ndarray, prior: int = CENTER_PRIOR) -> np.ndarray:
    """Embeddings minus the batch's mean full view (per valid cell, shrunk toward 0 by n / (n + prior)
    so a batch of a few shots is left nearly as is): removes what every shot of the batch shares
    (horizon edges, the common sky/ground band), which raised different shots of one scene type toward
    duplicates. Same layout as the input."""
    x, m = _split(emb)
    if m is None:
        mu = x[:, 0].mean(0) * (len(x) / (len(x) + prior))
        return (x - mu) / np.maximum(np.linalg.norm(x - mu, axis=-1, keepdims=True), 1e-12)
    mu = x[:, 0].sum(0) / (_per_cell(m[:, 0]).sum(0) + prior)  # (DIM,) masked mean, shrunk
    return np.concatenate([(x - mu) * _per_cell(m), m], axis=-1)


def _similarity(a: np.ndarray, ma: np.ndarray | None, b: np.ndarray, mb: np.ndarray | None) -> np.ndarray:
    """(len(a), len(b)) cosine of a's rows with b's rows on the cells valid in both (-1 where they
    share less than MIN_OVERLAP of a's valid cells)."""
    if ma is None:
        na = np.linalg.norm(a, axis=1)[:, None]
        nb = np.linalg.norm(b, axis=1)[None]
        return (a @ b.T) / np.maximum(na * nb, 1e-12)
    num = a @ b.T  # both are 0 outside their own masks: the product lives on the common cells
    den = np.sqrt(np.maximum(_cell_sum(a * a) @ mb.T, 1e-12) * np.maximum(ma @ _cell_sum(b * b).T, 1e-12))
    overlap = (ma @ mb.T) / np.maximum(ma.sum(1)[:, None], 1.0)
    return np.where(overlap >= MIN_OVERLAP, num / den, -1.0)


def similarity_matrix(emb: np.ndarray) -> np.ndarray:
    """(n, n) shot similarity: best of (full view of i, any view of j) and (full view of j, any view
    of i). `emb` as from `shot_embedding` (centre it first with `center_views` for a batch)."""
    x, m = _split(emb)
    best = np.full((len(x), len(x)), -1.0, np.float32)
    for v in range(x.shape[1]):
        best = np.maximum(best, _similarity(x[:, 0], None if m is None else m[:, 0], x[:, v], None if m is None else m[:, v]))
    return np.maximum(best, best.T)


def pair_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """`similarity_matrix` of two shots (uncentred)."""
    return float(similarity_matrix(np.stack([a, b]))[0, 1])


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 20) -> np.ndarray:
    """Centroids (k, D) by Lloyd's algorithm with k-means++ seeding (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    k = max(1, min(k, n))
    sq = (x * x).sum(1)

    def dist2(c: np.ndarray) -> np.ndarray:  # (n, len(c)) squared distances without an (n, k, D) array
        return np.maximum(sq[:, None] - 2 * x @ c.T + (c * c).sum(1)[None], 0.0)

    centres = [x[rng.integers(n)]]
    d = dist2(centres[0][None])[:, 0]
    for _ in range(1, k):
        p = d / d.sum() if d.sum() > 0 else np.full(n, 1.0 / n)
        centres.append(x[rng.choice(n, p=p)])
        d = np.minimum(d, dist2(centres[-1][None])[:, 0])
    c = np.stack(centres)
    for _ in range(iters):
        assign = np.argmin(dist2(c), axis=1)
        new = np.stack([x[assign == j].mean(0) if np.any(assign == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def similar_pairs(
    emb: np.ndarray, threshold: float, n_clusters: int, assign: int, seed: int, stats: dict | None = None
) -> set[tuple[int, int]]:
    """Index pairs (i < j) whose similarity (`similarity_matrix` after `center_views`) >= threshold,
    searched inside k-means clusters. `emb`: (n, V, DIM + CELLS) from `shot_embedding`, or plain
    (n, D) vectors. `stats["comparisons"]` gets the number of shot pairs compared (the quadratic term,
    kept ~ n * sqrt(n))."""
    if stats is not None:
        stats["comparisons"] = 0
    n = len(emb)
    if n < 2:
        return set()
    centred = center_views(emb)
    x, _ = _split(centred)
    full = x[:, 0] / np.maximum(np.linalg.norm(x[:, 0], axis=1, keepdims=True), 1e-12)  # (n, D)
    k = n_clusters or max(1, int(round(np.sqrt(n))))
    c = kmeans(full, k, seed)
    members: dict[int, set[int]] = {}
    d = (full * full).sum(1)[:, None] - 2 * full @ c.T + (c * c).sum(1)[None]  # (n, k)
    for i, cl in enumerate(np.argsort(d, axis=1)[:, : max(1, min(assign, len(c)))]):
        for j in cl:
            members.setdefault(int(j), set()).add(i)
    if x.shape[1] > 1:  # zoomed views: the nearest cluster of each, where a cropped copy lives
        zoomed = x[:, 1:].reshape(-1, x.shape[2])  # (n * (V - 1), D)
        zoomed = zoomed / np.maximum(np.linalg.norm(zoomed, axis=1, keepdims=True), 1e-12)
        dz = (zoomed * zoomed).sum(1)[:, None] - 2 * zoomed @ c.T + (c * c).sum(1)[None]
        for r, j in enumerate(np.argmin(dz, axis=1)):
            members.setdefault(int(j), set()).add(r // (x.shape[1] - 1))
    keys, sims = [], []
    for idx_set in members.values():
        idx = np.array(sorted(idx_set))
        if len(idx) < 2:
            continue
        s = similarity_matrix(centred[idx])  # (m, m)
        p, q = np.triu_indices(len(idx), k=1)
        keys.append(idx[p] * n + idx[q])  # i < j since idx is sorted
        sims.append(s[p, q])
    if not keys:
        return set()
    key, first = np.unique(np.concatenate(keys), return_index=True)  # a pair met in two clusters counts once
    if stats is not None:
        stats["comparisons"] = int(len(key))
    hit = key[np.concatenate(sims)[first] >= threshold]
    return {(int(x // n), int(x % n)) for x in hit}


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
    sets = DisjointSets(len(clip_shots))
    for (a, b), covered in matches.items():
        if covered >= set(clip_shots[a]):
            sets.union(a, b)
    return sets.labels()
