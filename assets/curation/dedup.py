"""Semantic deduplication: shot embeddings, k-means candidates, frame matching inside clusters.

Embedding (embedded default, weight-free, named `fallback:descriptor`): per shot, each thumbnail is
band-passed with a difference of Gaussians (sigma 1.5 and 4 px at 32 px thumbnails), sampled on a
16x16 grid, smoothed over its two neighbour thumbnails (`frame_weights`) and L2-normalised: one row per
thumbnail (at most FRAMES). The rows of `shot_embedding` are [descriptor (DIM), valid-cell mask (CELLS)].

Why a band-pass and not a colour layout: a near-duplicate is the same shot re-rendered (same scene,
subjects, colours, camera path) with other sensor noise, a centre crop, a lower internal resolution or
another codec. The flat part of the picture (sky, grass, ground gradients) is what *different* shots of
the same scene share, so the former 8x8 colour layout scored those above 0.95 (12 such pairs among 194
shots of world seed 11) while re-renders that shifted a little fell below. The band keeps subjects,
horizon and large texture (what a re-render keeps) and drops the flat background and the pixel-level
noise/codec texture (what it changes).

Why frames are matched and not pooled into time bins: a copy's detected segment often covers another
stretch of the shot than its original's, and sometimes frames of a neighbouring shot (a missed cut, a
dissolve or fade the segment kept). Time bins pooled those into the signature: on world seed 21 a copy
whose segment ran into the next shot scored 0.49, a zoom-in whose copy lost its first third to a fade
0.71, a segment ending in a dissolve 0.76 (threshold then 0.83; now 0.98, 0.99, 0.93). Now every frame of one shot looks
for its best match among the other's frames, the worst TRIM of each side's frames are left out (the
foreign ones), and the lower of the two directions counts (`similarity_matrix`): each shot must be
found in the other, so a segment that ran into its neighbour does not match that neighbour (all of
the neighbour's frames are found in it, but not the other way). The neighbour smoothing
averages sensor noise over ~3 thumbnails, so a dark, blurred shot is not lost to noise (0.73 -> 0.94
on world seed 19's worst pair). Order in time is no longer kept: a copy played in reverse matches its
original (the same footage).

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

Cost stays far from quadratic: k-means with k ~ sqrt(n) on each shot's frame-pooled full view, each
shot joins the `assign` nearest clusters of it and the nearest cluster of each zoomed view (so a cropped
copy meets its original), exact frame matching only inside clusters. Per compared pair that is
FRAMES^2 row products (half-size rows): ~8x the arithmetic of the pooled time bins, and 160 KB per shot
instead of 36 KB (masks and common-cell energies stay per shot, `_frame_similarity`).
`similar_pairs(..., stats=d)` counts the shot pairs it compared. A clip is a near-duplicate of another
when each of its shots matches a shot of the other (its content is contained in the other clip);
groups are the connected components of that relation, and each group keeps its best `quality_score` clip.

A pretrained encoder's per-frame vectors (`models.curation.embedders`), passed through `frame_rows`
(the same smoothing), go through the same frame matching as an (n, FRAMES, D) batch compared by plain
cosine; plain (n, D) vectors are one frame each.
"""

from __future__ import annotations

import cv2
import numpy as np

from assets.curation.disjoint import DisjointSets

DESCRIPTOR_BACKEND = "fallback:descriptor"
THUMB = 32  # the descriptor works on square thumbnails of this side (the analysis pass's thumb_size)
GRID = 16  # band-passed thumbnails are sampled on GRID x GRID cells
FRAMES = 8  # rows per shot (the analysis reservoir's thumbs_per_segment); more thumbnails are subsampled evenly
SMOOTH = 0.5  # weight of a thumbnail's two neighbours in its row (0.25 each): noise averages over ~3 frames
TRIM = 0.4  # fraction of a shot's worst-matched frames left out (frames of a neighbouring shot, a fade)
SIGMAS = (1.5, 4.0)  # DoG band at THUMB px: above noise / codec texture, below the flat background
ZOOMS = (1.0, 0.94, 0.88, 0.82, 0.76)  # centre-crop fractions of the views (1.0 = the shot itself)
CELLS = GRID * GRID
DIM = CELLS * 3  # one frame row: GRID x GRID cells x RGB
CENTER_PRIOR = 32  # shots: the batch mean is removed with weight n / (n + CENTER_PRIOR)
MIN_OVERLAP = 0.5  # two views are compared only if they share this fraction of valid cells


