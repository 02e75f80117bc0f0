"""Overlay detection (watermarks, logos, subtitles, tickers) and the adaptive crop that removes them.

Rule-based, from the persistence maps the decode pass accumulated over a clip:
- `edge_freq` (H, W): fraction of frames in which each pixel is a Canny edge. Burnt-in graphics
  keep their outline at the same pixels while the scene moves under them, so their borders are
  *persistent* (edge in nearly every frame).
- Graphics also *look like text or graphics*: their inside is dense with (possibly changing) glyph
  edges, unlike the outline of a flat subject that happens to stand still.
- Where they sit: burnt-in overlays hug the frame border (corner logos, bottom subtitles, tickers).

Two shapes are recognised: boxes (a persistent rectangle outline with a text-dense inside: logo,
subtitle bar) and bands (a persistent full-width line near the top/bottom with a text-dense strip
between it and the frame edge: tickers). An OCR backend could add a third cue; none is required.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import this module; settings pull in Dagster via resources.params
    from assets.curation.settings import CurationSettings

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixels


@dataclass(frozen=True)
class Overlay:
    kind: str  # "box" | "band"
    box: Box  # in analysis pixels
    score: float


def _interior_density(edge_freq: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> float:
    inner = edge_freq[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1]
    return float(inner.mean()) if inner.size else 0.0


def detect_overlays(edge_freq: np.ndarray, s: CurationSettings) -> list[Overlay]:
    """Overlays in analysis pixels from a clip's edge-frequency map (H, W) in [0, 1]."""
    h, w = edge_freq.shape
    persistent = edge_freq >= s.overlay_edge_persistence  # (H, W) bool
    m, mb = s.overlay_border_margin, s.overlay_band_margin
    found: list[Overlay] = []

    # Bands: a persistent line spanning most of the width near the top or bottom edge.
    two_rows = persistent.copy()
    two_rows[:-1] |= persistent[1:]  # an anti-aliased line wanders between neighbouring rows
    two_rows[1:] |= persistent[:-1]
    row_cover = two_rows.mean(axis=1)  # (H,)
    for y in range(h):
        if row_cover[y] < s.overlay_band_cover:
            continue
        if y >= h * (1 - mb):  # band from the line down to the bottom edge
            box = (0, y, w, h)
        elif y <= h * mb:
            box = (0, 0, w, y + 1)
        else:
            continue
        if box[3] - box[1] < 3:
            continue
        dens = _interior_density(edge_freq, *box)
        if dens >= s.overlay_text_density:
            found.append(Overlay("band", box, dens))
            break

    # Boxes: a persistent horizontal run (a plate's top or bottom edge) with persistent vertical
    # sides at both of its ends (a logo plate or subtitle bar). The box's other edge is where the
    # sides end; a second run of matching extent there is not required, because a scene edge that
    # crosses a translucent plate's far edge breaks that run (measured: the most common miss).
    # Working from runs, rather than connected components, keeps a box separate from scene edges
    # (a horizon, a cloud) that happen to touch it.
    # A translucent plate's outline is fainter than glyph edges: boxes use a looser persistence.
    outline = edge_freq >= s.overlay_outline_persistence
    runs = _row_runs(outline, max(4, int(0.06 * w)))
    thick = outline.copy()  # (H, W) bool, a line straddling two rows counts on both
    thick[:-1] |= outline[1:]
    thick[1:] |= outline[:-1]
    seen: set[tuple[int, int, int, int]] = set()
    for ya, ax0, ax1 in runs:
        spans = _side_walk(outline, ya, ax0, ax1) + _far_edge(outline, thick, ya, ax0, ax1, int(0.35 * h), s.overlay_outline)
        for y0, y1 in spans:
            box = (int(ax0), int(y0), int(ax1), int(y1))
            if box in seen:
                continue
            seen.add(box)
            x0, x1 = ax0, ax1
            bh = y1 - y0
            if bh < 4 or bh > 0.35 * h:
                continue
            frac = (x1 - x0) * (y1 - y0) / (w * h)
            if not (s.overlay_min_area <= frac <= s.overlay_max_area):
                continue
            near_x = x0 <= w * m or x1 >= w * (1 - m)
            near_y = y0 <= h * m or y1 >= h * (1 - m)
            if not (near_y and (near_x or (x1 - x0) >= 0.4 * w)):
                continue
            sides = [outline[y0:y1, max(0, x - 1) : x + 2].any(axis=1).mean() for x in (x0, x1 - 1)]
            if min(sides) < s.overlay_outline:
                continue
            dens = _interior_density(edge_freq, x0 + 1, y0 + 1, x1 - 1, y1 - 1)
            if dens >= s.overlay_text_density:
                found.append(Overlay("box", box, dens))
    return _dedupe(found)


