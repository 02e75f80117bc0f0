"""Segmentation plans (multi-shot clips, max length, remnants) and frame-exact, reproducible clip files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assets.curation.analysis import SegmentStats, VideoAnalysis, analyse_video
from assets.curation.clipio import ClipRange, probe_frames, write_clips
from assets.curation.clips import plan_clips
from assets.curation.settings import CurationSettings


def _fake(segs: list[tuple[int, int, int]], fps: float = 10.0) -> VideoAnalysis:
    out = []
    for start, end, shot in segs:
        g = SegmentStats(start, shot, 2, 2)
        g.end, g.n = end, end - start
        out.append(g)
    return VideoAnalysis(segs[-1][1], fps, 4, 4, 2, 2, [], [], out)


def test_plan_packs_shots_keeps_boundaries_and_drops_remnants() -> None:
    s = CurationSettings(max_clip_s=5.0, min_clip_s=1.0, max_shots_per_clip=3)
    # shots: 0-20, 20-35, 35-60 | long shot 60-114 split at 50 frames | 114-118: remnant 110-118 < 1 s
    a = _fake([(0, 20, 0), (20, 35, 1), (35, 60, 2), (60, 110, 3), (110, 114, 3), (114, 118, 4)])
    clips, dropped = plan_clips(a, s)
    assert [(c.start, c.end) for c in clips] == [(0, 35), (35, 60), (60, 110)]
    assert clips[0].shot_boundaries == [0, 20]  # two shots, second starts 20 frames in
    assert [(d.start, d.end, d.reason) for d in dropped] == [(110, 118, "too_short")]
    # Every frame is in a clip or a dropped remnant.
    assert sum(c.end - c.start for c in clips) + sum(d.end - d.start for d in dropped) == 118
    one = plan_clips(a, s.model_copy(update={"max_shots_per_clip": 1}))[0]
    assert all(len(c.shot_boundaries) == 1 for c in one)


def test_write_clips_frame_exact_and_byte_reproducible(defect_video, tmp_path: Path) -> None:
    src = defect_video[0]
    a = analyse_video(src, CurationSettings(analysis_width=128))
    clips, _ = plan_clips(a, CurationSettings(max_clip_s=5.0, max_shots_per_clip=2))
    digests = []
    for run in range(2):
        ranges = [ClipRange(c.start, c.end, tmp_path / f"r{run}_{i}.mp4", (10, 10, 106, 58) if i == 1 else None) for i, c in enumerate(clips)]
        written = write_clips(src, ranges)
        assert written == [c.end - c.start for c in clips]
        digests.append([hashlib.sha256(r.out.read_bytes()).hexdigest() for r in ranges])
    assert digests[0] == digests[1]  # same bytes on every run (equal manifests across executors)
    n, fps, w, h = probe_frames(tmp_path / "r0_1.mp4")
    assert (n, w, h) == (clips[1].end - clips[1].start, 96, 48) and fps == 12.0


def test_blur_leaves_out_the_frames_next_to_a_cut() -> None:
    """A blurred shot whose segment starts with two frames of a sharp neighbour (a fade's cut found
    mid-transition): judged on all frames it looks sharp, without the near-cut frames it is blurred;
    a segment made only of near-cut frames (a flash) is judged on all of them."""
    from assets.curation.clips import segment_scores

    s = CurationSettings()
    g = SegmentStats(0, 0, 8, 8)
    g.n, g.cut_n = 20, 3
    g.cell_edge[:] = 100.0 * 20  # 100 edge pixels per cell and frame
    g.cut_edge[:] = 100.0 * 3
    g.cell_crisp[:] = 8.0 * 2 + 0.01 * 18  # the neighbour's 2 frames: 8 % crisp; the shot's: 0.01 %
    g.cut_crisp[:] = 8.0 * 2 + 0.01
    assert (g.cell_crisp.sum() / g.cell_edge.sum()) > 0.005  # all frames: sharp
    assert segment_scores(g)["sharpness"] < s.blur_threshold
    g.cut_n, g.cut_crisp, g.cut_edge = g.n, g.cell_crisp.copy(), g.cell_edge.copy()
    assert segment_scores(g)["sharpness"] > s.blur_threshold
