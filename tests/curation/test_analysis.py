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
    # Blur counts keep the frames within blur_cut_margin_s (3 frames at 12 fps) of a cut apart.
    m = round(S.blur_cut_margin_s * analysis.fps)
    assert [g.cut_n for g in analysis.segments] == [m] + [2 * m] * 4 + [m]
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


def test_column_medians_match_numpy() -> None:
    """The camera path's median (the jitter signal), a block of frames at once, is numpy's per
    frame, bit for bit, odd and even counts."""
    import numpy as np

    from assets.curation.analysis import column_medians

    rng = np.random.default_rng(0)
    for n in (1, 2, 575, 576):
        v = np.round(rng.normal(size=(5, n, 2)), 1).astype(np.float32)  # (frames, samples, xy)
        got = column_medians(v)
        assert got.dtype == np.float32
        assert all(np.array_equal(got[i], np.median(v[i], axis=0)) for i in range(5))


def test_farneback_flow_still_separates_jitter(defect_video) -> None:
    """`flow_method: farneback` (the reference, with its own threshold scale) finds the shaky shot too."""
    s = S.model_copy(update={"flow_method": "farneback", "jitter_threshold": 0.5})
    sc = [segment_scores(g) for g in analyse_video(defect_video[0], s).segments]
    jitter = sc[2]["jitter"]
    assert jitter > s.jitter_threshold > max(x["jitter"] for i, x in enumerate(sc) if i != 2)


def _noisy_clip(path: Path, speed: float, frames: int = 36, w: int = 256, h: int = 144) -> Path:
    """A still textured picture under fresh sensor noise (sigma 3 grey levels) every frame, H.264 at
    crf 12 (so that much of the noise survives); `speed` > 0 adds a disc drifting right by that many
    px per frame."""
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    tex = cv2.resize(rng.integers(60, 200, (h // 16, w // 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=24)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"crf": "12", "preset": "veryfast", "g": "48"}
        for t in range(frames):
            img = tex.copy()
            if speed:  # anti-aliased, sub-pixel position (4 fractional bits)
                cv2.circle(img, (int((40 + speed * t) * 16), h // 2 * 16), 12 * 16, (240, 240, 240), -1, cv2.LINE_AA, 4)
            img = np.clip(img + rng.normal(0.0, 3.0, img.shape), 0, 255).astype(np.uint8)
            for p in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in st.encode():
            out.mux(p)
    return path


def test_static_separates_sensor_noise_from_slow_motion(tmp_path: Path) -> None:
    """A live shot where nothing moves changes only by sensor noise: static, although the noise
    alone makes some cell cross the old change level (0.5 grey levels, no coherence test) in most
    frames. A disc drifting a quarter pixel per frame (1/16 px at flow width): not static."""
    still = analyse_video(_noisy_clip(tmp_path / "still.mp4", 0.0), S)
    slow = analyse_video(_noisy_clip(tmp_path / "slow.mp4", 0.25), S)
    assert len(still.segments) == len(slow.segments) == 1
    c_still, c_slow = (segment_scores(a.segments[0])["change"] for a in (still, slow))
    assert c_still < S.static_threshold < c_slow
    old = S.model_copy(update={"change_level": 0.5, "coherence_level": 1e9})
    assert segment_scores(analyse_video(tmp_path / "still.mp4", old).segments[0])["change"] > 0.52


@pytest.mark.parametrize(("width", "rotation"), [(128, 0), (96, 0), (128, 90)])
def test_block_size_does_not_change_the_analysis(defect_video, monkeypatch, width: int, rotation: int) -> None:
    """The pass computes the every-frame signals a block of frames at a time (stacked OpenCV / numpy
    calls, reused buffers): the bytes are the same with blocks of 1 frame (frame by frame), 3 (a
    partial last block) or the default, with the flow resize stacked (128 px: an integer 2x ratio)
    or per frame (96 px and the rotated portrait frame: fractional ratios)."""
    import assets.curation.analysis as analysis_mod

    s = S.model_copy(update={"analysis_width": width})
    default = analysis_to_bytes(analyse_video(defect_video[0], s, rotation=rotation))
    for block in (1, 3):
        monkeypatch.setattr(analysis_mod, "BLOCK_FRAMES", block)
        assert analysis_to_bytes(analyse_video(defect_video[0], s, rotation=rotation)) == default, block


def test_appearance_stride_holds_measured_frames(defect_video, analysis) -> None:
    """Blur / low-light signals measured on every 4th frame, overlay edge maps on every 2nd, each held
    in between (the defaults): every frame still counts once, the every-frame signals (cuts, flow,
    change) are untouched, and the defects separate as when every frame is measured."""
    import numpy as np

    assert (S.appearance_stride, S.edge_stride) == (4, 2)
    full = analyse_video(defect_video[0], S, appearance_stride=1)
    assert full.cuts == analysis.cuts and len(full.segments) == len(analysis.segments)
    for a, b in zip(full.segments, analysis.segments, strict=True):
        assert (a.n, a.cut_n, a.flow_n, a.jitter_sum, a.diff_sum) == (b.n, b.cut_n, b.flow_n, b.jitter_sum, b.diff_sum)
        assert np.array_equal(a.cell_change, b.cell_change)
        assert b.edge_count.max() <= b.n and b.cell_edge.sum() > 0  # held, not double-counted
        sa, sb = segment_scores(a), segment_scores(b)
        # (a defocused shot's few crisp pixels move its log-scaled score by ~0.05 near 0; threshold 0.38)
        assert abs(sa["sharpness"] - sb["sharpness"]) < 0.1 and abs(sa["luminance"] - sb["luminance"]) < 3.0
        assert (sa["sharpness"] < S.blur_threshold) == (sb["sharpness"] < S.blur_threshold)
    # The two strides are independent: the edge maps do not depend on the blur stride, nor the other way.
    edges1 = analyse_video(defect_video[0], S, edge_stride=1)
    for a, b, c in zip(full.segments, analysis.segments, edges1.segments, strict=True):
        assert np.array_equal(a.edge_count, b.edge_count) and np.array_equal(b.cell_crisp, c.cell_crisp)
        assert c.edge_count.max() <= c.n
    # A stride longer than every run measures each run's first frame once and holds it.
    once = analyse_video(defect_video[0], S, appearance_stride=10_000)
    for g in once.segments:
        far = g.n - g.cut_n
        crisp_far = g.cell_crisp - g.cut_crisp
        assert far > 0 and np.all(crisp_far % far == 0) and np.all(g.cut_crisp % max(1, g.cut_n) == 0)
