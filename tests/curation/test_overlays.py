"""Overlay detection on persistence maps and the adaptive crop."""

from __future__ import annotations

import numpy as np

from assets.curation.overlays import best_crop, detect_overlays, iou
from assets.curation.settings import CurationSettings

S = CurationSettings()
H, W = 108, 192


def _map_with_logo(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    ef = np.random.default_rng(0).uniform(0, 0.3, (H, W)).astype(np.float32)  # a moving scene: edges come and go
    ef[y0, x0:x1] = ef[y1 - 1, x0:x1] = 1.0  # persistent plate outline
    ef[y0:y1, x0] = ef[y0:y1, x1 - 1] = 1.0
    ef[y0 + 3 : y1 - 3 : 2, x0 + 3 : x1 - 3 : 3] = 0.9  # glyph strokes inside
    return ef


def test_corner_logo_is_found_and_cropped_away() -> None:
    box = (150, 4, 186, 20)
    found = detect_overlays(_map_with_logo(*box), S)
    assert found and iou(found[0].box, box) >= 0.7
    crop = best_crop([f.box for f in found], W, H, S)
    assert crop is not None
    x0, y0, x1, y1 = crop
    assert x1 <= box[0] or y0 >= box[3]  # the crop lies left of or below the logo
    assert (x1 - x0) * (y1 - y0) >= S.min_crop_area * W * H and (x1 - x0) % 2 == 0 and (y1 - y0) % 2 == 0
    ratio = (x1 - x0) / (y1 - y0)
    assert any(abs(ratio - a) / a < 0.05 for a in [*S.crop_aspects, W / H])


def test_ticker_band_found() -> None:
    ef = np.random.default_rng(1).uniform(0, 0.3, (H, W)).astype(np.float32)
    ef[95, :] = 1.0  # the band's persistent top edge
    ef[98:106, ::4] = 0.5  # scrolling text: dense but not persistent
    found = detect_overlays(ef, S)
    assert [f.kind for f in found] == ["band"] and iou(found[0].box, (0, 95, W, H)) >= 0.7


def test_flat_subject_in_the_middle_is_not_an_overlay() -> None:
    ef = np.zeros((H, W), np.float32)
    ef[40, 80:110] = ef[70, 80:110] = 1.0  # a still square outline, empty inside, centre of frame
    ef[40:71, 80] = ef[40:71, 109] = 1.0
    assert detect_overlays(ef, S) == []


def test_no_good_crop_returns_none() -> None:
    # Overlays on all four sides leave too little picture.
    boxes = [(0, 0, W, 30), (0, H - 30, W, H), (0, 0, 50, H), (W - 50, 0, W, H)]
    assert best_crop(boxes, W, H, S) is None
    assert best_crop([], W, H, S) == (0, 0, W, H)


def _scrolling_text_rows(ef: np.ndarray, y0: int, y1: int) -> None:
    """Rows y0..y1 of scrolling glyphs: every column is an edge in some frames (0.2-0.45), none persistently."""
    rng = np.random.default_rng(2)
    ef[y0:y1:2, :] = rng.uniform(0.2, 0.45, (len(range(y0, y1, 2)), ef.shape[1]))


def test_ticker_without_visible_border_found_by_its_scrolling_text() -> None:
    # A band of the scene's colour: no border line, only text that passed every column.
    ef = np.random.default_rng(3).uniform(0, 0.05, (H, W)).astype(np.float32)
    _scrolling_text_rows(ef, 99, 107)
    found = detect_overlays(ef, S)
    assert [f.kind for f in found] == ["band"], found
    assert found[0].box[1] < 99 and found[0].box[3] == H  # padded beyond the text to the frame edge
    assert iou(found[0].box, (0, 95, W, H)) >= 0.7


def test_ticker_border_at_half_persistence_sets_the_band_top() -> None:
    # A dissolve inside the clip leaves the border line an edge in only ~60 % of frames.
    ef = np.random.default_rng(4).uniform(0, 0.05, (H, W)).astype(np.float32)
    ef[95, :] = 0.62
    _scrolling_text_rows(ef, 99, 107)
    found = detect_overlays(ef, S)
    assert [f.kind for f in found] == ["band"] and found[0].box == (0, 95, W, H), found


def test_full_width_texture_without_an_end_is_not_a_ticker() -> None:
    # Water ripples / sand under a moving camera: active across the width from the horizon down.
    ef = np.random.default_rng(5).uniform(0, 0.05, (H, W)).astype(np.float32)
    _scrolling_text_rows(ef, 50, H)
    assert [f for f in detect_overlays(ef, S) if f.kind == "band"] == []


def test_logo_without_plate_outline_found_by_its_glyphs() -> None:
    # A translucent plate on a dark scene: only the ring and letters persist; the box is the glyphs, padded.
    ef = np.random.default_rng(6).uniform(0, 0.08, (H, W)).astype(np.float32)
    glyphs = (150, 8, 184, 20)
    ef[glyphs[1] : glyphs[3], glyphs[0] : glyphs[2]][:, ::4] = 1.0  # upright strokes, no plate edge to follow
    found = detect_overlays(ef, S)
    assert len(found) == 1 and found[0].kind == "glyphs", found
    x0, y0, x1, y1 = found[0].box
    assert x0 <= glyphs[0] + 2 and y0 <= glyphs[1] + 2 and x1 >= glyphs[2] - 2 and y1 >= glyphs[3] - 2  # +-2: thickened outline
    assert iou(found[0].box, glyphs) >= 0.6


def test_sparse_scene_contour_near_the_border_is_not_a_glyph_box() -> None:
    # A cloud's outline lingering in a corner: persistent, isolated, but its box is mostly empty.
    ef = np.zeros((H, W), np.float32)
    yy, xx = np.mgrid[0:H, 0:W]
    ring = np.abs(np.hypot(xx - 20, yy - 12) - 10) < 0.7
    ef[ring] = 0.9
    assert detect_overlays(ef, S) == []


def test_logo_icon_and_letters_apart_are_one_glyph_box() -> None:
    # Icon and letters 12 px apart (more than the closing bridges, < 1.5 glyph heights): one text line.
    ef = np.random.default_rng(7).uniform(0, 0.08, (H, W)).astype(np.float32)
    ef[90:100, 150:158][:, ::3] = 1.0  # the icon
    ef[90:100, 170:182][:, ::3] = 1.0  # the letters
    found = detect_overlays(ef, S)
    assert len(found) == 1 and found[0].kind == "glyphs", found
    x0, _, x1, _ = found[0].box
    assert x0 <= 151 and x1 >= 179, found


def test_caption_box_is_not_snapped_to_its_own_cap_line() -> None:
    """A caption on a dark still scene (no plate outline): the tops of its letters are persistent in
    pieces, one per glyph, which must not be taken for the bar's top border (that cut the bar's upper
    rows off the box, and the crop kept them; world seed 19)."""
    ef = np.zeros((H, W), np.float32)
    rng = np.random.default_rng(3)
    ef[93:100, 66:126] = rng.uniform(0.3, 0.45, (7, 60))  # changing words
    for x in range(66, 126, 5):
        ef[92, x : x + 3] = 0.8  # cap line: flat letter tops, 3 px pieces
    found = detect_overlays(ef, S)
    assert len(found) == 1 and found[0].kind == "glyphs"
    assert found[0].box[1] < 92 and found[0].box[3] > 100  # padded beyond the glyphs on both sides


def test_logo_shown_in_part_of_the_clip_is_found() -> None:
    """A logo (its plate invisible on a dark scene) present in 45 % of a segment's frames (a missed
    cut): its strokes are edges in 0.45 of the frames, which dilutes its mean edge density (0.175)
    below the full-clip floor (overlay_glyph_density 0.2)."""
    ef = np.random.default_rng(4).uniform(0, 0.02, (H, W)).astype(np.float32)  # a quiet, dark scene
    ef[6:22:4, 154:184] = 0.45  # glyph strokes, edges while the logo is shown
    ef[6:22, 154:184:7] = 0.45
    found = detect_overlays(ef, S)
    assert found and iou(found[0].box, (154, 6, 184, 22)) >= 0.5, found


def test_plate_whose_edges_run_on_into_scene_lines_is_found_from_its_sides() -> None:
    """A caption bar over a zooming sea: its top and bottom edges merge with full-width ripple lines, so
    no horizontal run ends at the plate's corners; the vertical sides do (world seed 19)."""
    ef = np.random.default_rng(8).uniform(0, 0.2, (H, W)).astype(np.float32)
    bar = (40, 84, 152, 100)
    ef[bar[1], :] = ef[bar[3] - 1, :] = 0.9  # plate edges continuing as ripple lines across the width
    ef[bar[1] : bar[3], bar[0]] = ef[bar[1] : bar[3], bar[2] - 1] = 0.9  # its sides
    ef[bar[1] + 4 : bar[3] - 4, bar[0] + 8 : bar[2] - 8][:, ::3] = 0.5  # changing words inside
    found = detect_overlays(ef, S)
    assert found and max(iou(f.box, bar) for f in found) >= 0.7, found


def _busy_moving_scene(seed: int) -> np.ndarray:
    """A zooming facade: edges everywhere, each an edge in a fraction of the frames only."""
    return np.random.default_rng(seed).uniform(0.05, 0.45, (H, W)).astype(np.float32)


def test_logo_on_a_busy_moving_scene_is_isolated_among_persistent_pixels() -> None:
    ef = _busy_moving_scene(9)
    glyphs = (8, 6, 36, 18)
    ef[glyphs[1] : glyphs[3], glyphs[0] : glyphs[2]][:, ::4] = 1.0  # persistent ring and letters
    found = detect_overlays(ef, S)
    assert found and max(iou(f.box, glyphs) for f in found) >= 0.5, found
    # The same strokes at 0.6 persistence (not steadier than a moving scene's edges) are not a logo.
    ef[glyphs[1] : glyphs[3], glyphs[0] : glyphs[2]][:, ::4] = 0.6
    assert not any(iou(f.box, glyphs) > 0 for f in detect_overlays(ef, S) if f.kind == "glyphs")


def test_still_cluster_cut_by_the_frame_edge_is_not_a_logo() -> None:
    # A skyline's window corner at the top corner of a still shot: dense, isolated, but running into the border.
    ef = np.zeros((H, W), np.float32)
    ef[0:12, 170:192][:, ::3] = 1.0
    assert [f for f in detect_overlays(ef, S) if f.kind == "glyphs"] == []
    ef2 = np.zeros((H, W), np.float32)
    ef2[2:14, 166:188][:, ::3] = 1.0  # the same block with a margin from both sides: a logo
    assert "glyphs" in [f.kind for f in detect_overlays(ef2, S)]


def test_caption_words_without_a_bar_found_in_the_bottom_band_and_padded_to_it() -> None:
    """A caption on a dark scene (the bar invisible): the words sit mid-bar, above the 10 % border
    margin, and the box is padded by a line height so the crop clears the bar (world seed 17)."""
    ef = np.zeros((H, W), np.float32)
    ef[88:95, 60:130] = np.random.default_rng(10).uniform(0.3, 0.5, (7, 70))  # changing words, rows 88-94
    bar = (40, 84, 152, 98)
    found = detect_overlays(ef, S)
    assert len(found) == 1 and found[0].kind == "glyphs", found
    assert found[0].box[1] <= bar[1] and found[0].box[3] >= bar[3] - 1, found  # the bar's rows are covered


def test_ticker_under_a_busy_picture_found_by_its_lone_border() -> None:
    # Grass under a tilt above the band: active across the width, but no other full-width line.
    ef = np.random.default_rng(11).uniform(0, 0.05, (H, W)).astype(np.float32)
    ef[60:94:2, :] = np.random.default_rng(12).uniform(0.1, 0.3, (17, W))  # busy picture right above the border
    ef[95, :] = 0.62  # the band's border line
    _scrolling_text_rows(ef, 99, 107)
    found = [f for f in detect_overlays(ef, S) if f.kind == "band"]
    assert found and found[0].box == (0, 95, W, H), found
