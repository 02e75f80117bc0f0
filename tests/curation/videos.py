"""Tiny hand-made test videos (PyAV, H.264) with known cuts and defects, for detector unit tests.

Independent of the synthetic world so the decode pass and detectors are tested even before (and
besides) it: each shot is a textured background with a moving disc; options add the defects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass
class Shot:
    frames: int
    hue: int = 0  # background hue (0-179), differs between shots so cuts are visible
    blur: bool = False
    jitter: bool = False
    static: bool = False
    dark: bool = False
    overlay: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 in pixels


def render_frame(shot: Shot, t: int, w: int, h: int, rng: np.random.Generator, seed: int) -> np.ndarray:
    base_rng = np.random.default_rng(seed)
    tex = base_rng.integers(0, 255, (h // 8 + 2, w // 8 + 2), dtype=np.uint8)
    tex = cv2.resize(tex, (w + 96, h + 24), interpolation=cv2.INTER_NEAREST)
    hsv = np.zeros((h + 24, w + 96, 3), np.uint8)
    hsv[..., 0] = shot.hue
    hsv[..., 1] = 160
    hsv[..., 2] = 80 + tex // 2
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    pan = 0 if shot.static else min(t, 80)  # camera pan: 1 px per frame
    dx, dy = (rng.integers(-4, 5, 2) if shot.jitter else (0, 0))
    ox, oy = 8 + int(dx) + pan, 8 + int(dy)
    img = np.ascontiguousarray(img[oy : oy + h, ox : ox + w])
    if not shot.static:
        cx = int(w * 0.2 + (t * 2) % int(w * 0.6))
        cv2.circle(img, (cx, h // 2), max(3, h // 8), (250, 250, 250), -1)
    if shot.blur:
        img = cv2.GaussianBlur(img, (0, 0), 3.5)
    if shot.dark:
        img = (img * 0.15).astype(np.uint8)
    if shot.overlay:
        x0, y0, x1, y1 = shot.overlay
        img[y0:y1, x0:x1] = (30, 30, 30)
        for k, x in enumerate(range(x0 + 2, x1 - 3, 5)):  # "text": fixed glyph strokes
            cv2.rectangle(img, (x, y0 + 2), (x + 2, y1 - 3 - (k % 3)), (255, 255, 255), -1)
    return img


def write_video(path: Path, shots: list[Shot], w: int = 128, h: int = 72, fps: int = 12, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"crf": "18", "preset": "veryfast", "g": "24"}
        for si, shot in enumerate(shots):
            for t in range(shot.frames):
                img = render_frame(shot, t, w, h, rng, seed * 100 + si)
                for p in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(p)
        for p in st.encode():
            out.mux(p)
    return path


def cuts_of(shots: list[Shot]) -> list[int]:
    out, f = [], 0
    for s in shots[:-1]:
        f += s.frames
        out.append(f)
    return out
