"""GSB, Bradley-Terry / Elo and Likert calibration against hand-computed cases."""

import math

import numpy as np
import pytest

from evaluations.bradley_terry import Comparison, elo_from_strength, fit_bradley_terry, leaderboard, win_matrix
from evaluations.calibration import LikertAnchor, fit_anchor, mean_likert
from evaluations.gsb import BAD, GOOD, SAME, gsb_score, gsb_with_bootstrap, outcomes_from_scores


# ---------------------------------------------------------------- GSB
def test_gsb_hand_computed():
    # G, G, S, B: (2 - 1) / 4 = 0.25
    assert gsb_score(np.array([GOOD, GOOD, SAME, BAD])) == pytest.approx(0.25)
    # 3 G, 5 S, 2 B: (3 - 2) / 10 = 0.1
    assert gsb_score(np.array([1] * 3 + [0] * 5 + [-1] * 2)) == pytest.approx(0.1)
    assert gsb_score(np.array([BAD, BAD])) == -1.0
    assert math.isnan(gsb_score(np.array([])))


def test_outcomes_from_scores_respects_tie_margin():
    out = outcomes_from_scores(np.array([0.5, 0.55, 0.9, 0.1]), np.array([0.5, 0.5, 0.5, 0.5]), tie_margin=0.1)
    assert out.tolist() == [SAME, SAME, GOOD, BAD]


def test_gsb_bootstrap_interval_and_nan_dimension():
    rng = np.random.default_rng(1)
    motion = rng.choice([1, 0, -1], size=200, p=[0.5, 0.3, 0.2]).astype(float)
    preservation = np.full(200, np.nan)
    preservation[:100] = 1.0  # applies to half the prompts (the I2V ones), always Good
    res = {r.dimension: r for r in gsb_with_bootstrap({"motion": motion, "preservation": preservation}, n_boot=400, seed=3)}
    m = res["motion"]
    assert m.good + m.same + m.bad == 200
    assert m.score == pytest.approx((m.good - m.bad) / 200)
    assert m.low < m.score < m.high
    # binomial-ish standard error ~ sqrt(var/n) ~ 0.055: the 95% interval must be roughly 0.2 wide
    assert 0.1 < m.high - m.low < 0.35
    p = res["preservation"]
    assert (p.good, p.same, p.bad, p.score, p.low, p.high) == (100, 0, 0, 1.0, 1.0, 1.0)
    # same seed, same interval
    again = {r.dimension: r for r in gsb_with_bootstrap({"motion": motion, "preservation": preservation}, n_boot=400, seed=3)}
    assert again["motion"] == m


# ---------------------------------------------------------------- Bradley-Terry / Elo
def _cmp(a, b, wins_a, wins_b, ties=0, start=0):
    out = [Comparison(a, b, 1, f"p{start + k}") for k in range(wins_a)]
    out += [Comparison(a, b, -1, f"p{start + wins_a + k}") for k in range(wins_b)]
    out += [Comparison(a, b, 0, f"p{start + wins_a + wins_b + k}") for k in range(ties)]
    return out


def test_bt_two_models_hand_computed():
    # A beats B 3 times out of 4: MLE odds p_A / p_B = 3 -> Elo gap 400 log10 3 = 190.85
    w = win_matrix(_cmp("A", "B", 3, 1), ["A", "B"])
    p = fit_bradley_terry(w, prior=0)
    assert p[0] / p[1] == pytest.approx(3.0, rel=1e-6)
    elo = elo_from_strength(p)
    assert elo[0] - elo[1] == pytest.approx(400 * math.log10(3), abs=1e-3)
    assert elo.mean() == pytest.approx(1000.0)  # geometric mean 1 -> mean Elo at base


def test_bt_ties_count_half():
    # 1 win, 1 loss, 2 ties -> 2 : 2 -> equal strengths
    p = fit_bradley_terry(win_matrix(_cmp("A", "B", 1, 1, ties=2), ["A", "B"]), prior=0)
    assert p[0] == pytest.approx(p[1])


