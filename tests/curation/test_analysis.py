"""The single decode pass: cuts, per-shot signals, cache bytes, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from videos import Shot, write_video

from assets.curation.analysis import DecodeError, analyse_video
from assets.curation.cache import analysis_from_bytes, analysis_to_bytes, cache_key
from assets.curation.clips import cell_mask, segment_scores
from assets.curation.overlays import best_crop, detect_overlays, scale_box
from assets.curation.settings import CurationSettings

S = CurationSettings(analysis_width=128)


@pytest.fixture(scope="module")
def analysis(defect_video):
    return analyse_video(defect_video[0], S)


def test_cuts_are_exact_and_signals_separate_defects(analysis, defect_video) -> None:
    assert analysis.cuts == defect_video[1]  # hard cuts to the frame
    assert analysis.n_frames == 174 and len(analysis.segments) == 6
    sc = [segment_scores(g) for g in analysis.segments]
    clean, blur, jitter, static, dark, overlay = sc
    assert blur["sharpness"] < S.blur_threshold < min(clean["sharpness"], jitter["sharpness"], static["sharpness"])
    assert jitter["jitter"] > S.jitter_threshold > max(x["jitter"] for x in (clean, blur, static, overlay))
    assert static["change"] < S.static_threshold < min(x["change"] for x in (clean, blur, jitter, dark, overlay))
    assert dark["luminance"] < S.low_light_threshold < min(x["luminance"] for x in (clean, blur, jitter, static))
    # Thumbnails: a bounded, evenly spaced reservoir per segment.
    assert all(1 <= len(g.thumbs) <= S.thumbs_per_segment for g in analysis.segments)


def test_analysis_bytes_roundtrip_and_are_deterministic(analysis, defect_video) -> None:
    data = analysis_to_bytes(analysis)
    again = analysis_to_bytes(analyse_video(defect_video[0], S))
    assert data == again  # same video + settings -> same bytes (the cache is content-addressed)
    back = analysis_from_bytes(data)
    assert back.cuts == analysis.cuts and analysis_to_bytes(back) == data
    assert cache_key("ab" * 32, S.fingerprint()) != cache_key("ab" * 32, S.model_copy(update={"analysis_width": 96}).fingerprint())


def test_broken_files_raise_decode_error(tmp_path: Path) -> None:
    bad = tmp_path / "noise.mp4"
    bad.write_bytes(b"\x00\x01not a video" * 100)
    with pytest.raises(DecodeError):
        analyse_video(bad, S)


def test_truncated_video_keeps_decodable_frames(defect_video, tmp_path: Path) -> None:
    data = defect_video[0].read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    try:
        a = analyse_video(cut, S)
    except DecodeError:
        return  # moov atom at the end: nothing decodable is also a valid outcome (quarantine)
    assert 0 < a.n_frames <= 174


def test_overlay_cells_are_left_out_of_the_scores(tmp_path: Path) -> None:
    """A blurred shot and a dark shot, each under a sharp, white burnt-in caption: judged on the
    whole frame the caption's crisp glyphs hide the blur and its white pixels are the brightest
    cells; judged on the cells the crop keeps, each defect is found."""
    cap = (8, 54, 120, 70)
    path = write_video(tmp_path / "captioned.mp4", [Shot(36, 60, blur=True, overlay=cap), Shot(36, 120, dark=True, overlay=cap)])
    a = analyse_video(path, S)
    blurred, dark = a.segments
    sx, sy = a.width / a.analysis_w, a.height / a.analysis_h
    kept = []
    for g in (blurred, dark):
        boxes = [scale_box(o.box, sx, sy, a.width, a.height, S.overlay_pad) for o in detect_overlays(g.edge_count / g.n, S)]
        crop = best_crop(boxes, a.width, a.height, S)
        assert boxes and crop is not None
        kept.append(segment_scores(g, cell_mask(crop, a.width, a.height, g.grid)))
    assert segment_scores(blurred)["sharpness"] >= S.blur_threshold > kept[0]["sharpness"]
    assert (dark.cell_peak / dark.n).max() > 200 and kept[1]["luminance"] < S.low_light_threshold


def test_analysis_does_not_depend_on_the_opencv_thread_count(defect_video) -> None:
    """The process pool runs OpenCV on one thread, Ray workers on several: same bytes either way."""
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = analysis_to_bytes(analyse_video(defect_video[0], S))
        cv2.setNumThreads(4)
        many = analysis_to_bytes(analyse_video(defect_video[0], S))
    finally:
        cv2.setNumThreads(before)
    assert one == many
