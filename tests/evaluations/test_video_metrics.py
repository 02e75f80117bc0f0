"""Weight-free video metrics on videos whose answer is known by construction."""

import cv2
import numpy as np
import pytest

from evaluations import video_metrics as VM
from evaluations.shot_count import detect_cuts, equal_spans, shot_spans


def moving_square(t=16, size=48, step=1.5, jitter=0, seed=0):
    rng = np.random.default_rng(seed)
    v = np.zeros((t, size, size, 3), np.uint8)
    v[..., 2] = 120
    for i in range(t):
        x = int(8 + step * i + (rng.integers(-jitter, jitter + 1) if jitter else 0))
        v[i, 18:30, x : x + 10] = (220, 40, 40)
    return v


@pytest.fixture(scope="module")
def videos():
    rng = np.random.default_rng(0)
    smooth = moving_square()
    flicker = smooth.copy()
    flicker[::2] = np.clip(flicker[::2].astype(int) + 60, 0, 255)
    return {
        "smooth": smooth,
        "jitter": moving_square(jitter=5),
        "static": np.repeat(smooth[:1], 16, 0),
        "noise": rng.integers(0, 255, (16, 48, 48, 3), dtype=np.uint8),
        "flicker": flicker,
        "blur": np.stack([cv2.GaussianBlur(f, (9, 9), 3) for f in smooth]),
    }


def test_flicker_orders_videos(videos):
    f = {k: VM.temporal_flicker(v) for k, v in videos.items()}
    assert f["static"] == pytest.approx(1.0)
    assert f["smooth"] > 0.98
    assert f["flicker"] < f["smooth"] - 0.3


def test_dynamic_degree_separates_static_from_moving(videos):
    assert not VM.dynamic_degree(videos["static"]).dynamic
    d = VM.dynamic_degree(videos["smooth"])
    assert d.dynamic
    # the square moves 1.5 px/frame; top-5% flow ~1.5 px over a 67.9 px diagonal ~ 0.022
    assert 0.012 < d.magnitude < 0.035


def test_smoothness_and_warping_prefer_smooth_motion(videos):
    s = {k: VM.motion_smoothness(v) for k, v in videos.items()}
    w = {k: VM.warping_error(v) for k, v in videos.items()}
    assert s["smooth"] > s["jitter"] > s["noise"]
    assert s["smooth"] > 0.99
    assert w["smooth"] < 0.01 < w["noise"]


def test_aesthetic_proxy_prefers_clean_sharp_frames(videos):
    a = {k: VM.aesthetic_proxy(v) for k, v in videos.items()}
    assert a["smooth"] > a["blur"]
    assert a["smooth"] > a["noise"] + 0.3


def test_preservation_against_input_frame(videos):
    smooth = videos["smooth"]
    same = VM.preservation(smooth, smooth[0])
    other = VM.preservation(videos["noise"], smooth[0])
    assert same.backend == "proxy:ssim_histogram"
    assert same.first_frame == pytest.approx(1.0)
    assert same.score > 0.9 > 0.2 > other.score


def test_cut_detection_on_frames(videos):
    a = videos["smooth"]
    b = 255 - videos["smooth"]
    video = np.concatenate([a[:10], b[:10], a[:10]])
    assert detect_cuts(video, 8) == [10, 20]
    assert detect_cuts(videos["smooth"], 8) == []
    assert shot_spans(30, [10, 20]) == [(0, 10), (10, 20), (20, 30)]
    assert equal_spans(10, 3) == [(0, 3), (3, 7), (7, 10)]
