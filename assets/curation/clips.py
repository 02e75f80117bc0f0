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

from assets.curation.analysis import SegmentStats, VideoAnalysis, blur_score
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
    sharpness: float  # min over shots of the log-scaled crisp fraction of kept edge pixels (blur if low)
    lapvar: float  # mean Laplacian variance (reported)
    luminance: float  # min over shots of the 75th-pct kept cell's mean peak luma (low light if low)
    motion: float  # min over shots of mean flow magnitude (px/frame at flow res; motion level)
    change: float  # min over shots of the fraction of frames the most moving kept cell moves in (static if low)
    jitter: float  # max over shots of RMS high-pass global motion
    shot_scores: list[dict[str, float]]
    edge_freq: np.ndarray  # (H, W) fraction of frames each pixel is an edge
    shot_edge_freq: list[np.ndarray]  # per shot, (H, W) edge frequency (overlays are per shot too)
    thumbs: list[np.ndarray]  # (T, T, 3) uint8 RGB, in time order


def cell_mask(crop: tuple[int, int, int, int] | None, w: int, h: int, grid: int) -> np.ndarray:
    """(G, G) bool: the grid cells (of a w x h frame) lying inside `crop`, i.e. the picture kept.

    A cell counts when it lies inside the crop (1 px tolerance), so an overlay's pixels never enter
    a kept cell; if no cell does (a small crop), the cells whose centre is inside; None = all.
    """
    if crop is None:
        return np.ones((grid, grid), bool)
    xe = np.linspace(0, w, grid + 1)
    ye = np.linspace(0, h, grid + 1)
    x0, y0, x1, y1 = crop
    inside_x = (xe[:-1] >= x0 - 1) & (xe[1:] <= x1 + 1)
    inside_y = (ye[:-1] >= y0 - 1) & (ye[1:] <= y1 + 1)
    m = inside_y[:, None] & inside_x[None, :]
    if not m.any():
        cx, cy = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
        m = ((cy >= y0) & (cy < y1))[:, None] & ((cx >= x0) & (cx < x1))[None, :]
    return m if m.any() else np.ones((grid, grid), bool)


def segment_scores(g: SegmentStats, keep: np.ndarray | None = None) -> dict[str, float]:
    """Scores of one segment (or merged shot); `keep` (G, G) bool: cells of the picture to judge.

    Blur, low light and static are judged on cells, leaving out what an overlay covers. Blur asks
    which fraction of the kept edge pixels is crisp (a defocused shot has none, see
    `analysis.CrispEdgeMeter` / `analysis.blur_score`); static asks the most moving cell (a
    small moving subject means the shot is not static; a cell moves in a frame when it changes beyond
    sensor noise or coherently with its previous change, see `analysis.analyse_video`); low light asks the bright part of the
    picture, the 75th percentile over cells of each cell's peak luma (an under-exposed shot has no
    bright quarter, a night scene with lights or a bright sky has; the white text of a subtitle or
    logo that overlay detection missed covers less than a quarter of the cells, measured on world
    seeds 11 + 13: the brightest cell let such shots pass).
    """
    keep = np.ones(g.cell_crisp.shape, bool) if keep is None else keep
    n = max(1, g.n)
    fn = max(1, g.flow_n)
    # Blur leaves out the frames next to a cut (a soft transition may leave a few frames of a sharp
    # neighbour in the segment), unless every frame is next to one (a flash between two cuts).
    crisp, edge = g.cell_crisp[keep], g.cell_edge[keep]
    if g.n > g.cut_n:
        crisp, edge = crisp - g.cut_crisp[keep], edge - g.cut_edge[keep]
    return {
        "sharpness": blur_score(crisp, edge),
        "crisp_fraction": float(crisp.sum() / max(1.0, edge.sum())),
        "lapvar": g.lapvar_sum / n,
        "luminance": float(np.percentile(g.cell_peak[keep] / n, 75)),
        "mean_luma": g.luma_sum / n,
        "motion": g.flow_mag_sum / g.mag_n if g.mag_n else 0.0,
        "change": float((g.cell_change[keep] / fn).max()) if g.flow_n else 0.0,
        "diff": g.diff_sum / g.flow_n if g.flow_n else 0.0,
        "jitter": float(np.sqrt(g.jitter_sum / g.jitter_n)) if g.jitter_n else 0.0,
        "n": float(g.n),
    }


_ADDITIVE = ("n", "cut_n", "sharp_sum", "lapvar_sum", "luma_sum", "flow_n", "mag_n", "flow_mag_sum", "diff_sum", "jitter_n", "jitter_sum")


def merge_segments(parts: list[SegmentStats]) -> SegmentStats:
    """One shot's pieces (a long shot is split into segments) summed into one accumulator."""
    first = parts[0]
    merged = SegmentStats(first.start, first.shot_index, first.h, first.w, grid=first.grid)
    for g in parts:
        for k in _ADDITIVE:
            setattr(merged, k, getattr(merged, k) + getattr(g, k))
        merged.edge_count = merged.edge_count + g.edge_count
        merged.cell_crisp = merged.cell_crisp + g.cell_crisp
        merged.cell_edge = merged.cell_edge + g.cell_edge
        merged.cell_peak = merged.cell_peak + g.cell_peak
        merged.cell_change = merged.cell_change + g.cell_change
        merged.cut_crisp = merged.cut_crisp + g.cut_crisp
        merged.cut_edge = merged.cut_edge + g.cut_edge
    merged.end = parts[-1].end
    return merged


def clip_shots(a: VideoAnalysis, clip: ClipPlan) -> list[SegmentStats]:
    """The clip's shots, each merged from its segments inside the clip, in time order."""
    by_shot: dict[int, list[SegmentStats]] = {}
    for i in clip.segments:
        by_shot.setdefault(a.segments[i].shot_index, []).append(a.segments[i])
    return [merge_segments(parts) for _, parts in sorted(by_shot.items())]


def clip_stats(a: VideoAnalysis, clip: ClipPlan, keep: np.ndarray | None = None) -> ClipStats:
    """Clip scores: per shot (cells in `keep` only), then the worst shot decides each defect."""
    segs = [a.segments[i] for i in clip.segments]
    shots = clip_shots(a, clip)
    shot_scores = [segment_scores(g, keep) for g in shots]
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
        change=min(x["change"] for x in weighty),
        jitter=max(x["jitter"] for x in weighty),
        shot_scores=shot_scores,
        edge_freq=edge.astype(np.float32),
        shot_edge_freq=[(g.edge_count / max(1, g.n)).astype(np.float32) for g in shots],
        thumbs=thumbs,
    )


def motion_level(motion: float, change: float, s: CurationSettings) -> str:
    """Coarse motion bucket for rebalancing: static (nothing changes) / low / medium / high (flow px)."""
    if change < s.static_threshold:
        return "static"
    if motion < 0.5:
        return "low"
    if motion < 2.0:
        return "medium"
    return "high"
