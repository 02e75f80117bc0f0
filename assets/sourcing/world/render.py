"""Rendering shots and videos of the synthetic world to RGB frames.

Public API
- `iter_shot(shot, height, width, fps) -> Iterator[(H, W, 3) uint8]`: the frames of one shot.
- `render_shot(shot, height, width, fps) -> (T, H, W, 3) uint8` (T = shot.n_frames), e.g.
  `render_shot(make_shot(subject="fish", colour="red", motion="left", camera="pan_right"), 64, 64, 12)`.
- `render_video(video) -> Iterator[(H, W, 3) uint8]`: the whole raw video with its transitions
  (dissolves blend the overlapping frames, fades go through black inside the overlap);
  yields exactly `video.n_frames` frames.
- `make_shot`, `sample_shot` are re-exported from `plan` for convenience.

The model of a shot: a textured scene canvas larger than the frame is the world; subjects live in world
coordinates; the camera (centre c(t), zoom z(t)) maps world to screen, screen = (world - c) * z + centre,
so pans, tilts, zooms and shake move the background and the subjects coherently, and a subject's
labelled motion is its motion relative to the scene. Per frame: scene -> subjects -> camera warp ->
style -> unsafe emblem -> blur -> low light -> jitter -> sensor noise -> near-duplicate crop/resample ->
overlay (last, so the overlay box is exact in the output frame).

Speeds (so motions are measurable by optical flow): a pan covers 35% of the frame width over the shot,
a tilt 30% of the height, zooms change scale by 1.5x; left/right/up/down subjects travel 40% of the
frame, orbits take 3 s a turn at 15% of the short side, bounces 0.8 s at 25% of the height,
grow/shrink scale 0.6x <-> 1.45x, rotate takes 2.5 s a turn.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import cv2
import numpy as np

from assets.sourcing.world import defects as D
from assets.sourcing.world.overlays import OverlayPainter
from assets.sourcing.world.plan import ShotSpec, VideoSpec, make_shot, sample_shot, stable_seed
from assets.sourcing.world.scenes import animate_scene, paint_scene
from assets.sourcing.world.styles import apply_style
from assets.sourcing.world.subjects import draw_subject
from assets.sourcing.world.vocabulary import COLOUR_RGB

__all__ = ["iter_shot", "render_shot", "render_video", "make_shot", "sample_shot"]

PAN_FRACTION, TILT_FRACTION, ZOOM_FACTOR = 0.35, 0.30, 1.5
SHAKE_FRACTION = 0.025
MOVE_FRACTION = 0.40
JITTER_FRACTION = 0.05

# Screen anchors (fractions of the frame) of 1, 2 or 3 subjects, spread so they rarely overlap.
_ANCHORS = {
    1: [(0.5, 0.5)],
    2: [(0.3, 0.38), (0.7, 0.64)],
    3: [(0.22, 0.3), (0.5, 0.7), (0.78, 0.34)],
}


def _camera_path(camera: str, n: int, fps: int, h: int, w: int, rng: np.random.Generator, frozen: bool):
    """Camera centre offsets (n, 2) in pixels relative to the mid-shot centre, and zoom (n,)."""
    u = np.full(n, 0.5) if frozen else (np.arange(n) / max(n - 1, 1))
    t = np.zeros(n) if frozen else np.arange(n) / fps
    c = np.zeros((n, 2))
    z = np.ones(n)
    if camera == "pan_left":
        c[:, 0] = -PAN_FRACTION * w * (u - 0.5)
    elif camera == "pan_right":
        c[:, 0] = PAN_FRACTION * w * (u - 0.5)
    elif camera == "tilt_up":
        c[:, 1] = -TILT_FRACTION * h * (u - 0.5)
    elif camera == "tilt_down":
        c[:, 1] = TILT_FRACTION * h * (u - 0.5)
    elif camera == "zoom_in":
        z = ZOOM_FACTOR**u
    elif camera == "zoom_out":
        z = ZOOM_FACTOR ** (1 - u)
    elif camera == "shake":  # smooth handheld sway, two incommensurate frequencies near 1 Hz
        f = rng.uniform(0.7, 1.3, size=2)
        ph = rng.uniform(0, 2 * np.pi, size=4)
        a = SHAKE_FRACTION * min(h, w)
        c[:, 0] = a * (np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.4 * np.sin(2 * np.pi * 2.3 * f[0] * t + ph[1]))
        c[:, 1] = a * (np.sin(2 * np.pi * f[1] * t + ph[2]) + 0.4 * np.sin(2 * np.pi * 1.9 * f[1] * t + ph[3]))
    return c, z


def _subject_path(motion: str, n: int, fps: int, h: int, w: int, rng: np.random.Generator, frozen: bool):
    """Offsets (n, 2) in pixels from the anchor, scale (n,), rotation angle (n,) of one subject."""
    u = np.full(n, 0.5) if frozen else (np.arange(n) / max(n - 1, 1))
    t = np.zeros(n) if frozen else np.arange(n) / fps
    off = np.zeros((n, 2))
    scale = np.ones(n)
    angle = np.zeros(n)
    s = min(h, w)
    if motion == "left":
        off[:, 0] = -MOVE_FRACTION * w * (u - 0.5)
    elif motion == "right":
        off[:, 0] = MOVE_FRACTION * w * (u - 0.5)
    elif motion == "up":
        off[:, 1] = -MOVE_FRACTION * h * (u - 0.5)
    elif motion == "down":
        off[:, 1] = MOVE_FRACTION * h * (u - 0.5)
    elif motion == "orbit":
        a = rng.uniform(0, 2 * np.pi) + 2 * np.pi * t / 3.0
        off[:, 0], off[:, 1] = 0.15 * s * np.cos(a), 0.15 * s * np.sin(a)
    elif motion == "bounce":
        off[:, 1] = 0.25 * h * (0.5 - np.abs(np.sin(np.pi * t / 0.8)))
    elif motion == "grow":
        scale = 0.6 * (1.45 / 0.6) ** u
    elif motion == "shrink":
        scale = 1.45 * (0.6 / 1.45) ** u
    elif motion == "rotate":
        angle = 2 * np.pi * t / 2.5
    return off, scale, angle


class _ShotRenderer:
    """Precomputes a shot's canvas and trajectories; `frame(i)` renders frame i as float32 RGB."""

    def __init__(self, shot: ShotSpec, height: int, width: int, fps: int):
        self.shot, self.h, self.w, self.fps = shot, height, width, fps
        n = shot.n_frames
        self.frozen = "static" in shot.defects
        rng = np.random.default_rng(stable_seed(shot.seed, "layout"))
        h, w = height, width
        self.unit = float(min(h, w))
        cam_off, self.zoom = _camera_path(shot.camera, n, fps, h, w, rng, self.frozen)
        # Canvas: the union of every view rectangle (view half-size = frame / (2 z)) plus a margin.
        half = np.stack([w / (2 * self.zoom), h / (2 * self.zoom)], axis=1)  # (n, 2)
        lo, hi = (cam_off - half).min(axis=0) - 4, (cam_off + half).max(axis=0) + 4
        self.origin = -lo  # world coordinate of the mid-shot view centre on the canvas
        cw, ch = int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1]))
        self.centre = cam_off + self.origin  # (n, 2) camera centre on the canvas
        horizon = self.origin[1] + float(rng.uniform(0.05, 0.2)) * h
        self.canvas, self.scene_state = paint_scene(shot.scene, ch, cw, horizon, self.unit, rng)
        # Subjects: anchored on screen at mid-shot, moving in the world.
        zmid = float(self.zoom[n // 2])
        cmid = self.centre[n // 2]
        anchors = _ANCHORS[shot.count]
        size = {1: 0.14, 2: 0.115, 3: 0.1}[shot.count] * self.unit
        self.subjects = []
        for k, sub in enumerate(shot.subjects):
            ax, ay = anchors[k]
            anchor = np.array([(ax + rng.uniform(-0.05, 0.05)) * w, (ay + rng.uniform(-0.05, 0.05)) * h])
            radius = size * rng.uniform(0.9, 1.1)
            off, scale, angle = _subject_path(sub.motion, n, fps, h, w, rng, self.frozen)
            world = cmid + (anchor - np.array([w / 2, h / 2]) + off) / zmid  # (n, 2)
            world = self._keep_in_frame(world, radius * scale, zmid)
            facing_right = sub.motion == "right" or (sub.motion not in ("left",) and rng.random() < 0.5)
            self.subjects.append((sub, world, radius * scale, angle, facing_right))
        # Unsafe emblem: drifting slowly across one side of the frame, flashing.
        if shot.unsafe:
            self.emblem_size = int(0.4 * self.unit)
            start = np.array([rng.uniform(0.05, 0.5) * w, rng.uniform(0.05, 0.45) * h])
            drift = rng.normal(0, 0.1 * self.unit, size=2)
            u = np.full(n, 0.5) if self.frozen else np.arange(n) / max(n - 1, 1)
            self.emblem_xy = start[None] + (u[:, None] - 0.5) * drift[None]
        self.noise_rng = np.random.default_rng(shot.noise_seed)
        self.jitter_xy = self.noise_rng.uniform(-1, 1, size=(n, 2)) * JITTER_FRACTION * self.unit
        self.noise_bank: np.ndarray | None = None

    def _keep_in_frame(self, world: np.ndarray, radius: np.ndarray, zmid: float) -> np.ndarray:
        """Shift a subject's whole trajectory (in the world) so its screen path stays inside the frame."""
        for _ in range(2):
            screen = (world - self.centre) * self.zoom[:, None] + np.array([self.w / 2, self.h / 2])
            r = (radius * self.zoom)[:, None]
            lo, hi = (screen - r).min(axis=0), (screen + r).max(axis=0)
            size = np.array([self.w, self.h], dtype=np.float64)
            fix = np.where(hi - lo > size, (size - (hi + lo)) / 2, np.clip(0 - lo, 0, None) + np.clip(size - hi, None, 0))
            world = world + fix / zmid
        return world

    def frame(self, i: int) -> np.ndarray:
        shot, h, w = self.shot, self.h, self.w
        t = 0.0 if self.frozen else i / self.fps
        canvas = animate_scene(shot.scene, self.canvas, self.scene_state, t)
        z, (cx, cy) = float(self.zoom[i]), self.centre[i]
        m = np.float32([[z, 0, w / 2 - z * cx], [0, z, h / 2 - z * cy]])  # canvas -> screen
        img = cv2.warpAffine(canvas, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        for sub, world, radius, angle, facing_right in self.subjects:
            sx, sy = (world[i] - self.centre[i]) * z + np.array([w / 2, h / 2])
            draw_subject(img, sub.subject, COLOUR_RGB[sub.colour], sx, sy, radius[i] * z, angle[i], facing_right)
        img = apply_style(img, shot.style, self.unit)
        if shot.unsafe:
            phase = 0 if self.frozen else int(t / 0.25) % 2
            patch, alpha = D.hazard_emblem(self.emblem_size, phase)
            ex, ey = self.emblem_xy[i]
            D.paste(img, patch, alpha, int(round(ex)), int(round(ey)))
        if "blur" in shot.defects:
            img = D.blur(img, self.unit)
        sigma = shot.noise_sigma
        if "low_light" in shot.defects:
            img = D.low_light(img)
            sigma *= 3.0
        if "jitter" in shot.defects:
            img = D.shift(img, *self.jitter_xy[i])
        if sigma > 0:
            img = img + sigma * self._noise(i)
        return img

    def _noise(self, i: int) -> np.ndarray:
        """Unit sensor noise for frame i: a random window of a small bank of noise images (drawing
        fresh Gaussian noise per frame dominated the render time); the same window in a static shot."""
        h, w = self.h, self.w
        if self.noise_bank is None:
            # (2, H + 32, W + 32, 3) unit Gaussian noise
            self.noise_bank = self.noise_rng.standard_normal((2, h + 32, w + 32, 3), dtype=np.float32)
            self.noise_windows = self.noise_rng.integers(0, 33, size=(self.shot.n_frames, 3))
        k, oy, ox = self.noise_windows[0 if self.frozen else i]
        return self.noise_bank[k % 2, oy : oy + h, ox : ox + w]
        return img


def _variant_size(shot: ShotSpec, height: int, width: int) -> tuple[int, int]:
    """The lower resolution a near-duplicate "resolution" copy passes through."""
    if shot.resample >= 1.0:
        return height, width
    return max(16, int(round(height * shot.resample))), max(16, int(round(width * shot.resample)))


def iter_shot(shot: ShotSpec, height: int, width: int, fps: int) -> Iterator[np.ndarray]:
    """Frames of one shot, (height, width, 3) uint8 RGB each."""
    # A near-duplicate copy shows the same picture as its original, so it is always rendered at the frame
    # size and only then cropped or resampled. (Rendering a "resolution" copy at the smaller size gave the
    # scene painter, whose number of random elements depends on the canvas size, a different layout:
    # a different shot, not a re-upload of the same one.)
    renderer = _ShotRenderer(shot, height, width, fps)
    low_h, low_w = _variant_size(shot, height, width)
    overlay = OverlayPainter(shot, height, width, fps)
    still: np.ndarray | None = None
    for i in range(shot.n_frames):
        if renderer.frozen and still is not None:
            img = still.copy()
        else:
            img = renderer.frame(i)
            if shot.crop < 1.0:  # near-duplicate: centre crop, rescaled to the frame
                ch, cw = int(round(height * shot.crop)), int(round(width * shot.crop))
                y0, x0 = (height - ch) // 2, (width - cw) // 2
                img = cv2.resize(img[y0 : y0 + ch, x0 : x0 + cw], (width, height), interpolation=cv2.INTER_LINEAR)
            if shot.resample < 1.0:  # near-duplicate: a lower-resolution re-upload, upscaled back to the frame
                img = cv2.resize(img, (low_w, low_h), interpolation=cv2.INTER_AREA)
                img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
            if renderer.frozen:
                still = img.copy()
        overlay.apply(img, i)
        yield np.clip(img + 0.5, 0, 255).astype(np.uint8)


def render_shot(shot: ShotSpec, height: int, width: int, fps: int) -> np.ndarray:
    """All frames of one shot: (T, H, W, 3) uint8 with T = shot.n_frames."""
    return np.stack(list(iter_shot(shot, height, width, fps)))


def _blend(a: np.ndarray, b: np.ndarray, k: int, length: int, kind: str) -> np.ndarray:
    """Frame k of a `length`-frame overlap from shot a into shot b."""
    p = (k + 0.5) / length  # in (0, 1)
    if kind == "dissolve":
        wa, wb = 1.0 - p, p
    else:  # fade through black: a fades out over the first half, b fades in over the second
        wa, wb = max(0.0, 1.0 - 2.0 * p), max(0.0, 2.0 * p - 1.0)
    out = wa * a.astype(np.float32) + wb * b.astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def render_video(video: VideoSpec) -> Iterator[np.ndarray]:
    """Frames of a whole raw video (exactly `video.n_frames`), transitions included."""
    tail: deque[np.ndarray] = deque()
    n = len(video.shots)
    for s, shot in enumerate(video.shots):
        t_in = video.transitions[s - 1] if s > 0 else None
        l_in = t_in.n_frames if t_in else 0
        l_out = video.transitions[s].n_frames if s < n - 1 else 0
        held: deque[np.ndarray] = deque()
        for k, frame in enumerate(iter_shot(shot, video.height, video.width, video.fps)):
            if k < l_in:
                yield _blend(tail.popleft(), frame, k, l_in, t_in.kind)
            elif k >= shot.n_frames - l_out:
                held.append(frame)  # blended with the next shot's first frames
            else:
                yield frame
        tail = held
