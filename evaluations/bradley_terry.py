"""Bradley-Terry strengths and an Elo leaderboard from pairwise comparisons (report section 7.1).

Model i beats model j with probability p_i / (p_i + p_j). The maximum-likelihood strengths are found
with Hunter's (2004) minorise-maximise iteration

    p_i <- W_i / sum_{j != i} N_ij / (p_i + p_j)

(W_i: wins of i, ties counted as half a win for each side; N_ij: comparisons between i and j),
renormalised to geometric mean 1 every step. Strengths map to the Elo scale the Artificial Analysis
arena reports: Elo_i = base + 400 log10(p_i), so a 400-point gap means 10:1 odds.

`prior` adds that many virtual ties between every pair of models. Without it a model that wins every
comparison has infinite strength; with it the estimate is shrunk toward equality, the same role the
regularisation plays in public arena leaderboards. Set prior=0 for the plain MLE.

Confidence intervals: percentile bootstrap over prompts (all comparisons made on one prompt are
resampled together, since they share the prompt's difficulty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Comparison:
    model_a: str
    model_b: str
    outcome: int  # +1: a better, 0: same, -1: b better
    prompt_id: str = ""


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    elo: float
    low: float
    high: float
    strength: float  # Bradley-Terry p_i (geometric mean 1)
    comparisons: int
    wins: float  # ties count 1/2


def win_matrix(comparisons: list[Comparison], models: list[str]) -> np.ndarray:
    """[M, M] matrix w with w[i, j] = wins of i over j (ties count 1/2 to each side)."""
    idx = {m: k for k, m in enumerate(models)}
    w = np.zeros((len(models), len(models)))
    for c in comparisons:
        i, j = idx[c.model_a], idx[c.model_b]
        if i == j:
            raise ValueError(f"a model cannot be compared with itself: {c.model_a}")
        if c.outcome > 0:
            w[i, j] += 1.0
        elif c.outcome < 0:
            w[j, i] += 1.0
        else:
            w[i, j] += 0.5
            w[j, i] += 0.5
    return w


def fit_bradley_terry(
    wins: np.ndarray, *, prior: float = 0.5, max_iter: int = 10_000, tol: float = 1e-10
) -> np.ndarray:
    """Bradley-Terry strengths p (geometric mean 1) from a win matrix, by MM iteration."""
    w = np.asarray(wins, dtype=float).copy()
    m = w.shape[0]
    if m == 0:
        return np.zeros(0)
    if prior > 0:
        # `prior` virtual ties per pair: prior/2 wins each way
        w = w + (prior / 2.0) * (1.0 - np.eye(m))
    n = w + w.T  # [M, M] comparisons per pair
    total_wins = w.sum(axis=1)  # [M]
    p = np.ones(m)
    for _ in range(max_iter):
        denom = (n / (p[:, None] + p[None, :])).sum(axis=1)  # [M]
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(denom > 0, total_wins / denom, 1.0)
        # a model that never wins has MLE strength 0; keep it tiny but finite so logs stay defined
        new = np.maximum(new, 1e-12)
        new = new / np.exp(np.mean(np.log(new)))
        if np.max(np.abs(np.log(new) - np.log(p))) < tol:
            p = new
            break
        p = new
    return p


def elo_from_strength(p: np.ndarray, base: float = 1000.0) -> np.ndarray:
    """Elo_i = base + 400 log10(p_i): with geometric-mean-1 strengths the mean Elo is `base`."""
    return base + 400.0 * np.log10(p)


def leaderboard(
    comparisons: list[Comparison],
    models: list[str] | None = None,
    *,
    prior: float = 0.5,
    n_boot: int = 500,
    alpha: float = 0.05,
    seed: int = 0,
    base: float = 1000.0,
) -> list[LeaderboardRow]:
    """Elo leaderboard (sorted best first) with percentile bootstrap intervals over prompts."""
    if models is None:
        models = sorted({c.model_a for c in comparisons} | {c.model_b for c in comparisons})
    w = win_matrix(comparisons, models)
    p = fit_bradley_terry(w, prior=prior)
    elo = elo_from_strength(p, base)

    # bootstrap: resample prompts, carrying all their comparisons
    by_prompt: dict[str, list[Comparison]] = {}
    for k, c in enumerate(comparisons):
        by_prompt.setdefault(c.prompt_id or f"#{k}", []).append(c)
    groups = list(by_prompt.values())
    # per-prompt win matrices [G, M, M], summed by bincount-like indexing for speed
    gw = np.stack([win_matrix(g, models) for g in groups]) if groups else np.zeros((0, len(models), len(models)))
    rng = np.random.default_rng(seed)
    boots = np.zeros((n_boot, len(models)))
    for b in range(n_boot):
        counts = np.bincount(rng.integers(0, len(groups), size=len(groups)), minlength=len(groups))
        wb = np.tensordot(counts, gw, axes=1)  # [M, M]
        boots[b] = elo_from_strength(fit_bradley_terry(wb, prior=prior, tol=1e-8), base)
    lo, hi = (
        np.quantile(boots, [alpha / 2, 1 - alpha / 2], axis=0) if n_boot > 0 else (elo, elo)
    )
    n_cmp = (w + w.T).sum(axis=1)
    rows = [
        LeaderboardRow(m, float(elo[i]), float(lo[i]), float(hi[i]), float(p[i]), int(round(n_cmp[i])), float(w[i].sum()))
        for i, m in enumerate(models)
    ]
    return sorted(rows, key=lambda r: -r.elo)
