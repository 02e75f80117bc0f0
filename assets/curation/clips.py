"""From a video's analysis to clips: segmentation plan and clip-level statistics (no decoding).

`plan_clips` packs consecutive segments (shots, or <= max-length pieces of long shots) into clips of
at most `max_clip_s` and `max_shots_per_clip` shots, keeping every shot boundary inside the clip
(`shot_boundaries`, frames relative to the clip start). Remnants shorter than `min_clip_s` are
dropped with reason "too_short".

`clip_stats` sums the additive segment accumulators of a clip: per-shot technical scores (the worst
shot decides a clip's defect), the overlay persistence map, and thumbnails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assets.curation.analysis import SegmentStats, VideoAnalysis
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import this module; settings pull in Dagster via resources.params
    from assets.curation.settings import CurationSettings


@dataclass
class ClipPlan:
    index: int  # clip number within its video
    start: int  # source frames [start, end)
    end: int
    segments: list[int]  # indices into VideoAnalysis.segments
    shot_boundaries: list[int] = field(default_factory=list)  # relative to start; first is 0


@dataclass
class DroppedRange:
    start: int
    end: int
    reason: str


def plan_clips(a: VideoAnalysis, s: CurationSettings) -> tuple[list[ClipPlan], list[DroppedRange]]:
    max_frames = int(np.floor(s.max_clip_s * a.fps + 1e-6))
    min_frames = int(np.ceil(s.min_clip_s * a.fps - 1e-6))
    clips: list[ClipPlan] = []
    dropped: list[DroppedRange] = []
    cur: list[int] = []

    def flush() -> None:
        if not cur:
            return
        segs = [a.segments[i] for i in cur]
        start, end = segs[0].start, segs[-1].end
        if end - start < min_frames:
            dropped.append(DroppedRange(start, end, "too_short"))
        else:
            bounds, prev = [], None
            for g in segs:
                if g.shot_index != prev:
                    bounds.append(g.start - start)
                    prev = g.shot_index
            clips.append(ClipPlan(len(clips), start, end, list(cur), bounds))
        cur.clear()

    for i, g in enumerate(a.segments):
        if cur:
            first = a.segments[cur[0]]
            shots = len({a.segments[j].shot_index for j in cur} | {g.shot_index})
            # A piece of a split long shot always starts a new clip (it is already max length).
            continues_shot = g.shot_index == a.segments[cur[-1]].shot_index
            if continues_shot or g.end - first.start > max_frames or shots > s.max_shots_per_clip:
                flush()
        cur.append(i)
    flush()
    return clips, dropped


@dataclass
class ClipStats:
    n_frames: int
    sharpness: float  # min over shots of mean normalised Laplacian sharpness (blur if low)
    lapvar: float  # mean Laplacian variance (reported)
    luminance: float  # min over shots of mean luma (0-255)
    motion: float  # min over shots of mean flow magnitude (px/frame at flow res); static if low
    jitter: float  # max over shots of RMS high-pass global motion
    shot_scores: list[dict[str, float]]
    edge_freq: np.ndarray  # (H, W) fraction of frames each pixel is an edge
    thumbs: list[np.ndarray]  # (T, T, 3) uint8 RGB, in time order


def segment_scores(g: SegmentStats) -> dict[str, float]:
    return {
        "sharpness": g.sharp_sum / max(1, g.n),
        "lapvar": g.lapvar_sum / max(1, g.n),
        "luminance": g.luma_sum / max(1, g.n),
        "motion": g.flow_mag_sum / g.flow_n if g.flow_n else 0.0,
        "diff": g.diff_sum / g.flow_n if g.flow_n else 0.0,
        "jitter": float(np.sqrt(g.jitter_sum / g.jitter_n)) if g.jitter_n else 0.0,
        "n": float(g.n),
    }


def clip_stats(a: VideoAnalysis, clip: ClipPlan) -> ClipStats:
    segs = [a.segments[i] for i in clip.segments]
    # Scores per shot: a shot's pieces inside this clip are merged first.
    by_shot: dict[int, list[SegmentStats]] = {}
    for g in segs:
        by_shot.setdefault(g.shot_index, []).append(g)
    shot_scores = []
    for parts in by_shot.values():
        merged = SegmentStats(parts[0].start, parts[0].shot_index, 1, 1)
        for g in parts:
            for k in ("n", "sharp_sum", "lapvar_sum", "luma_sum", "flow_n", "flow_mag_sum", "diff_sum", "jitter_n", "jitter_sum"):
                setattr(merged, k, getattr(merged, k) + getattr(g, k))
        shot_scores.append(segment_scores(merged))
    n = sum(g.n for g in segs)
    edge = sum(g.edge_count for g in segs) / max(1, n)
    thumbs = [t for g in segs for _, t in g.thumbs]
    # Very short shots (a flash between cuts) say little about the clip; they still count if alone.
    weighty = [x for x in shot_scores if x["n"] >= 3] or shot_scores
    return ClipStats(
        n_frames=n,
        sharpness=min(x["sharpness"] for x in weighty),
        lapvar=float(np.mean([x["lapvar"] for x in weighty])),
        luminance=min(x["luminance"] for x in weighty),
        motion=min(x["motion"] for x in weighty),
        jitter=max(x["jitter"] for x in weighty),
        shot_scores=shot_scores,
        edge_freq=edge.astype(np.float32),
        thumbs=thumbs,
    )


def motion_level(motion: float, s: CurationSettings) -> str:
    """Coarse motion bucket for rebalancing: static / low / medium / high."""
    if motion < s.static_threshold:
        return "static"
    if motion < 4 * s.static_threshold + 0.5:
        return "low"
    if motion < 2.0:
        return "medium"
    return "high"
