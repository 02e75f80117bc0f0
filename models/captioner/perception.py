"""The captioner's subject evidence: the frozen supervised subject detector (`models.perception`) per shot.

At the captioner's square frame size (32 px on the tiny preset) a subject is a few pixels wide and the
object/motion CNN pathways stayed at chance on subject and colour. The judges solved the same problem
with a CenterNet-style detector trained on rendered shots whose ground truth says where every subject is
(`models.perception.detector`); the captioner reuses it: trained first, on frames at native aspect (the
view, e.g. 54 x 96), then frozen. Per shot it reads K evenly spaced frames and returns
`models.perception.tracks.shot_features` (count from peaks, the primary subject's shape/colour
posteriors, its camera-compensated track) plus two histograms only the captioner needs: how many
detections look like the primary subject (the caption's count is the count of the first-named group,
not of all subjects) and how many distinct looks there are (the number of subject groups).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.perception.detector import N_COLOURS, N_SHAPES, SubjectDetector, detector_maps, peaks
from models.perception.tracks import MAX_COUNT, PER_PAIR, feature_size, shot_features

GROUP_BINS = MAX_COUNT + 1  # histogram bins 0..3 of the two group features


def percept_size(frames: int) -> int:
    """Length of the per-shot evidence vector for K perception frames."""
    return feature_size(frames) + 2 * GROUP_BINS


def percept_slices(frames: int) -> dict[str, slice]:
    """Where each attribute's evidence sits in the vector (layout of `tracks.shot_features` + groups)."""
    c = MAX_COUNT + 1 + 4
    look = c + N_SHAPES + N_COLOURS
    base = feature_size(frames)
    return {"count_all": slice(0, c), "subject": slice(c, c + N_SHAPES), "colour": slice(c + N_SHAPES, look),
            "motion": slice(look, look + PER_PAIR * (frames - 1) + 2),
            "same": slice(base, base + GROUP_BINS), "groups": slice(base + GROUP_BINS, base + 2 * GROUP_BINS)}


def perception_indices(t: int, k: int) -> np.ndarray:
    """The K evenly spaced frames (of T) the detector reads."""
    return np.linspace(0, t - 1, k).round().astype(int)


def _group_hists(dets: list[np.ndarray], look: np.ndarray) -> np.ndarray:
    """Per frame: detections whose (shape, colour) argmax equals the primary's; distinct (shape, colour)
    pairs. -> two histograms over frames (GROUP_BINS each)."""
    same, distinct = [], []
    ps, pc = int(np.argmax(look[:N_SHAPES])), int(np.argmax(look[N_SHAPES:]))
    for d in dets:
        if not len(d):
            same.append(0)
            distinct.append(0)
            continue
        s, c = d[:, 4:4 + N_SHAPES].argmax(1), d[:, 4 + N_SHAPES:].argmax(1)
        same.append(min(int(np.sum((s == ps) & (c == pc))), MAX_COUNT))
        distinct.append(min(len(set(zip(s.tolist(), c.tolist()))), MAX_COUNT))
    k = max(len(dets), 1)
    return np.concatenate([np.bincount(same, minlength=GROUP_BINS) / k,
                           np.bincount(distinct, minlength=GROUP_BINS) / k]).astype(np.float32)


def view_frames(frames: torch.Tensor, view: tuple[int, int]) -> torch.Tensor:
    """(B, T, 3, h, w) uint8 or [0, 1] -> (B, T, 3, H, W) float in [0, 1] at the detector's view (area
    resize only when the frames are not already at it, e.g. squashed frames from an older caller)."""
    x = frames.float().div(255.0) if frames.dtype == torch.uint8 else frames.float()
    if tuple(x.shape[-2:]) != tuple(view):
        B, T = x.shape[:2]
        x = F.interpolate(x.flatten(0, 1), size=view, mode="area").unflatten(0, (B, T))
    return x


@torch.no_grad()
def shot_percepts(detector: SubjectDetector, frames: torch.Tensor, view: tuple[int, int], k: int,
                  threshold: float) -> torch.Tensor:
    """frames (B, T, 3, h, w) -> per-shot evidence (B, percept_size(k)) from the frozen detector."""
    B, T = frames.shape[:2]
    if B == 0:
        return torch.zeros(0, percept_size(k))
    x = view_frames(frames, view)[:, perception_indices(T, k)]  # (B, K, 3, H, W)
    maps = detector_maps(detector, x.flatten(0, 1)).unflatten(0, (B, k))  # (B, K, C, H/2, W/2)
    u8 = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()  # (B, K, H, W, 3)
    out = []
    look = percept_slices(k)
    for b in range(B):
        dets = peaks(maps[b], threshold)
        base = shot_features(u8[b], dets)
        primary = np.concatenate([base[look["subject"]], base[look["colour"]]])
        out.append(np.concatenate([base, _group_hists(dets, primary)]))
    return torch.from_numpy(np.stack(out))


def choose_threshold(maps: list[torch.Tensor], counts: np.ndarray) -> float:
    """Peak threshold with the best per-frame subject-count accuracy on the detector's own training shots
    (maps[i]: (K, C, h, w) of one shot, counts[i]: its true number of subjects)."""
    best, best_acc = 0.3, -1.0
    for thr in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        acc = float(np.mean([np.mean([min(len(p), MAX_COUNT) == c for p in peaks(m, thr)])
                             for m, c in zip(maps, counts, strict=True)]))
        if acc > best_acc:
            best, best_acc = thr, acc
    return best
