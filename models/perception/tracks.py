"""From per-frame detections to per-shot subject evidence: count, the primary subject's look and its motion.

Per shot (K sampled frames, their detector maps):
* count: histogram over frames of the number of heatmap peaks (1..3) and the mean sorted peak scores;
* primary subject: the first-named subject sits at the top-left screen anchor at mid-shot (the world's
  layout, `render._ANCHORS`), so it is the middle frame's detection with the smallest x/W + y/H;
  it is tracked outward frame by frame (nearest detection within a gate);
* its look: shape and colour posteriors averaged over the frames it was tracked in;
* its motion relative to the scene: the camera is a translation + zoom fitted by least squares to the
  background's Farneback flow (subject discs masked out); per frame pair the subject's displacement
  minus the camera's prediction at its position, its log radius change minus the camera's zoom, and the
  curl and mean of the residual flow inside its disc (rotate, and a flow-based displacement).
`shot_features` returns these as one vector (`feature_size(K)` long) that a small head classifies.
"""

from __future__ import annotations

import cv2
import numpy as np

from models.perception.detector import N_COLOURS, N_SHAPES

PER_PAIR = 6  # rel dx, rel dy, log scale change, curl, residual flow dx, dy
MAX_COUNT = 3


def feature_size(frames: int) -> int:
    return (MAX_COUNT + 1) + 4 + N_SHAPES + N_COLOURS + PER_PAIR * (frames - 1) + 2


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ga = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(np.ascontiguousarray(b), cv2.COLOR_RGB2GRAY)
    return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 2, 9, 2, 5, 1.1, 0)  # (H, W, 2)


def _camera_fit(flow: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """Least-squares translation (tx, ty) and zoom rate s of flow = t + s * (p - centre) on mask pixels."""
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    px, py = (xx - (w - 1) / 2)[mask], (yy - (h - 1) / 2)[mask]
    fx, fy = flow[..., 0][mask], flow[..., 1][mask]
    if px.size < 8:
        return 0.0, 0.0, 0.0
    # unknowns (tx, ty, s): rows [1, 0, px] . = fx and [0, 1, py] . = fy
    a = np.zeros((2 * px.size, 3), np.float32)
    a[: px.size, 0], a[px.size:, 1] = 1.0, 1.0
    a[: px.size, 2], a[px.size:, 2] = px, py
    sol = np.linalg.lstsq(a, np.concatenate([fx, fy]), rcond=None)[0]
    return float(sol[0]), float(sol[1]), float(sol[2])


def _pick_primary(dets: list[np.ndarray], w: int, h: int) -> tuple[int, int] | None:
    """(frame, row) of the primary subject: in the frame nearest the middle that has detections,
    the one nearest the top-left anchor."""
    k = len(dets)
    for f in sorted(range(k), key=lambda i: abs(i - k // 2)):
        d = dets[f]
        if len(d):
            return f, int(np.argmin(d[:, 0] / w + d[:, 1] / h))
    return None


def shot_features(frames: np.ndarray, dets: list[np.ndarray]) -> np.ndarray:
    """frames (K, H, W, 3) uint8, dets[k] (M, 3 + 1 + 8 + 7) from `detector.peaks` -> (feature_size(K),)."""
    k, h, w = frames.shape[:3]
    unit = float(min(h, w))
    counts = np.array([min(len(d), MAX_COUNT) for d in dets])
    count_hist = np.bincount(counts, minlength=MAX_COUNT + 1)[: MAX_COUNT + 1] / k
    scores = np.zeros((k, 4), np.float32)
    for f, d in enumerate(dets):
        scores[f, : min(len(d), 4)] = d[:4, 2]
    feats = [count_hist, scores.mean(0)]
    start = _pick_primary(dets, w, h)
    track: list[np.ndarray | None] = [None] * k
    if start is not None:
        f0, row = start
        track[f0] = dets[f0][row]
        gate = 0.35 * unit
        for order in (range(f0 + 1, k), range(f0 - 1, -1, -1)):
            prev = track[f0]
            for f in order:
                d = dets[f]
                if len(d):
                    dist = np.hypot(d[:, 0] - prev[0], d[:, 1] - prev[1])
                    j = int(np.argmin(dist))
                    if dist[j] <= gate:
                        track[f] = d[j]
                        prev = d[j]
    seen = [t for t in track if t is not None]
    if seen:
        feats += [np.mean([t[4:4 + N_SHAPES] for t in seen], 0), np.mean([t[4 + N_SHAPES:] for t in seen], 0)]
    else:
        feats += [np.zeros(N_SHAPES), np.zeros(N_COLOURS)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pairs = np.zeros((k - 1, PER_PAIR), np.float32)
    for f in range(k - 1):
        flow = _flow(frames[f], frames[f + 1])
        mask = np.ones((h, w), bool)
        for d in dets[f]:  # subjects are not the camera: mask their discs out of the fit
            mask &= (xx - d[0]) ** 2 + (yy - d[1]) ** 2 > (1.6 * max(d[3], 2.0)) ** 2
        tx, ty, s = _camera_fit(flow, mask)
        a, b = track[f], track[f + 1]
        if a is None:
            continue
        cam = np.array([tx + s * (a[0] - (w - 1) / 2), ty + s * (a[1] - (h - 1) / 2)])
        if b is not None:
            pairs[f, 0:2] = (b[:2] - a[:2] - cam) / unit * 10.0
            pairs[f, 2] = (np.log(max(b[3], 1.0) / max(a[3], 1.0)) - np.log1p(s)) * 5.0
        r = max(a[3], 2.0)
        disc = (xx - a[0]) ** 2 + (yy - a[1]) ** 2 <= r**2
        if disc.sum() >= 3:
            rx = flow[..., 0][disc] - (tx + s * (xx[disc] - (w - 1) / 2))
            ry = flow[..., 1][disc] - (ty + s * (yy[disc] - (h - 1) / 2))
            dx, dy = xx[disc] - a[0], yy[disc] - a[1]
            pairs[f, 3] = float(np.sum(dx * ry - dy * rx) / (np.sum(dx**2 + dy**2) + 1e-3)) * 10.0
            pairs[f, 4:6] = np.array([rx.mean(), ry.mean()]) / unit * 10.0
    feats += [pairs.ravel(), np.array([float(start is not None), len(seen) / k])]
    return np.concatenate(feats).astype(np.float32)