def test_bt_prior_shrinks_a_perfect_record():
    # A wins 4/4. MLE diverges; prior 0.5 adds 0.25 win each way -> odds 4.25 / 0.25 = 17
    p = fit_bradley_terry(win_matrix(_cmp("A", "B", 4, 0), ["A", "B"]), prior=0.5)
    assert p[0] / p[1] == pytest.approx(17.0, rel=1e-6)


def test_bt_three_models_recovers_consistent_strengths():
    # Strengths (4, 2, 1): observed wins equal their expectations, so the MLE is exactly (4, 2, 1) up to scale.
    # A-B: P(A) = 4/6 -> 4 of 6; B-C: 2/3 -> 4 of 6; A-C: 4/5 -> 4 of 5.
    comps = _cmp("A", "B", 4, 2) + _cmp("B", "C", 4, 2, start=10) + _cmp("A", "C", 4, 1, start=20)
    w = win_matrix(comps, ["A", "B", "C"])
    p = fit_bradley_terry(w, prior=0)
    assert p / p[2] == pytest.approx([4.0, 2.0, 1.0], rel=1e-6)
    # MLE score equations: W_i = sum_j N_ij p_i / (p_i + p_j)
    n = w + w.T
    expected = (n * p[:, None] / (p[:, None] + p[None, :])).sum(axis=1)
    assert expected == pytest.approx(w.sum(axis=1), rel=1e-6)
    elo = elo_from_strength(p)
    assert elo[0] - elo[2] == pytest.approx(400 * math.log10(4), abs=1e-3)  # 240.82


def test_bt_cycle_gives_equal_strengths():
    comps = _cmp("A", "B", 2, 1) + _cmp("B", "C", 2, 1, start=10) + _cmp("C", "A", 2, 1, start=20)
    p = fit_bradley_terry(win_matrix(comps, ["A", "B", "C"]), prior=0)
    assert p == pytest.approx([1.0, 1.0, 1.0], rel=1e-6)


def test_leaderboard_bootstrap_intervals():
    comps = _cmp("strong", "weak", 30, 10) + _cmp("strong", "mid", 24, 16, start=100) + _cmp("mid", "weak", 25, 15, start=200)
    rows = leaderboard(comps, prior=0.5, n_boot=200, seed=0)
    assert [r.model for r in rows] == ["strong", "mid", "weak"]
    for r in rows:
        assert r.low <= r.elo <= r.high
        assert r.comparisons == 80
    assert rows[0].low > rows[-1].high  # 3:1 over 40 games: clearly separated
    # intervals narrow with ten times the data
    big = _cmp("strong", "weak", 300, 100) + _cmp("strong", "mid", 240, 160, start=1000) + _cmp("mid", "weak", 250, 150, start=2000)
    rows_big = {r.model: r for r in leaderboard(big, prior=0.5, n_boot=200, seed=0)}
    small = {r.model: r for r in rows}
    assert rows_big["mid"].high - rows_big["mid"].low < 0.6 * (small["mid"].high - small["mid"].low)


# ---------------------------------------------------------------- Likert calibration
def test_likert_bins_hand_computed():
    a = LikertAnchor("motion", low=0.2, high=0.7)
    raw = np.array([0.0, 0.2, 0.29, 0.3, 0.45, 0.55, 0.6, 0.7, 1.0, np.nan])
    # u = (raw - .2) / .5 -> [0, 0, .18, .2, .5, .7, .8, 1, 1] -> bins of width .2
    got = a.likert(raw)
    assert got[:-1].tolist() == [1, 1, 1, 2, 3, 4, 5, 5, 5]
    assert math.isnan(got[-1])
    assert a.continuous(0.45) == pytest.approx(3.0)
    assert mean_likert(a, raw) == pytest.approx(np.mean([1, 1, 1, 2, 3, 4, 5, 5, 5]))


def test_fit_anchor_uses_medians_and_rejects_degenerate():
    a = fit_anchor("prompt_following", np.array([0.1, 0.2, 0.9]), np.array([0.8, 0.9, 1.0, np.nan]))
    assert (a.low, a.high, a.source) == (0.2, 0.9, "references")
    with pytest.raises(ValueError, match="cannot tell them apart"):
        LikertAnchor("x", 0.5, 0.5).likert(0.5)
    assert fit_anchor("x", np.array([]), np.array([1.0])).source == "default_range"
