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
