"""Drawing the subjects: each a filled shape of its colour with a dark outline, drawn anti-aliased with
sub-pixel precision (so slow motions are still measurable by optical flow).

Shapes are distinguishable by outline alone: circle (disc with a dark marker dot, so rotation shows),
square, triangle (pointing up), five-point star, fish (oval body, tail fin, eye; faces its motion),
bird (gull-wing silhouette), ring (annulus with a marker notch), cross (plus sign).
`draw_subject(img, subject, colour_rgb, cx, cy, radius, angle, facing)` draws in place on float32 RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

_SHIFT = 4  # cv2 fixed-point bits: coordinates in 1/16 pixel
_ONE = 1 << _SHIFT


def _circle(n: int = 40, r: float = 1.0) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _star() -> np.ndarray:
    a = -np.pi / 2 + np.arange(10) * np.pi / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


# Unit outlines (radius ~1, y pointing down), each a list of polygons.
SHAPES: dict[str, list[np.ndarray]] = {
    "circle": [_circle()],
    "square": [np.array([[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]])],
    "triangle": [np.array([[0.0, -1.0], [0.95, 0.7], [-0.95, 0.7]])],
    "star": [_star()],
    # Fish facing left (-x): oval body and a tail fin on the right.
    "fish": [
        _circle(32) * np.array([0.72, 0.42]) + np.array([-0.22, 0.0]),
        np.array([[0.35, 0.0], [1.0, -0.5], [0.9, 0.0], [1.0, 0.5]]),
    ],
    # Gull silhouette: two swept wings meeting at a small body.
    "bird": [np.array([
        [-1.0, -0.1], [-0.6, -0.65], [-0.2, -0.3], [0.0, -0.2], [0.2, -0.3], [0.6, -0.65],
        [1.0, -0.1], [0.6, -0.2], [0.25, 0.3], [0.0, 0.45], [-0.25, 0.3], [-0.6, -0.2],
    ])],
    "ring": [_circle(40)],  # drawn as a thick closed line
    "cross": [np.array([
        [-0.3, -1.0], [0.3, -1.0], [0.3, -0.3], [1.0, -0.3], [1.0, 0.3], [0.3, 0.3],
        [0.3, 1.0], [-0.3, 1.0], [-0.3, 0.3], [-1.0, 0.3], [-1.0, -0.3], [-0.3, -0.3],
    ])],
}


def _place(poly: np.ndarray, cx: float, cy: float, radius: float, angle: float, flip: bool) -> np.ndarray:
    p = poly * np.array([-1.0 if flip else 1.0, 1.0])
    c, s = np.cos(angle), np.sin(angle)
    p = p @ np.array([[c, s], [-s, c]]) * radius + np.array([cx, cy])
    return np.round(p * _ONE).astype(np.int32)


def draw_subject(
    img: np.ndarray, subject: str, rgb: tuple[int, int, int], cx: float, cy: float, radius: float,
    angle: float = 0.0, facing_right: bool = False,
) -> None:
    """Draw one subject centred at (cx, cy) with the given radius (pixels) and rotation (radians)."""
    fill = tuple(float(v) for v in rgb)
    edge = tuple(0.4 * float(v) for v in rgb)
    thick = max(1, int(round(0.1 * radius)))
    flip = facing_right and subject in ("fish", "bird")
    polys = [_place(p, cx, cy, radius, angle, flip) for p in SHAPES[subject]]
    if subject == "ring":
        band = max(2, int(round(0.34 * radius)))
        ring = _place(SHAPES["ring"][0], cx, cy, radius * 0.82, angle, False)
        cv2.polylines(img, [ring], True, edge, band + 2 * thick, cv2.LINE_AA, _SHIFT)
        cv2.polylines(img, [ring], True, fill, band, cv2.LINE_AA, _SHIFT)
        notch = _place(np.array([[0.82, 0.0]]), cx, cy, radius, angle, False)[0]
        cv2.circle(img, tuple(int(v) for v in notch), int(0.12 * radius * _ONE), edge, -1, cv2.LINE_AA, _SHIFT)
        return
    cv2.fillPoly(img, polys, fill, cv2.LINE_AA, _SHIFT)
    cv2.polylines(img, polys, True, edge, thick, cv2.LINE_AA, _SHIFT)
    if subject == "circle":  # marker dot: makes "rotate" visible on a disc
        dot = _place(np.array([[0.5, 0.0]]), cx, cy, radius, angle, False)[0]
        cv2.circle(img, tuple(int(v) for v in dot), int(0.16 * radius * _ONE), edge, -1, cv2.LINE_AA, _SHIFT)
    elif subject == "fish":  # eye near the head
        eye = _place(np.array([[-0.62, -0.1]]), cx, cy, radius, angle, flip)[0]
        cv2.circle(img, tuple(int(v) for v in eye), int(0.09 * radius * _ONE), (20.0, 20.0, 20.0), -1, cv2.LINE_AA, _SHIFT)
