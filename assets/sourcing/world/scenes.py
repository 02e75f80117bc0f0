"""Procedural scene backgrounds: textured canvases larger than the frame, so a camera can move over them.

`paint_scene(scene, height, width, horizon, unit, rng) -> (H, W, 3) float32 RGB in [0, 255]`.
`horizon` is the canvas row where ground meets sky; `unit` the frame's short side in pixels (texture
sizes scale with it, so the same scene looks alike at every resolution). The texture (clouds, grass
blades, windows, dunes, stars) is what makes pans, tilts and zooms visible to optical flow.
`animate_scene(scene, canvas, state, t)` moves the parts of a scene that live (ocean waves).
"""

from __future__ import annotations

import cv2
import numpy as np

from assets.sourcing.world import vocabulary as V


def _gradient(h: int, w: int, top: tuple[float, ...], bottom: tuple[float, ...], y0: float, y1: float) -> np.ndarray:
    """(h, w, 3) vertical gradient from `top` at row y0 to `bottom` at row y1 (clamped outside)."""
    rows = np.clip((np.arange(h, dtype=np.float32) - y0) / max(y1 - y0, 1.0), 0.0, 1.0)[:, None]
    col = (1 - rows) * np.asarray(top, np.float32) + rows * np.asarray(bottom, np.float32)  # (h, 3)
    return np.repeat(col[:, None, :], w, axis=1)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """(h, w) float32 smooth noise in [0, 1] with features about `cell` pixels wide."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = rng.random((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _sky(rng, h, w, horizon, unit, top=(40, 90, 200), bottom=(170, 210, 245)) -> np.ndarray:
    img = _gradient(h, w, top, bottom, horizon - 1.2 * unit, horizon)
    # Clouds: soft white blobs, the texture that makes a pan over the sky visible.
    n = max(3, int(2.5 * h * w / unit**2))
    mask = np.zeros((h, w), np.float32)
    for _ in range(n):
        cx, cy = rng.uniform(0, w), rng.uniform(0, max(horizon - 0.1 * unit, 1))
        for _ in range(int(rng.integers(3, 6))):
            ax, ay = rng.uniform(0.06, 0.16) * unit, rng.uniform(0.03, 0.07) * unit
            ox, oy = rng.normal(0, 0.08 * unit), rng.normal(0, 0.025 * unit)
            cv2.ellipse(mask, (int(cx + ox), int(cy + oy)), (int(ax), int(ay)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.02 * unit + 0.5)[..., None] * 0.85
    return img * (1 - mask) + 250.0 * mask


def paint_scene(scene: str, h: int, w: int, horizon: float, unit: float, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Paint one scene; returns the canvas and the state `animate_scene` needs."""
    state: dict = {}
    if scene == "sky":
        img = _sky(rng, h, w, horizon + 0.8 * unit, unit)
    elif scene == "grass":
        img = _sky(rng, h, w, horizon, unit, top=(90, 150, 230), bottom=(190, 220, 245))
        ground = _gradient(h, w, (70, 150, 50), (30, 110, 30), horizon, h)
        tex = _smooth_noise(rng, h, w, 0.12 * unit)[..., None]
        ground = ground * (0.75 + 0.5 * tex)
        rows = np.arange(h)[:, None, None] >= horizon
        img = np.where(rows, ground, img)
        # Grass blades: short dark and light strokes.
        n = int(6 * (h - horizon) * w / unit**2 * 10)
        for _ in range(max(n, 10)):
            x, y = rng.uniform(0, w), rng.uniform(horizon, h)
            ln = rng.uniform(0.03, 0.07) * unit
            shade = (20, 80, 20) if rng.random() < 0.6 else (120, 200, 90)
            cv2.line(img, (int(x), int(y)), (int(x + rng.normal(0, 0.01 * unit)), int(y - ln)), shade, 1)
    elif scene == "city":
        img = _gradient(h, w, (60, 60, 130), (245, 160, 90), horizon - 1.0 * unit, horizon)
        x = 0.0
        while x < w:  # buildings of random widths and heights standing on the horizon
            bw, bh = rng.uniform(0.12, 0.3) * unit, rng.uniform(0.25, 0.9) * unit
            grey = float(rng.uniform(40, 110))
            x0, y0 = int(x), int(horizon - bh)
            cv2.rectangle(img, (x0, y0), (int(x + bw), int(horizon)), (grey, grey, grey + 15), -1)
            step = max(3, int(0.05 * unit))
            for wy in range(y0 + step // 2, int(horizon) - step, step):
                for wx in range(x0 + step // 2, int(x + bw) - step // 2, step):
                    if rng.random() < 0.55:
                        cv2.rectangle(img, (wx, wy), (wx + max(1, step // 3), wy + max(1, step // 3)), (250, 230, 120), -1)
            x += bw + rng.uniform(0, 0.05) * unit
        img[int(horizon):] = _gradient(h - int(horizon), w, (60, 60, 65), (35, 35, 40), 0, h - horizon)
    elif scene == "ocean":
        img = _sky(rng, h, w, horizon, unit, top=(70, 130, 220), bottom=(200, 225, 245))
        # Water: horizontally periodic wave stripes so rolling the rows animates waves seamlessly.
        hh = max(1, h - int(horizon))
        yy = np.arange(hh, dtype=np.float32)[:, None]
        xx = np.arange(w, dtype=np.float32)[None, :]
        depth = yy / hh
        k1, k2 = max(1, round(w / (0.35 * unit))), max(1, round(w / (0.13 * unit)))
        waves = 0.6 * np.sin(2 * np.pi * k1 * xx / w + yy * 0.9) + 0.4 * np.sin(2 * np.pi * k2 * xx / w - yy * 1.7)
        base = (1 - depth)[..., None] * np.float32([60, 140, 200]) + depth[..., None] * np.float32([10, 50, 120])
        water = base * (1.0 + 0.22 * waves[..., None])
        img[int(horizon):] = water
        state = {"water": water.astype(np.float32), "row0": int(horizon), "speed": 0.25 * unit}
    elif scene == "desert":
        img = _sky(rng, h, w, horizon, unit, top=(110, 170, 235), bottom=(235, 225, 210))
        ground = _gradient(h, w, (235, 200, 130), (200, 150, 80), horizon, h)
        yy = np.arange(h, dtype=np.float32)[:, None]
        xx = np.arange(w, dtype=np.float32)[None, :]
        ripple = np.sin((xx * 0.4 + yy * 2.0) / (0.02 * unit) + 3 * _smooth_noise(rng, h, w, 0.3 * unit))
        dunes = _smooth_noise(rng, h, w, 0.5 * unit)
        ground = ground * (0.8 + 0.25 * dunes[..., None] + 0.06 * ripple[..., None])
        img = np.where(yy[..., None] >= horizon, ground, img)
    elif scene == "night":
        img = _gradient(h, w, (5, 5, 25), (25, 30, 70), horizon - 1.2 * unit, horizon)
        n = int(40 * h * w / unit**2)
        for _ in range(max(n, 20)):
            x, y = int(rng.uniform(0, w)), int(rng.uniform(0, horizon))
            b = float(rng.uniform(120, 255))
            cv2.circle(img, (x, y), 1 if rng.random() < 0.85 else 2, (b, b, b * 0.95), -1)
        mx, my = int(rng.uniform(0.2, 0.8) * w), int(max(horizon - rng.uniform(0.5, 0.9) * unit, 0.1 * unit))
        cv2.circle(img, (mx, my), int(0.08 * unit), (245, 240, 210), -1, cv2.LINE_AA)
        hills = horizon - 0.1 * unit * _smooth_noise(rng, 1, w, 0.4 * unit)[0]
        mask = np.arange(h, dtype=np.float32)[:, None] >= hills[None, :]
        img[mask] = (10, 12, 20)
    else:
        raise ValueError(f"unknown scene {scene!r}")
    return np.ascontiguousarray(img, dtype=np.float32), state


def animate_scene(scene: str, canvas: np.ndarray, state: dict, t: float) -> np.ndarray:
    """The canvas at time t (seconds); scenes without living parts return it unchanged."""
    if scene not in V.LIVING_SCENES or not state:
        return canvas
    out = canvas.copy()
    water, row0 = state["water"], state["row0"]
    hh = water.shape[0]
    band = max(2, hh // 12)
    for r in range(0, hh, band):  # nearer rows (lower) move faster: parallax of the swell
        shift = int(round(state["speed"] * t * (0.3 + 0.7 * r / hh)))
        out[row0 + r : row0 + r + band] = np.roll(water[r : r + band], shift, axis=1)
    return out