def clip_overlays(stats, s: CurationSettings) -> list[Overlay]:
    """Overlays of a clip: the union over its shots (an overlay may belong to one shot only, and a
    shot's own persistence map is not diluted by its neighbours), plus the whole clip's map (a
    channel logo that spans every shot, each too short to show it alone)."""
    found: list[Overlay] = []
    for ef in stats.shot_edge_freq:
        found += detect_overlays(ef, s)
    if len(stats.shot_edge_freq) != 1:
        found += detect_overlays(stats.edge_freq, s)
    return _dedupe(found)


def _side_walk(outline: np.ndarray, y: int, x0: int, x1: int, max_gap: int = 1) -> list[tuple[int, int]]:
    """Row spans [y0, y1) of boxes hanging from (or standing on) the run (y, x0, x1): walk down and
    up while both end columns (+-1 px) stay persistent, tolerating `max_gap` missing rows."""
    h = outline.shape[0]

    def side(yy: int) -> bool:
        return bool(outline[yy, max(0, x0 - 1) : x0 + 2].any() and outline[yy, max(0, x1 - 2) : x1 + 1].any())

    spans = []
    for step in (1, -1):
        last, gap, yy = y, 0, y + step
        while 0 <= yy < h and gap <= max_gap:
            if side(yy):
                last, gap = yy, 0
            else:
                gap += 1
            yy += step
        if last != y:
            spans.append((y, last + 1) if step == 1 else (last, y + 1))
    return spans


def _far_edge(
    outline: np.ndarray, thick: np.ndarray, y: int, x0: int, x1: int, max_h: int, need: float
) -> list[tuple[int, int]]:
    """Row spans [y0, y1) of boxes whose far edge (below or above the run (y, x0, x1)) is at least
    `need` persistent along the run's extent and whose two sides are too, over the box's height.
    The farthest such edge wins: glyph rows inside a plate are sparser than its border. Finds the
    plates whose sides are broken in places (a glyph or a scene edge touching them), which the
    side walk stops at."""
    h = outline.shape[0]
    cols = [outline[:, max(0, x - 1) : x + 2].any(axis=1) for x in (x0, x1 - 1)]  # (H,) bool each
    spans = []
    for step in (1, -1):
        best = None
        for k in range(3, max_h + 1):
            yb = y + step * k
            if not 0 <= yb < h:
                break
            if thick[yb, x0:x1].mean() < need:
                continue
            lo, hi = min(y, yb), max(y, yb) + 1
            if min(c[lo:hi].mean() for c in cols) >= need:
                best = (lo, hi)
        if best is not None:
            spans.append(best)
    return spans


def _row_runs(mask: np.ndarray, min_len: int, max_gap: int = 2) -> list[tuple[int, int, int]]:
    """(y, x0, x1) runs of set pixels at least `min_len` long; each row OR-ed with its neighbours
    so a line straddling two rows (sub-pixel position after scaling) stays one run, and gaps of up
    to `max_gap` px closed (a glyph touching a plate's edge breaks its persistence there)."""
    out = []
    thick = mask.copy()
    thick[:-1] |= mask[1:]
    thick[1:] |= mask[:-1]
    for y in range(mask.shape[0]):
        row = np.concatenate([[0], thick[y].astype(np.int8), [0]])
        d = np.diff(row)
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        merged: list[list[int]] = []
        for a, b in zip(starts, ends, strict=True):
            if merged and a - merged[-1][1] <= max_gap:
                merged[-1][1] = int(b)
            else:
                merged.append([int(a), int(b)])
        out.extend((y, a, b) for a, b in merged if b - a >= min_len)
    return out


def _dedupe(found: list[Overlay]) -> list[Overlay]:
    out: list[Overlay] = []
    for o in sorted(found, key=lambda o: -(o.box[2] - o.box[0]) * (o.box[3] - o.box[1])):
        # The same overlay found in two shots' maps comes back a pixel or two apart: keep one.
        if not any(_contains(p.box, o.box) or iou(p.box, o.box) >= 0.6 for p in out):
            out.append(o)
    return out


