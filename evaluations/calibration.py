"""Absolute 1-5 Likert scores from raw automatic scores (report section 7.2.3, "Absolute Score").

Human raters give each video a five-point Likert score (1: extreme dissatisfaction, 5: utmost
satisfaction). The automatic dimensions produce raw scores on arbitrary scales, so each dimension is
calibrated against two reference sets whose Likert value is fixed by definition:

* the low anchor  = median raw score of *reference-bad* videos   -> Likert 1
  (in the synthetic world: random content unrelated to the prompt);
* the high anchor = median raw score of *reference-good* videos  -> Likert 5
  (in the synthetic world: the world's own rendering of the prompt's ground truth).

Mapping, for a raw score r of a dimension with anchors (lo, hi):

    u      = clip((r - lo) / (hi - lo), 0, 1)          # position between the anchors
    likert = 1 + min(4, floor(5 u))                     # five equal-width bins:
             u in [0, .2) -> 1, [.2, .4) -> 2, [.4, .6) -> 3, [.6, .8) -> 4, [.8, 1] -> 5
    continuous = 1 + 4 u                                # reported beside the integer score

A model's absolute score on a dimension is the mean of its per-video integer Likert scores, the same
statistic a panel of raters produces. When no references are available the anchors default to the
raw score's natural range (0, 1) and the calibration says so (`source="default_range"`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LikertAnchor:
    dimension: str
    low: float  # raw score mapped to Likert 1
    high: float  # raw score mapped to Likert 5
    source: str = "default_range"  # "references" when fitted from reference videos
    n_low: int = 0
    n_high: int = 0

    def position(self, raw: np.ndarray | float) -> np.ndarray:
        span = self.high - self.low
        if not np.isfinite(span) or abs(span) < 1e-9:
            raise ValueError(
                f"degenerate Likert anchors for {self.dimension!r}: low={self.low} high={self.high}; "
                "the reference-good and reference-bad videos score the same, so this dimension "
                "cannot tell them apart (check the metric)"
            )
        return np.clip((np.asarray(raw, dtype=float) - self.low) / span, 0.0, 1.0)

    def likert(self, raw: np.ndarray | float) -> np.ndarray:
        """Integer 1-5 score per video (NaN stays NaN)."""
        raw = np.asarray(raw, dtype=float)
        u = self.position(raw)
        # +1e-9: a raw score exactly on a bin edge (up to float rounding) belongs to the upper bin
        out = 1.0 + np.minimum(4.0, np.floor(5.0 * u + 1e-9))
        return np.where(np.isnan(raw), np.nan, out)

    def continuous(self, raw: np.ndarray | float) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        return np.where(np.isnan(raw), np.nan, 1.0 + 4.0 * self.position(raw))

    def to_dict(self) -> dict:
        return asdict(self)


def fit_anchor(dimension: str, bad_scores: np.ndarray, good_scores: np.ndarray) -> LikertAnchor:
    """Anchors from the medians of reference-bad and reference-good raw scores (NaNs ignored).

    The median, not the mean, so that a few failed renders do not drag an anchor."""
    bad = np.asarray(bad_scores, dtype=float)
    good = np.asarray(good_scores, dtype=float)
    bad, good = bad[~np.isnan(bad)], good[~np.isnan(good)]
    if bad.size == 0 or good.size == 0:
        return LikertAnchor(dimension, 0.0, 1.0, "default_range")
    return LikertAnchor(dimension, float(np.median(bad)), float(np.median(good)), "references", int(bad.size), int(good.size))


def mean_likert(anchor: LikertAnchor, raw: np.ndarray) -> float:
    """A model's absolute score on one dimension: mean integer Likert over its videos."""
    scores = anchor.likert(raw)
    scores = scores[~np.isnan(scores)]
    return float(scores.mean()) if scores.size else float("nan")
