"""Overlay detection (watermarks, logos, subtitles, tickers) and the adaptive crop that removes them.

Rule-based, from the persistence maps the decode pass accumulated over a clip:
- `edge_freq` (H, W): fraction of frames in which each pixel is a Canny edge. Burnt-in graphics
  keep their outline at the same pixels while the scene moves under them, so their borders are
  *persistent* (edge in nearly every frame).
- Graphics also *look like text or graphics*: their inside is dense with (possibly changing) glyph
  edges, unlike the outline of a flat subject that happens to stand still.
- Where they sit: burnt-in overlays hug the frame border (corner logos, bottom subtitles, tickers).

Three cues, united:
- boxes: a persistent rectangle outline with a text-dense inside (logo plate, subtitle bar), found
  from a horizontal edge or from a vertical side (where the plate's edges run on into scene lines);
- bands: a persistent full-width line near the top/bottom with a text-dense strip between it and the
  frame edge, or a strip of scrolling text (rows edge-active across the whole width) bounded by a
  quiet picture: tickers, whose border a dissolve dilutes or a same-coloured scene hides;
- glyph clusters: a compact, stroke-dense, isolated cluster of edges near the border (a logo's
  persistent ring and letters, a caption's changing words) whose plate outline is not visible (a
  translucent plate on a dark scene), snapped to an outline within reach or padded. Isolated means
  denser than the picture around it, or, on a busy moving scene, steadier: its persistent pixels
  stand out among the ring's few persistent ones.
An outline-evidenced box or band wins over a glyph cluster it (nearly) covers (its extent is measured,
the cluster's partly padded); otherwise both are kept. An OCR backend could add a further cue; none is
required. Thresholds were chosen on world seeds 11-23 (the benchmark reports seed 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from assets.curation.disjoint import DisjointSets

if TYPE_CHECKING:  # workers import this module; settings pull in Dagster via resources.params
    from assets.curation.settings import CurationSettings

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixels


@dataclass(frozen=True)
class Overlay:
    kind: str  # "box" | "band" | "glyphs"
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
        if not _lone_line(row_cover, y, box[3] - box[1], s.overlay_band_cover):
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
    seen: set[tuple[int, int, int, int]] = set()
    for box in _outline_boxes(outline, int(0.35 * h), s.overlay_outline, s.overlay_side_min):
        if box in seen:
            continue
        seen.add(box)
        x0, y0, x1, y1 = box
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
    # The cues below see overlays whose outline is hidden. Where an outline-evidenced detection above
    # already covers (>= 90 % of) one, it is dropped (the outline's extent is measured, a glyph box is
    # partly padded); otherwise both are kept: a glyph box reaching beyond an outline box saw more of the
    # same overlay (a partial outline, e.g. only a plate's top edge under a zoom; world seed 21), and
    # `_dedupe` keeps the larger where one contains the other.
    for o in _texture_bands(edge_freq, s) + _glyph_boxes(edge_freq, s):
        if not any(_covered(o.box, p.box) >= 0.9 for p in found):
            found.append(o)
    return _dedupe(found)


def _outline_boxes(outline: np.ndarray, max_h: int, need: float, side_min: float) -> list[Box]:
    """Candidate plate boxes from the persistent outline (H, W) bool, found from a horizontal run (a
    plate's top or bottom edge: `_side_walk`, `_far_edge`) and, on the transposed mask, from a vertical
    run (a side, >= `side_min` of the frame height). The second finds plates whose top / bottom edge
    merges with scene lines running on past the corners (water ripples, a horizon), so that the run's
    ends are not the plate's (measured on world seeds 11-23: a caption bar over a zooming sea, logos
    over skylines). Shorter vertical runs are grass blades and cloud rims."""
    h, w = outline.shape
    out: list[Box] = []
    for t, (hh, ww) in ((False, (h, w)), (True, (w, h))):
        m = outline.T if t else outline  # (hh, ww)
        thick = _thick(m)  # a line straddling two rows counts on both
        for ya, a0, a1 in _row_runs(m, max(4, int((side_min if t else 0.06) * ww))):
            for b0, b1 in _side_walk(m, ya, a0, a1) + _far_edge(m, thick, ya, a0, a1, hh if t else max_h, need):
                out.append((int(b0), int(a0), int(b1), int(a1)) if t else (int(a0), int(b0), int(a1), int(b1)))
    return out


def _overlap(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _thick(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool, each row OR-ed with its neighbours: an anti-aliased line wanders between rows."""
    out = mask.copy()
    out[:-1] |= mask[1:]
    out[1:] |= mask[:-1]
    return out


