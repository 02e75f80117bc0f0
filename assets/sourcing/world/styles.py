"""Global styles: colour transforms of a whole frame, each recognisable from a single frame.

natural  identity.
bw       luminance only (grey in all three channels).
neon     saturation x2.2, crushed darks (gamma 1.8), a blurred glow added and purple-tinted shadows.
pastel   half-way blend towards a light pink-cream: bright, low contrast, low saturation.
ink      ink-wash painting: posterised grey on warm paper with dark edge strokes.
retro    sepia matrix, lifted blacks and a strong vignette.
`apply_style(frame, style, unit) -> frame` works on float32 RGB in [0, 255], (H, W, 3).
"""

from __future__ import annotations

import cv2
import numpy as np

_LUMA = np.float32([0.299, 0.587, 0.114])
_SEPIA = np.float32([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
_VIGNETTE: dict[tuple[int, int], np.ndarray] = {}


def _vignette(h: int, w: int) -> np.ndarray:
    if (h, w) not in _VIGNETTE:
        yy = (np.arange(h, dtype=np.float32) - h / 2) / (h / 2)
        xx = (np.arange(w, dtype=np.float32) - w / 2) / (w / 2)
        r2 = yy[:, None] ** 2 + xx[None, :] ** 2
        _VIGNETTE[(h, w)] = np.clip(1.0 - 0.35 * r2, 0.3, 1.0)[..., None]  # (h, w, 1)
    return _VIGNETTE[(h, w)]


def apply_style(frame: np.ndarray, style: str, unit: float) -> np.ndarray:
    if style == "natural":
        return frame
    lum = (frame @ _LUMA)[..., None]  # (H, W, 1)
    if style == "bw":
        return np.repeat(lum, 3, axis=2)
    if style == "neon":
        f = np.clip((lum + (frame - lum) * 2.2) / 255.0, 0, 1) ** 1.8
        glow = cv2.GaussianBlur(f, (0, 0), max(1.0, unit / 40))
        shadow = (1.0 - lum / 255.0) * np.float32([0.10, 0.0, 0.16])
        return np.clip(f + 0.6 * glow + shadow, 0, 1) * 255.0
    if style == "pastel":
        return 0.5 * frame + 0.5 * np.float32([255, 228, 240])
    if style == "ink":
        g = cv2.GaussianBlur(lum[..., 0], (0, 0), max(0.8, unit / 150))
        post = np.floor(g / 64.0) * 64.0 + 32.0  # four ink tones
        edges = cv2.Canny(g.astype(np.uint8), 40, 110).astype(np.float32) / 255.0
        ink = (post / 255.0) ** 0.8 * (1 - 0.85 * edges)
        return ink[..., None] * np.float32([242, 234, 214])
    if style == "retro":
        sep = frame @ _SEPIA.T
        return np.clip(35.0 + 0.78 * sep, 0, 255) * _vignette(*frame.shape[:2])
    raise ValueError(f"unknown style {style!r}")