def _zoom(t: np.ndarray, z: float, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Centre crop of fraction z rescaled to the full size (sub-pixel, so small zoom steps are exact)."""
    if z >= 1.0:
        return t
    h, w = t.shape[:2]
    m = np.float32([[z, 0, (1 - z) * w / 2], [0, z, (1 - z) * h / 2]])  # output -> input coordinates
    return cv2.warpAffine(t, m, (w, h), flags=interp | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)


def frame_weights(n: int, smooth: float = SMOOTH) -> np.ndarray:
    """(n, n) float32, rows sum to 1: row t mixes thumbnail t (weight 1 - smooth) with its two neighbours
    (smooth / 2 each; renormalised at the ends). Why: sensor noise is independent per frame, so a row
    averages it over ~3 thumbnails while staying local in time (a frame of a neighbouring shot spoils
    at most its neighbours' rows, which the trimmed matching can leave out)."""
    w = np.eye(n, dtype=np.float32) * (1.0 - smooth)
    idx = np.arange(n - 1)
    w[idx, idx + 1] = w[idx + 1, idx] = smooth / 2
    return w / w.sum(1, keepdims=True)


def _pick(n: int, k: int = FRAMES) -> np.ndarray:
    """Indices of at most k of n thumbnails, evenly spaced (a shot split over several segments has more)."""
    return np.arange(n) if n <= k else np.linspace(0, n - 1, k).round().astype(int)


def frame_rows(e: np.ndarray) -> np.ndarray:
    """(FRAMES, D) float32 from (n, D) per-thumbnail vectors in time order (a pretrained encoder's):
    smoothed with `frame_weights`, L2-normalised, zero rows past n."""
    e = np.asarray(e, np.float32)[_pick(len(e))]
    out = np.zeros((FRAMES, e.shape[1]), np.float32)
    if len(e):
        x = frame_weights(len(e)) @ e
        out[: len(e)] = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return out


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
    """(len(ZOOMS), FRAMES, DIM + CELLS) float32 from a shot's (T, T, 3) uint8 full-frame thumbnails in
    time order: per view and thumbnail the unit descriptor (0 outside the mask) then the view's valid-cell
    mask; rows past the shot's thumbnails are 0; view 0 is the full view. `crop`: the clip's rectified
    region in fractions of the frame (None: all of it)."""
    out = np.zeros((len(ZOOMS), FRAMES, DIM + CELLS), np.float32)
    if not len(thumbs):
        return out
    thumbs = [thumbs[i] for i in _pick(len(thumbs))]
    frames = [cv2.resize(t, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32) for t in thumbs]
    n = len(frames)
    weights = frame_weights(n)  # (n, n)
    mask = _crop_mask(crop)
    for v, z in enumerate(ZOOMS):
        mz = _zoom(mask, z, cv2.INTER_NEAREST)
        band = []
        for f in frames:
            fz = _zoom(f, z)
            band.append(cv2.resize(_blur(fz, mz, SIGMAS[0]) - _blur(fz, mz, SIGMAS[1]), (GRID, GRID), interpolation=cv2.INTER_AREA))
        cells = (cv2.resize(mz, (GRID, GRID), interpolation=cv2.INTER_AREA) > 0.99).astype(np.float32)  # (G, G)
        x = np.einsum("st,thwc->shwc", weights, np.stack(band)) * cells[None, :, :, None]  # (n, G, G, 3)
        x = x.reshape(n, DIM)
        out[v, :n, :DIM] = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        out[v, :n, DIM:] = cells.reshape(-1)
    return out


def _split(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(n, V, F, D) rows and (n, V, F, CELLS) masks. Descriptor embeddings are (n, V, F, DIM + CELLS);
    plain vectors (a pretrained encoder's) are (n, D) or per frame (n, F, D) (or (n, 1, F, D) once
    centred), have no mask (None) and are compared by plain cosine."""
    e = np.asarray(emb, np.float32)
    if e.ndim == 4 and e.shape[-1] == DIM + CELLS:
        return e[..., :DIM], e[..., DIM:]
    if e.ndim == 2:
        e = e[:, None, None, :]
    elif e.ndim == 3:
        e = e[:, None]
    return e, None


def _cell_sum(x: np.ndarray) -> np.ndarray:
    """(..., DIM) -> (..., CELLS): sum over the channels of each grid cell."""
    return x.reshape(*x.shape[:-1], CELLS, 3).sum(axis=-1)


def _per_cell(m: np.ndarray) -> np.ndarray:
    """(..., CELLS) -> (..., DIM): a cell value repeated over the channels."""
    return np.broadcast_to(m[..., None], (*m.shape, 3)).reshape(*m.shape[:-1], DIM)


def _valid(x: np.ndarray) -> np.ndarray:
    """(..., D) rows -> (...) bool: the row holds a frame (padding rows are 0)."""
    return np.abs(x).sum(-1) > 0


def center_views(emb: np.ndarray, prior: int = CENTER_PRIOR) -> np.ndarray:
    """Embeddings minus the batch's mean full view (the mean over shots of each shot's mean frame row,
    per valid cell, shrunk toward 0 by n / (n + prior) so a batch of a few shots is left nearly as is):
    removes what every shot of the batch shares (horizon edges, the common sky/ground band), which
    raised different shots of one scene type toward duplicates. Descriptors keep their layout; plain
    vectors come back as (n, 1, F, D) unit rows."""
    x, m = _split(emb)
    valid = _valid(x)  # (n, V, F)
    per_shot = x[:, 0].sum(1) / np.maximum(valid[:, 0].sum(1), 1)[:, None]  # (n, D) mean frame row
    if m is None:
        mu = per_shot.mean(0) * (len(x) / (len(x) + prior))
        c = (x - mu) * valid[..., None]
        return c / np.maximum(np.linalg.norm(c, axis=-1, keepdims=True), 1e-12)
    mu = per_shot.sum(0) / (_per_cell(m[:, 0, 0]).sum(0) + prior)  # (DIM,) masked mean, shrunk
    return np.concatenate([(x - mu) * _per_cell(m) * valid[..., None], m], axis=-1)


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


def _frame_similarity(xa: np.ndarray, ma: np.ndarray, xb: np.ndarray, mb: np.ndarray) -> np.ndarray:
    """`_similarity` of every frame row of (na, F, DIM) xa with every frame row of xb -> (na, F, nb, F),
    using that all frames of a shot's view share one mask ((na, CELLS) ma, (nb, CELLS) mb): the common-cell
    energies and overlaps are shot-level products, F^2 times cheaper than per frame pair."""
    na, f, d = xa.shape
    nb = len(xb)
    num = (xa.reshape(na * f, d) @ xb.reshape(nb * f, d).T).reshape(na, f, nb, f)
    ea = (_cell_sum(xa * xa) @ mb.T)[:, :, :, None]  # (na, F, nb, 1): a's energy on the cells b keeps
    eb = np.einsum("ic,jgc->ijg", ma, _cell_sum(xb * xb))[:, None]  # (na, 1, nb, F)
    overlap = (ma @ mb.T) / np.maximum(ma.sum(1)[:, None], 1.0)  # (na, nb)
    sim = num / np.sqrt(np.maximum(ea, 1e-12) * np.maximum(eb, 1e-12))
    return np.where(overlap[:, None, :, None] >= MIN_OVERLAP, sim, -1.0)


def _trimmed_best(best: np.ndarray, valid: np.ndarray, trim: float = TRIM) -> np.ndarray:
    """best: (na, F, nb) each frame of a shot of a against its best match in a shot of b; valid: (na, F)
    -> (na, nb) mean over the best ceil((1 - trim) * frames) frames of each shot of a."""
    s = -np.sort(-np.where(valid[:, :, None], best, -np.inf), axis=1)  # frames best first
    keep = np.maximum(1, np.ceil(valid.sum(1) * (1.0 - trim))).astype(int)  # (na,)
    upto = np.arange(s.shape[1])[None, :] < keep[:, None]  # (na, F)
    return np.where(upto[:, :, None], s, 0.0).sum(1) / keep[:, None]


def similarity_matrix(emb: np.ndarray) -> np.ndarray:
    """(n, n) shot similarity: every frame row of one shot against its best match among the other's,
    the worst TRIM of the frames left out, the lower of the two directions; best of (full view of i, any view
    of j) and (full view of j, any view of i). `emb` as from `shot_embedding` (centre it first with
    `center_views` for a batch) or plain vectors (see `_split`)."""
    x, m = _split(emb)
    n, n_views, f, d = x.shape
    valid = _valid(x)  # (n, V, F)
    a = x[:, 0].reshape(n * f, d)
    best = np.full((n, n), -1.0, np.float32)
    for v in range(n_views):
        b = x[:, v].reshape(n * f, d)
        if m is None:
            sim = _similarity(a, None, b, None).reshape(n, f, n, f)  # (shot i, frame of i, shot j, frame of j)
        else:
            sim = _frame_similarity(x[:, 0], m[:, 0, 0], x[:, v], m[:, v, 0])
        sim = np.where(valid[:, 0, :, None, None] & valid[None, None, :, v], sim, -1.0)  # padding rows never match
        ij = _trimmed_best(sim.max(3), valid[:, 0])  # frames of i (full view) in j (view v)
        ji = _trimmed_best(sim.max(1).transpose(1, 2, 0), valid[:, v])  # frames of j (view v) in i: (j, F, i)
        best = np.maximum(best, np.minimum(ij, ji.T))  # each shot found in the other (see the module doc)
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
    searched inside k-means clusters. `emb`: (n, V, FRAMES, DIM + CELLS) from `shot_embedding`, or
    plain (n, D) / per-frame (n, FRAMES, D) vectors. `stats["comparisons"]` gets the number of shot pairs compared (the quadratic term,
    kept ~ n * sqrt(n))."""
    if stats is not None:
        stats["comparisons"] = 0
    n = len(emb)
    if n < 2:
        return set()
    centred = center_views(emb)
    x, _ = _split(centred)
    x = x.sum(2)  # (n, V, D): each view's frame rows pooled, for the clustering only
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
