"""Good-Same-Bad (GSB) comparison between two models, as in the report's section 7.2.3.

For every prompt a rater (human or automatic) says whether model A's video is Good (better than B's),
Same, or Bad (worse) on one dimension. The GSB score of A over B is

    GSB = (G - B) / (G + S + B)            in [-1, 1]

(+1: A always better, 0: no difference, -1: A always worse). Its uncertainty comes from which prompts
happen to be in the suite, so the interval is a percentile bootstrap that resamples prompts with
replacement (every dimension resampled with the same prompt draw, so dimensions stay comparable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GOOD, SAME, BAD = 1, 0, -1
LABELS = {"G": GOOD, "S": SAME, "B": BAD}


@dataclass(frozen=True)
class GSBResult:
    dimension: str
    good: int
    same: int
    bad: int
    score: float  # (G - B) / (G + S + B)
    low: float  # bootstrap percentile interval over prompts
    high: float

    @property
    def n(self) -> int:
        return self.good + self.same + self.bad


def gsb_score(outcomes: np.ndarray) -> float:
    """(G - B) / (G + S + B) of an array of +1 / 0 / -1 outcomes (NaN when empty)."""
    outcomes = np.asarray(outcomes)
    if outcomes.size == 0:
        return float("nan")
    return float((np.sum(outcomes == GOOD) - np.sum(outcomes == BAD)) / outcomes.size)


def outcomes_from_scores(a: np.ndarray, b: np.ndarray, tie_margin: float) -> np.ndarray:
    """Automatic rater: per prompt, Good if A's score exceeds B's by more than `tie_margin`,
    Bad if it is lower by more than `tie_margin`, Same otherwise. A margin keeps measurement noise
    of the automatic metrics from being read as a preference."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    out = np.zeros(diff.shape, dtype=np.int8)
    out[diff > tie_margin] = GOOD
    out[diff < -tie_margin] = BAD
    return out


def gsb_with_bootstrap(
    outcomes: dict[str, np.ndarray],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> list[GSBResult]:
    """GSB per dimension with a (1 - alpha) percentile bootstrap interval over prompts.

    outcomes: dimension -> array [n_prompts] of +1/0/-1, all dimensions aligned on the same prompts.
    NaN entries (a dimension that does not apply to a prompt, e.g. preservation for T2V) are dropped
    from that dimension only.
    """
    dims = list(outcomes)
    if not dims:
        return []
    n = len(next(iter(outcomes.values())))
    for d in dims:
        if len(outcomes[d]) != n:
            raise ValueError(f"dimension {d!r} has {len(outcomes[d])} outcomes, expected {n} (same prompts)")
    rng = np.random.default_rng(seed)
    # [n_boot, n] prompt indices, shared by every dimension
    draws = rng.integers(0, n, size=(n_boot, n)) if n > 0 else np.zeros((n_boot, 0), dtype=int)
    results = []
    for d in dims:
        o = np.asarray(outcomes[d], dtype=float)
        valid = ~np.isnan(o)
        ov = o[valid]
        g, s, b = int(np.sum(ov == GOOD)), int(np.sum(ov == SAME)), int(np.sum(ov == BAD))
        score = gsb_score(ov)
        if ov.size == 0:
            results.append(GSBResult(d, 0, 0, 0, float("nan"), float("nan"), float("nan")))
            continue
        # [n_boot, n] resampled outcomes; invalid entries count neither in numerator nor denominator
        res = o[draws]
        vmask = ~np.isnan(res)
        num = np.sum(res == GOOD, axis=1) - np.sum(res == BAD, axis=1)
        den = vmask.sum(axis=1)
        boots = num[den > 0] / den[den > 0]
        lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
        results.append(GSBResult(d, g, s, b, score, float(lo), float(hi)))
    return results