def _texture_bands(edge_freq: np.ndarray, s: CurationSettings) -> list[Overlay]:
    """Tickers found by their text, not their border: scrolling text passes every column over the
    clip, so its rows are edge-active across the whole width (each of ~24 column blocks), which a
    scene rarely is within a thin strip. The run of such rows must lie in the top / bottom margin and
    reach (almost) the frame edge; the band's inner side is the persistent line just beyond the run
    (the band's border, which need not be persistent across the width: a scene of the band's colour
    hides it), or, without one, the run padded by half its height.

    Measured on world seeds 11-19: the border line of a ticker sits at 0.5-0.75 persistence when the
    clip holds a few frames of a dissolve, which the line-first band search (0.75) misses."""
    h, w = edge_freq.shape
    nb = max(8, min(24, w // 6))
    xs = np.linspace(0, w, nb + 1).astype(np.int64)[:-1]
    block = np.add.reduceat(edge_freq, xs, axis=1) / np.diff(np.append(xs, w))[None]  # (H, nb) mean per block
    cover = (block >= s.overlay_text_activity).mean(1)  # (H,) share of active column blocks per row
    active = cover >= s.overlay_band_texture  # (H,) bool
    raw_cover = (edge_freq >= s.overlay_outline_persistence).mean(1)  # (H,) share of the width on a border line
    line_cover = _thick(edge_freq >= s.overlay_outline_persistence).mean(1)  # (H,) the same, rows OR-ed with neighbours
    line = line_cover >= s.overlay_band_cover  # (H,)
    reach = max(3, int(round(0.05 * h)))  # a run ends this close to the frame edge (band padding)
    out = []
    for bottom in (True, False):
        order = range(h - 1, -1, -1) if bottom else range(h)
        run, gap, seen = [], 0, False
        for y in order:
            if active[y]:
                run.append(y)
                gap, seen = 0, True
            elif not seen:
                if len(run) == 0 and (h - 1 - y if bottom else y) > reach:
                    break
            else:
                gap += 1
                if gap > 2:
                    break
        if len(run) < 3:
            continue
        ra, rb = min(run), max(run) + 1
        height = rb - ra
        if bottom and ra < h * (1 - s.overlay_band_margin) or not bottom and rb > h * s.overlay_band_margin:
            continue
        search = range(ra - 1, max(-1, ra - height - 1), -1) if bottom else range(rb, min(h, rb + height))
        edge = next((y for y in search if line[y]), None)
        if edge is not None:  # `line` is row-thickened: of the two rows it spans, the one the line is on
            other = edge - 1 if bottom else edge + 1
            if 0 <= other < h and raw_cover[other] > raw_cover[edge]:
                edge = other
        # A band ends: beyond it (and its border line) the picture is not text-active across the width.
        # Water ripples, sand, a zooming facade are active over a tall, unbounded stretch.
        inner = edge if edge is not None else (ra if bottom else rb - 1)
        beyond = cover[max(0, inner - 2 - height) : max(0, inner - 2)] if bottom else cover[inner + 3 : inner + 3 + height]
        # A border line that stands alone (no ripples or sand lines around it) vouches for the band by
        # itself: the picture beyond may then be busy (grass under a tilt, measured on world seed 21).
        lone = edge is not None and _lone_line(line_cover, edge, height, s.overlay_band_cover)
        if beyond.size and float(beyond.mean()) >= s.overlay_band_texture / 2 and not lone:
            continue
        pad = max(1, int(round(height / 2)))  # a text line sits in its band with about half its height of margin
        if bottom:
            y0 = edge if edge is not None else max(0, ra - pad)
            box = (0, int(y0), w, h)
        else:
            y1 = edge + 1 if edge is not None else min(h, rb + pad)
            box = (0, 0, w, int(y1))
        if edge is not None and not _lone_line(line_cover, edge, box[3] - box[1], s.overlay_band_cover):
            continue
        out.append(Overlay("band", box, float(edge_freq[box[1] : box[3]].mean())))
    return out


def _lone_line(row_cover: np.ndarray, y: int, height: int, need: float) -> bool:
    """Whether the full-width line at row y stands alone: the rows around it (a band's height on both
    sides, the line's own +-2 rows left out) hold on average less than half its cover. A ticker's
    border is one line between a moving scene and moving text; the ripples of water or sand under a
    still camera are persistent full-width lines one above the other."""
    near = np.r_[row_cover[max(0, y - height) : max(0, y - 2)], row_cover[y + 3 : y + 3 + height]]
    return near.size == 0 or float(near.mean()) < need / 2


def _glyph_boxes(edge_freq: np.ndarray, s: CurationSettings) -> list[Overlay]:
    """Logos and captions found by their glyphs: a compact cluster of edge-active pixels (persistent
    for a logo, changing text for a caption) near the frame border that is isolated, i.e. much denser
    than the ring of picture around it (a moving scene spreads its edges thin; a still scene is dense
    everywhere and yields nothing here, the outline search above covers it). Its extent is the plate
    outline when one is visible within reach of the glyphs (snapped side by side), else the glyphs
    padded by a quarter of their height: the translucent plate of a logo on a dark scene leaves no
    outline (measured on world seeds 11-19: half of the watermark misses)."""
    h, w = edge_freq.shape
    m = s.overlay_border_margin
    out: list[Overlay] = []
    outline = _thick(edge_freq >= s.overlay_outline_persistence)
    outline_v = outline.copy()
    outline_v[:, :-1] |= outline[:, 1:]
    outline_v[:, 1:] |= outline[:, :-1]
    for level in (s.overlay_edge_persistence, s.overlay_glyph_activity):
        mask = (edge_freq >= level).astype(np.uint8)
        # glyphs of one word / logo are a few px apart: close the gaps, then one component per overlay
        k = max(3, int(round(0.02 * w)) | 1)
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, k), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        for x0, y0, x1, y1, area in _text_lines(stats[1:]):
            bw, bh = x1 - x0, y1 - y0
            # text or graphics: a compact block, dense with strokes (a scene contour's bbox is mostly empty)
            # Burnt-in graphics keep a margin from the frame's sides: a cluster running into one is a scene
            # edge or object cut by the frame (window corners of a skyline at the top corners).
            inside = 0 < x0 and x1 < w
            logo = bh >= s.overlay_glyph_min_side * h and bw >= s.overlay_glyph_min_side * w and inside and 0 < y0 and y1 < h
            # a caption's text line; its glyphs are sized to the frame's shorter side (a portrait frame
            # shrinks the words to fit its width), so the height floor is too.
            line = bw >= s.overlay_caption_min_width * w and bh >= s.overlay_caption_min_height * min(w, h) and inside
            if not (logo or line):
                continue
            if area < s.overlay_glyph_fill * bw * bh:
                continue
            near_y = y0 <= h * m or y1 >= h * (1 - m)
            near_x = x0 <= w * m or x1 >= w * (1 - m)
            # A caption's words sit mid-bar, so their lowest row may lie above the margin a logo reaches:
            # a caption line counts anywhere in the bottom band margin (a dark scene hiding the bar,
            # measured on world seed 17).
            caption = line and y1 >= h * (1 - s.overlay_band_margin)
            if not (near_y and (near_x or bw >= 0.3 * w)) and not caption:
                continue
            inner = float(edge_freq[y0:y1, x0:x1].mean())
            r = max(2, int(round(0.5 * bh)))
            ring = edge_freq[max(0, y0 - r) : y1 + r, max(0, x0 - r) : x1 + r]
            ring_mean = (float(ring.sum()) - inner * bw * bh) / max(1, ring.size - bw * bh)
            # An overlay shown in part of the clip only (a cut the shot detector missed) has every edge
            # diluted by its absence: its density is judged against its own presence, the persistence
            # of its steadiest pixels (a full-clip logo: >= overlay_edge_persistence, unchanged).
            presence = min(1.0, float(np.quantile(edge_freq[y0:y1, x0:x1], 0.95)) / s.overlay_edge_persistence)
            if inner < s.overlay_glyph_density * presence:
                continue
            if inner < s.overlay_glyph_isolation * ring_mean:
                # A moving, busy scene (a zooming facade, ripples under a tilt) spreads many edges over the
                # ring, but few of them stay put: a logo is still isolated among the *persistent* pixels.
                p_in = float((edge_freq[y0:y1, x0:x1] >= s.overlay_edge_persistence).mean())
                p_ring = (float((ring >= s.overlay_edge_persistence).sum()) - p_in * bw * bh) / max(1, ring.size - bw * bh)
                if p_in < s.overlay_glyph_isolation * max(p_ring, s.overlay_glyph_ring_floor):
                    continue
            # Without a visible outline, a logo's glyphs fill their plate (padded by a quarter of their
            # height), a caption's words sit in a bar about a line height taller on each side.
            pad = s.overlay_caption_pad if line and not logo else 0.25
            box = _snap_to_plate(outline, outline_v, (x0, y0, x1, y1), w, h, pad)
            frac = (box[2] - box[0]) * (box[3] - box[1]) / (w * h)
            if s.overlay_min_area <= frac <= s.overlay_max_area:
                out.append(Overlay("glyphs", box, inner))
    return out


def _text_lines(stats: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """Components (x, y, w, h, area rows of cv2 stats) grouped into text lines: side by side, sharing
    at least half the smaller height, and at most 1.5 glyph heights apart (a logo's icon and letters,
    the words of a caption are separated by more than the closing bridges). Returns
    (x0, y0, x1, y1, stroke area) per group; single components are groups of one."""
    boxes = sorted((int(x), int(y), int(x + bw), int(y + bh), int(a)) for x, y, bw, bh, a in stats if bh >= 3 and a >= 8)
    reach = 1.5 * max((b[3] - b[1] for b in boxes), default=0)  # sorted by x0: later boxes start farther right
    sets = DisjointSets(len(boxes))
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if b[0] - a[2] > reach:
                break
            ha, hb = a[3] - a[1], b[3] - b[1]
            shared = min(a[3], b[3]) - max(a[1], b[1])
            gap = max(a[0], b[0]) - min(a[2], b[2])
            if shared >= 0.5 * min(ha, hb) and gap <= 1.5 * max(ha, hb) and max(ha, hb) <= 2 * min(ha, hb):
                sets.union(i, j)
    groups: dict[int, list[int]] = {}
    for i, root in enumerate(sets.labels()):
        groups.setdefault(root, []).append(i)
    out = []
    for idx in groups.values():
        g = [boxes[i] for i in idx]
        out.append((min(b[0] for b in g), min(b[1] for b in g), max(b[2] for b in g), max(b[3] for b in g), sum(b[4] for b in g)))
    return out


def _snap_to_plate(outline: np.ndarray, outline_v: np.ndarray, box: Box, w: int, h: int, pad_f: float = 0.25) -> Box:
    """Each side of a glyph box moved out to the nearest parallel outline line within reach (a plate's
    border), or padded by a quarter of the glyph height where none is found. `outline` is the
    row-thickened, `outline_v` the row-and-column-thickened persistent outline mask."""
    x0, y0, x1, y1 = box
    bh = y1 - y0
    reach = max(2, int(round(0.6 * bh)))
    pad = max(1, int(round(pad_f * bh)))
    need = 0.6

    # A plate border is one unbroken line; the tops of a caption's letters (flat caps, persistent where
    # words share a cap line) cover as much of the row but in pieces, one per glyph: the longest run
    # counts, not the cover (measured: caption boxes snapped to their own cap line, cutting the bar's
    # upper part off, world seed 19).
    def row_ok(y: int) -> bool:
        return 0 <= y < h and _longest_run(outline[y, x0:x1]) >= need * (x1 - x0)

    def col_ok(x: int) -> bool:
        return 0 <= x < w and _longest_run(outline_v[y0:y1, x]) >= need * (y1 - y0)

    # the search starts on the cluster's own border row / column: a plate outline that joined the cluster
    top = next((y for y in range(y0 + 1, y0 - reach - 1, -1) if row_ok(y)), None)
    bot = next((y for y in range(y1 - 2, y1 + reach) if row_ok(y)), None)
    left = next((x for x in range(x0 + 1, x0 - reach - 1, -1) if col_ok(x)), None)
    right = next((x for x in range(x1 - 2, x1 + reach) if col_ok(x)), None)
    return (
        max(0, left if left is not None else x0 - pad),
        max(0, top if top is not None else y0 - pad),
        min(w, right + 1 if right is not None else x1 + pad),
        min(h, bot + 1 if bot is not None else y1 + pad),
    )


def _longest_run(v: np.ndarray, max_gap: int = 1) -> int:
    """Length of the longest run of set entries of a 1-D bool array, gaps of up to `max_gap` bridged."""
    idx = np.flatnonzero(v)
    if not idx.size:
        return 0
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)  # a run ends where the next set entry is too far
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return int((ends - starts + 1).max())


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
    `need` persistent along the run's extent and whose two sides are too, over the box's height
    (vectorised over the candidate rows: on the transposed mask a run's far side may lie a frame
    width away).
    The farthest such edge wins: glyph rows inside a plate are sparser than its border. Finds the
    plates whose sides are broken in places (a glyph or a scene edge touching them), which the
    side walk stops at."""
    h = outline.shape[0]
    cover = thick[:, x0:x1].mean(axis=1)  # (H,) share of the run's extent on an outline, per row
    sides = np.stack([outline[:, max(0, x - 1) : x + 2].any(axis=1) for x in (x0, x1 - 1)], 1)  # (H, 2) each side set
    spans = []
    below = np.arange(y + 3, min(h, y + max_h + 1))  # candidate far rows, nearest first
    if below.size:  # sides over [y, yb]: cumulative share from the run down
        run = (np.cumsum(sides[y : below[-1] + 1], 0)[below - y] / (below - y + 1)[:, None]).min(1)
        ok = below[(cover[below] >= need) & (run >= need)]
        if ok.size:
            spans.append((y, int(ok[-1]) + 1))
    above = np.arange(y - 3, max(-1, y - max_h - 1), -1)
    if above.size:  # sides over [yb, y]: cumulative share from the run up
        run = (np.cumsum(sides[above[-1] : y + 1][::-1], 0)[y - above] / (y - above + 1)[:, None]).min(1)
        ok = above[(cover[above] >= need) & (run >= need)]
        if ok.size:
            spans.append((int(ok[-1]), y + 1))
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


def _covered(a: Box, b: Box) -> float:
    """Share of box a's area that box b covers."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max(1, (a[2] - a[0]) * (a[3] - a[1]))


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
