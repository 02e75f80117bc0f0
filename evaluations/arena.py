"""The arena: pairwise comparisons of models on the same prompts, GSB per dimension and an Elo board.

Raters. The *automatic rater* compares two videos of the same prompt dimension by dimension on their
raw scores (Good / Same / Bad with a tie margin, `gsb.outcomes_from_scores`); its *overall* verdict is
the majority of the per-dimension verdicts that apply (more Good than Bad dimensions -> Good). Human
raters (`human_labels`) produce the same outcomes, so both feed the same GSB and Bradley-Terry code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.bradley_terry import Comparison
from evaluations.gsb import gsb_with_bootstrap, outcomes_from_scores


def pair_outcomes(scores: pd.DataFrame, a: str, b: str, dimensions: list[str], tie_margin: float) -> pd.DataFrame:
    """Per shared prompt: outcome of model a vs model b on each dimension and overall (+1/0/-1, NaN n/a).

    scores: one row per (model, prompt_id) with a column per dimension (raw score, NaN if n/a)."""
    sa = scores[scores["model"] == a].set_index("prompt_id")
    sb = scores[scores["model"] == b].set_index("prompt_id")
    shared = sorted(set(sa.index) & set(sb.index))
    out = pd.DataFrame({"prompt_id": shared})
    votes = np.zeros(len(shared))
    for d in dimensions:
        x, y = sa.loc[shared, d].to_numpy(float), sb.loc[shared, d].to_numpy(float)
        o = outcomes_from_scores(x, y, tie_margin).astype(float)
        o[np.isnan(x) | np.isnan(y)] = np.nan
        out[d] = o
        votes += np.nan_to_num(o)
    out["overall"] = np.sign(votes)
    return out


def gsb_table(scores: pd.DataFrame, models: list[str], dimensions: list[str], *, tie_margin: float,
              n_boot: int, alpha: float, seed: int) -> pd.DataFrame:
    """GSB of every ordered pair (models[i] vs models[j], i < j) per dimension and overall."""
    rows = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            po = pair_outcomes(scores, a, b, dimensions, tie_margin)
            res = gsb_with_bootstrap({d: po[d].to_numpy(float) for d in [*dimensions, "overall"]},
                                     n_boot=n_boot, alpha=alpha, seed=seed)
            for r in res:
                rows.append({"model_a": a, "model_b": b, "dimension": r.dimension, "good": r.good, "same": r.same,
                             "bad": r.bad, "score": r.score, "low": r.low, "high": r.high})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "dimension", "good", "same", "bad", "score", "low", "high"])


def automatic_comparisons(scores: pd.DataFrame, models: list[str], dimensions: list[str], tie_margin: float,
                          dimension: str = "overall") -> list[Comparison]:
    """The automatic rater's verdicts as Bradley-Terry comparisons (one per model pair per prompt)."""
    comps = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            po = pair_outcomes(scores, a, b, dimensions, tie_margin)
            for pid, o in zip(po["prompt_id"], po[dimension]):
                if np.isfinite(o):
                    comps.append(Comparison(a, b, int(o), pid))
    return comps


def gsb_from_comparisons(comps: list[Comparison], a: str, b: str) -> np.ndarray:
    """Outcomes of a vs b from (human) comparisons, either orientation."""
    out = []
    for c in comps:
        if (c.model_a, c.model_b) == (a, b):
            out.append(c.outcome)
        elif (c.model_a, c.model_b) == (b, a):
            out.append(-c.outcome)
    return np.array(out, dtype=float)
