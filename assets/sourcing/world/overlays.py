"""Burnt-in overlays, composited last (after every defect), so their pixel box is exact.

watermark  a corner logo: a translucent dark plate with a white ring icon and two letters, alpha 0.75.
subtitle   a centred translucent dark bar low in the frame with white glyph text that changes every
           1.5 s (three words at a time).
ticker     an opaque full-width band at the bottom in a saturated colour with white text scrolling
           right to left at a quarter of the frame width per second.
`OverlayPainter(shot, height, width, fps).apply(frame, frame_index)` draws in place (float32 RGB).
"""

from __future__ import annotations

import cv2
import numpy as np

from assets.sourcing.world.plan import ShotSpec, stable_seed

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text_layer(text: str, height: int, colour=(255.0, 255.0, 255.0), width: int | None = None) -> np.ndarray:
    """(height, width, 1) alpha mask of `text` fitted to `height` pixels (width from the text if None)."""
    scale = max(0.2, 0.62 * height / 22.0)
    thick = max(1, int(round(scale * 1.6)))
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    if width is not None and tw > width - 4:  # too wide for the box: shrink to fit (portrait frames)
        scale *= max(width - 4, 1) / tw
        thick = max(1, int(round(scale * 1.6)))
        (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    w = width if width is not None else tw + 4
    mask = np.zeros((height, w), np.uint8)  # putText draws on 8-bit images only
    x = max(0, (w - tw) // 2) if width is not None else 2
    y = (height + th) // 2
    cv2.putText(mask, text, (x, y), _FONT, scale, 255, thick, cv2.LINE_AA)
    return mask[..., None].astype(np.float32) / 255.0


class OverlayPainter:
    def __init__(self, shot: ShotSpec, height: int, width: int, fps: int):
        self.kind = shot.overlay
        self.fps = fps
        self.box = shot.overlay_pixels(height, width)
        if self.box is None:
            return
        x0, y0, x1, y1 = self.box
        bh, bw = y1 - y0, x1 - x0
        rng = np.random.default_rng(stable_seed(shot.seed, "overlay"))
        words = shot.overlay_text.split() or ["text"]
        if self.kind == "watermark":
            plate = np.full((bh, bw, 3), 30.0, np.float32)
            alpha = np.full((bh, bw, 1), 0.45, np.float32)
            ink = np.zeros((bh, bw), np.float32)
            r = max(2, int(0.32 * bh))
            cv2.circle(ink, (r + 2, bh // 2), r, 1.0, max(1, r // 3), cv2.LINE_AA)
            letters = _text_layer(shot.overlay_text[:2] or "WM", bh, width=max(1, bw - 2 * r - 4))
            ink[:, 2 * r + 4 :] = np.maximum(ink[:, 2 * r + 4 :], letters[:, : bw - 2 * r - 4, 0])
            self.patch = plate * (1 - ink[..., None]) + 255.0 * ink[..., None]
            self.alpha = np.maximum(alpha, 0.85 * ink[..., None])
        elif self.kind == "subtitle":
            self.lines = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
            self.masks = [_text_layer(line, bh, width=bw) for line in self.lines]
        elif self.kind == "ticker":
            colour = [(180.0, 20.0, 30.0), (20.0, 50.0, 160.0), (200.0, 120.0, 0.0)][int(rng.integers(3))]
            self.band_rgb = np.float32(colour)
            strip = _text_layer("  •  ".join(words).replace("•", "-") + "   ", bh)
            reps = int(np.ceil((bw * 2) / strip.shape[1])) + 1
            self.strip = np.tile(strip, (1, reps, 1))  # (bh, reps * strip_w, 1), wraps every strip_w
            self.period = strip.shape[1]
            self.speed = 0.25 * width / fps  # pixels per frame

    def apply(self, frame: np.ndarray, index: int) -> None:
        if self.box is None:
            return
        x0, y0, x1, y1 = self.box
        region = frame[y0:y1, x0:x1]
        if self.kind == "watermark":
            region *= 1 - self.alpha
            region += self.alpha * self.patch
        elif self.kind == "subtitle":
            mask = self.masks[int(index / (1.5 * self.fps)) % len(self.masks)]
            region *= 0.35  # translucent dark bar
            region += mask * (255.0 - region)
        elif self.kind == "ticker":
            off = int(round(index * self.speed)) % self.period
            mask = self.strip[:, off : off + (x1 - x0)]
            region[:] = self.band_rgb
            region += mask * (255.0 - region)