def _contains(a: Box, b: Box) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a[2] >= b[2] and a[3] >= b[3]


def scale_box(box: Box, sx: float, sy: float, w: int, h: int, pad: float = 0.0) -> Box:
    """Analysis pixels -> source pixels, padded by `pad` of the frame size, clipped to the frame."""
    px, py = pad * w, pad * h
    x0 = int(np.floor(box[0] * sx - px))
    y0 = int(np.floor(box[1] * sy - py))
    x1 = int(np.ceil(box[2] * sx + px))
    y1 = int(np.ceil(box[3] * sy + py))
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _free_rects(boxes: list[Box], w: int, h: int, min_area: float) -> list[tuple[float, float, float, float]]:
    """The free rectangles of the side combinations (each box left of, right of, above or below the crop),
    searched depth first with pruning: a branch stops once its rectangle is smaller than `min_area` (no
    valid crop fits), and a box already outside the rectangle adds no branch. Without pruning this is
    4^k for k boxes, which per-shot overlay detection on multi-shot clips made reach minutes."""
    out: list[tuple[float, float, float, float]] = []

    def walk(i: int, X0: float, Y0: float, X1: float, Y1: float) -> None:
        if X1 - X0 <= 2 or Y1 - Y0 <= 2 or (X1 - X0) * (Y1 - Y0) < min_area:
            return
        if i == len(boxes):
            out.append((X0, Y0, X1, Y1))
            return
        bx0, by0, bx1, by1 = boxes[i]
        if bx1 <= X0 or bx0 >= X1 or by1 <= Y0 or by0 >= Y1:
            walk(i + 1, X0, Y0, X1, Y1)  # already outside: every side choice would only shrink the rectangle
            return
        walk(i + 1, X0, Y0, min(X1, bx0), Y1)  # crop left of the box
        walk(i + 1, max(X0, bx1), Y0, X1, Y1)  # right of it
        walk(i + 1, X0, Y0, X1, min(Y1, by0))  # above it
        walk(i + 1, X0, max(Y0, by1), X1, Y1)  # below it

    walk(0, 0.0, 0.0, float(w), float(h))
    return out


def best_crop(boxes: list[Box], w: int, h: int, s: CurationSettings) -> Box | None:
    """Largest crop at an allowed aspect ratio that avoids every box; None if it keeps too little.

    Each box must end up entirely outside the crop: on its left, right, top or bottom side. Every
    combination of sides bounds a free rectangle (`_free_rects`, pruned); inside it the largest
    rectangle of each allowed aspect ratio is placed as close to the frame centre as possible.
    """
    if not boxes:
        return (0, 0, w - w % 2, h - h % 2)
    aspects = sorted(set([*s.crop_aspects, w / h]))
    best: tuple[float, Box] | None = None
    for X0, Y0, X1, Y1 in _free_rects(boxes, w, h, s.min_crop_area * w * h):
        fw, fh = X1 - X0, Y1 - Y0
        if fw <= 2 or fh <= 2:
            continue
        for a in aspects:
            cw = min(fw, fh * a)
            ch = cw / a
            cw, ch = int(cw) - int(cw) % 2, int(ch) - int(ch) % 2
            if cw < 2 or ch < 2 or abs(cw / ch - a) / a > s.crop_aspect_tolerance + 2.0 / min(cw, ch):
                continue
            cx = min(max(w / 2 - cw / 2, X0), X1 - cw)  # as central as the free area allows
            cy = min(max(h / 2 - ch / 2, Y0), Y1 - ch)
            x0, y0 = int(np.ceil(cx)), int(np.ceil(cy))
            x0, y0 = x0 + (x0 % 2), y0 + (y0 % 2)  # even offsets keep chroma aligned
            if x0 + cw > X1 + 1e-6:
                x0 -= 2
            if y0 + ch > Y1 + 1e-6:
                y0 -= 2
            if x0 < X0 - 1e-6 or y0 < Y0 - 1e-6:
                continue
            area = cw * ch
            if best is None or area > best[0]:
                best = (area, (x0, y0, x0 + cw, y0 + ch))
    if best is None or best[0] / (w * h) < s.min_crop_area:
        return None
    return best[1]
