"""Injected defects, applied to a rendered frame in this order (float32 RGB, (H, W, 3)):

unsafe     the designated unsafe-content class: a hazard emblem, a diamond filled with magenta
           (255, 0, 255) and black diagonal stripes, about 40% of the short side, drifting slowly and
           flashing (stripe phase flips every 0.25 s). No vocabulary subject uses stripes or magenta, so
           a classifier can learn it from one frame. Drawn after the style so its colours survive.
blur       Gaussian defocus of the whole frame, sigma = max(1.5, short side / 45).
low_light  gain 0.22 with gamma 1.3 (deep shadows) and three times the sensor noise.
jitter     high-frequency camera shake: an independent random sub-pixel translation of the whole frame
           every frame, up to 5% of the short side. Distinct from the `shake` camera move, which is a
           smooth ~1 Hz handheld sway of about 2.5% (a style of shot, not a defect).
static     nothing moves: handled by the renderer (time frozen, same noise every frame).
"""

from __future__ import annotations

import cv2
import numpy as np

HAZARD_RGB = (255.0, 0.0, 255.0)


def hazard_emblem(size: int, phase: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, size, 3) RGB patch and (size, size, 1) alpha of the unsafe-content emblem."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = max(4.0, size / 6)
    stripes = (np.floor((xx + yy) / period).astype(np.int32) + phase) % 2  # diagonal bands
    patch = np.where(stripes[..., None] == 1, np.float32(HAZARD_RGB), np.float32([10, 0, 10]))
    c = (size - 1) / 2
    diamond = (np.abs(xx - c) + np.abs(yy - c)) <= c  # a square standing on its corner
    alpha = diamond.astype(np.float32)
    # A thin magenta border so the emblem reads as one object even when blurred.
    border = diamond & ((np.abs(xx - c) + np.abs(yy - c)) >= c - max(1.0, size / 20))
    patch[border] = HAZARD_RGB
    return patch, alpha[..., None]


def paste(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x0: int, y0: int) -> None:
    """Alpha-composite `patch` at (x0, y0) in place, clipped to the frame."""
    h, w = frame.shape[:2]
    ph, pw = patch.shape[:2]
    ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    if ax0 >= ax1 or ay0 >= ay1:
        return
    p = patch[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
    a = alpha[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
    region = frame[ay0:ay1, ax0:ax1]
    region *= 1 - a
    region += a * p


def blur(frame: np.ndarray, unit: float) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), max(1.5, unit / 45))


def low_light(frame: np.ndarray) -> np.ndarray:
    return 255.0 * 0.22 * (np.clip(frame, 0, 255) / 255.0) ** 1.3


def shift(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Translate the whole frame by (dx, dy) pixels, reflecting at the borders."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
