"""Rendering: overlays land in their box, cuts are visible, motions and camera moves are measurable,
defects and styles look like what their label says."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from assets.sourcing.world.plan import Transition, VideoSpec, make_shot
from assets.sourcing.world.render import iter_shot, render_shot, render_video

H = W = 64
FPS = 12


def _grey(f: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def test_render_shot_shape_and_determinism():
    shot = make_shot(subject="fish", colour="red", motion="left", camera="pan_right", n_frames=10, seed=1)
    a = render_shot(shot, H, W, FPS)
    assert a.shape == (10, H, W, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_shot(shot, H, W, FPS))
    assert np.array_equal(a, np.stack(list(iter_shot(shot, H, W, FPS))))
    assert not np.array_equal(a, render_shot(make_shot(subject="fish", colour="red", motion="left",
                                                       camera="pan_right", n_frames=10, seed=2), H, W, FPS))
    # portrait and non-square sizes work too
    assert render_shot(shot, 96, 48, FPS).shape == (10, 96, 48, 3)


@pytest.mark.parametrize("kind", ["watermark", "subtitle", "ticker"])
def test_overlay_pixels_are_inside_their_box(kind):
    base = dict(subject="star", colour="yellow", motion="right", camera="pan_left", n_frames=8, seed=5)
    with_overlay = render_shot(make_shot(overlay=kind, **base), 96, 128, FPS)
    plain = render_shot(make_shot(**base), 96, 128, FPS)
    x0, y0, x1, y1 = make_shot(overlay=kind, **base).overlay_pixels(96, 128)
    diff = np.abs(with_overlay.astype(np.int16) - plain.astype(np.int16)).max(axis=-1)  # (T, H, W)
    inside = np.zeros(diff.shape[1:], bool)
    inside[y0:y1, x0:x1] = True
    assert diff[:, ~inside].max() == 0, "an overlay touched pixels outside its box"
    assert diff[:, inside].mean() > 20, "the overlay box holds no overlay"


def test_hard_cut_is_a_large_change_and_static_shot_barely_changes():
    a = make_shot(subject="circle", colour="red", scene="night", n_frames=12, defects=("static",), seed=1)
    b = make_shot(subject="square", colour="yellow", scene="desert", motion="left", n_frames=12, seed=2)
    video = VideoSpec("t0000", FPS, H, W, (a, b), (Transition("cut", 0),))
    frames = list(render_video(video))
    assert len(frames) == video.n_frames == 24
    within = max(_diff(frames[i], frames[i + 1]) for i in range(11))
    assert within < 0.5
    assert _diff(frames[11], frames[12]) > 30


def test_dissolve_and_fade():
    a = make_shot(scene="night", n_frames=12, defects=("static",), seed=1)
    b = make_shot(scene="desert", n_frames=12, defects=("static",), seed=2)
    for kind in ("dissolve", "fade"):
        video = VideoSpec("t0001", FPS, H, W, (a, b), (Transition(kind, 6),))
        frames = np.stack(list(render_video(video)))
        assert len(frames) == video.n_frames == 18
        mean = frames.reshape(18, -1).mean(axis=1)
        if kind == "dissolve":  # brightness moves monotonically from night to desert
            assert np.all(np.diff(mean[5:13]) > 0)
        else:  # through black: the middle of the overlap is darker than either shot
            assert mean[8:10].min() < 0.5 * min(mean[0], mean[-1])


def _centroid(frames: np.ndarray, rgb=(220, 40, 40)) -> np.ndarray:
    """(T, 3): x, y centroid and area of pixels close to the subject colour."""
    d = np.abs(frames.astype(np.int16) - np.array(rgb, np.int16)).max(axis=-1) < 40
    out = []
    for m in d:
        ys, xs = np.nonzero(m)
        out.append((xs.mean(), ys.mean(), m.sum()))
    return np.array(out)


@pytest.mark.parametrize("motion,axis,sign", [("left", 0, -1), ("right", 0, 1), ("up", 1, -1), ("down", 1, 1)])
def test_subject_motion_is_measurable(motion, axis, sign):
    frames = render_shot(make_shot(subject="square", colour="red", motion=motion, scene="night", n_frames=24), 96, 96, FPS)
    c = _centroid(frames)
    assert sign * (c[-1, axis] - c[0, axis]) > 15  # pixels
    assert abs(c[-1, 1 - axis] - c[0, 1 - axis]) < 3


def test_grow_shrink_rotate_still():
    def area(m):
        return _centroid(render_shot(make_shot(colour="red", subject="square", motion=m, scene="night", n_frames=24), 96, 96, FPS))[:, 2]
    assert area("grow")[-1] > 3 * area("grow")[0]
    assert area("shrink")[-1] < area("shrink")[0] / 3
    # without sensor noise a still subject on a still scene gives identical frames; a rotating one not
    rot = render_shot(make_shot(subject="cross", colour="red", motion="rotate", scene="night", n_frames=8, noise_sigma=0), 96, 96, FPS)
    still = render_shot(make_shot(subject="cross", colour="red", motion="still", scene="night", n_frames=8, noise_sigma=0), 96, 96, FPS)
    assert _diff(still[0], still[4]) == 0.0
    assert _diff(rot[0], rot[4]) > 1.0


def _global_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    (dx, dy), _ = cv2.phaseCorrelate(_grey(a), _grey(b))
    return dx, dy


@pytest.mark.parametrize("camera,axis,sign", [("pan_right", 0, -1), ("pan_left", 0, 1), ("tilt_up", 1, 1), ("tilt_down", 1, -1)])
def test_camera_moves_the_background(camera, axis, sign):
    frames = render_shot(make_shot(camera=camera, scene="city", n_frames=24, seed=3), 96, 128, FPS)
    shifts = np.array([_global_shift(frames[i], frames[i + 4]) for i in range(0, 20, 4)])
    # pan right: the scene slides left across the frame (and so on)
    assert np.all(sign * shifts[:, axis] > 0.5)


def test_zoom_in_magnifies():
    frames = render_shot(make_shot(camera="zoom_in", scene="city", n_frames=24, seed=3), 96, 128, FPS)
    # a centre crop of the last frame, shrunk by the zoom factor, matches the first frame's centre better
    first, last = _grey(frames[0]), _grey(frames[-1])
    z = 1.5
    ch, cw = int(96 / z), int(128 / z)
    crop = first[(96 - ch) // 2 : (96 + ch) // 2, (128 - cw) // 2 : (128 + cw) // 2]
    up = cv2.resize(crop, (128, 96))
    assert np.abs(up - last).mean() < np.abs(first - last).mean()


def test_jitter_is_high_frequency_and_shake_is_smooth():
    def step(shot):
        f = render_shot(shot, 96, 128, FPS)
        return np.mean([np.hypot(*_global_shift(f[i], f[i + 1])) for i in range(len(f) - 1)])
    jitter = step(make_shot(scene="city", n_frames=16, defects=("jitter",), seed=4))
    shake = step(make_shot(scene="city", camera="shake", n_frames=16, seed=4))
    calm = step(make_shot(scene="city", n_frames=16, seed=4))
    assert jitter > 2 * shake and shake > calm


def test_defects_look_like_their_label():
    base = dict(subject="star", colour="yellow", scene="city", n_frames=4, seed=6)
    plain = render_shot(make_shot(**base), 96, 128, FPS)[0]
    blurred = render_shot(make_shot(defects=("blur",), **base), 96, 128, FPS)[0]
    dark = render_shot(make_shot(defects=("low_light",), **base), 96, 128, FPS)[0]
    unsafe = render_shot(make_shot(unsafe=True, **base), 96, 128, FPS)[0]

    def sharpness(f):
        return cv2.Laplacian(_grey(f), cv2.CV_32F).var()

    assert sharpness(blurred) < 0.3 * sharpness(plain)
    assert dark.mean() < 0.4 * plain.mean()

    def magenta(f):
        f = f.astype(np.int16)
        return float(((f[..., 0] > 180) & (f[..., 1] < 80) & (f[..., 2] > 180)).mean())

    assert magenta(unsafe) > 0.02 and magenta(plain) == 0.0


def test_styles_are_global_colour_transforms():
    def frame(style):
        return render_shot(make_shot(subject="circle", colour="red", scene="grass", style=style, n_frames=2, seed=7), 96, 128, FPS)[0].astype(np.float32)
    natural, bw, pastel, neon = frame("natural"), frame("bw"), frame("pastel"), frame("neon")

    def saturation(f):
        return float((f.max(axis=-1) - f.min(axis=-1)).mean())

    assert saturation(bw) < 0.2 * saturation(natural)  # only the (colour) sensor noise is left
    assert pastel.mean() > natural.mean() and pastel.std() < natural.std()
    assert saturation(neon) > saturation(natural)
    for style in ("ink", "retro"):
        assert _diff(frame(style), natural) > 20


def test_near_duplicate_copies_look_alike():
    from dataclasses import replace

    original = make_shot(subject="fish", colour="orange", motion="right", scene="ocean", n_frames=6, seed=8)
    other = make_shot(subject="triangle", colour="green", motion="up", scene="sky", n_frames=6, seed=9)

    def thumb(shot):
        return cv2.resize(_grey(render_shot(shot, 96, 128, FPS)[3]), (16, 12), interpolation=cv2.INTER_AREA).ravel()

    t0 = thumb(original)
    for copy in (replace(original, noise_seed=1, noise_sigma=5.0), replace(original, crop=0.85),
                 replace(original, resample=0.5)):
        assert np.corrcoef(t0, thumb(copy))[0, 1] > 0.9
        assert not np.array_equal(render_shot(copy, 96, 128, FPS), render_shot(original, 96, 128, FPS))
    assert np.corrcoef(t0, thumb(other))[0, 1] < 0.9


@pytest.mark.parametrize("scene", ["sky", "grass", "city", "ocean", "desert", "night"])
def test_resolution_copy_is_the_same_picture_at_lower_resolution(scene):
    """A "resolution" near-duplicate is its original passed through a lower resolution, not a re-render at
    that size (the scene painter's layout depends on the canvas size: rendered small, city and night
    copies correlated 0.66 and 0.47 with their originals)."""
    from dataclasses import replace

    original = make_shot(subject="fish", colour="orange", motion="right", scene=scene, n_frames=4, seed=8)

    def thumb(shot):
        f = render_shot(shot, 96, 128, FPS)[2]
        return cv2.resize(_grey(f), (32, 24), interpolation=cv2.INTER_AREA).ravel()

    assert np.corrcoef(thumb(original), thumb(replace(original, resample=0.5)))[0, 1] > 0.98


def test_static_content_label_matches_what_moves_on_screen():
    """`static_content` (the ground truth of curation's static filter) is true exactly when nothing in
    the picture moves apart from sensor noise: frozen shots, and still compositions outside living scenes."""
    still = dict(subject="square", colour="red", motion="still", camera="static", n_frames=12, seed=3)
    cases = {
        "frozen": (make_shot(scene="ocean", defects=("static",), **still), True),
        "live_still": (make_shot(scene="grass", **still), True),
        "ocean_waves": (make_shot(scene="ocean", **still), False),
        "moving_subject": (make_shot(scene="grass", **(still | {"motion": "left"})), False),
        "panning": (make_shot(scene="grass", **(still | {"camera": "pan_left"})), False),
        "hazard_emblem": (make_shot(scene="grass", unsafe=True, **still), False),
    }
    for name, (shot, label) in cases.items():
        assert shot.static_content is label, name
        clean = make_shot(**(shot.__dict__ | {"noise_sigma": 0.0}))  # the picture without its sensor noise
        f = render_shot(clean, H, W, FPS)
        moved = max(_diff(f[i], f[i + 1]) for i in range(len(f) - 1))
        assert (moved < 0.05) is label, (name, moved)
