"""Distribution rebalancing: head down, tail up, caps hold, entropy rises, targets name the tail."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.captioning.rebalancing import plot_distributions, rebalance


def _skewed(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "subject": rng.choice(["circle", "square", "fish"], n, p=[0.83, 0.15, 0.02]),
        "scene": rng.choice(["sky", "grass"], n, p=[0.9, 0.1]),
        "motion": rng.choice(["left", "right", "still", "orbit"], n, p=[0.4, 0.4, 0.15, 0.05]),
        "style": "natural",
        "camera": rng.choice(["static", "pan_left"], n, p=[0.85, 0.15]),
        "duration_s": rng.uniform(1, 12, n),
        "width": 256, "height": 144,
        "motion_score": rng.random(n),
    })


DIMS = ["subject", "scene", "motion", "style", "camera", "duration", "resolution", "motion_score"]


def test_head_is_downsampled_and_tail_upsampled() -> None:
    df = _skewed()
    r = rebalance(df, DIMS, power=0.5, cap=5.0, floor=0.2, acquisition_share=0.5)
    w = r.weights
    assert abs(w.mean() - 1) < 1e-6 and w.max() <= 5.0 + 1e-9 and w.min() >= 0.2 - 1e-9
    assert w[df.subject == "fish"].mean() > 1 > w[df.subject == "circle"].mean()
    assert r.entropy_after["subject"] > r.entropy_before["subject"]
    assert r.entropy_gain > 0
    t = r.targets
    # tail present and absent vocabulary categories are acquisition targets; the head is not
    subj = set(t[t.dimension == "subject"].category)
    assert {"fish", "bird", "cross"} <= subj and "circle" not in subj
    assert (t.clips_needed > 0).all()
    assert plot_distributions(r)[:8] == b"\x89PNG\r\n\x1a\n"


def test_power_zero_is_uniform_and_cap_binds() -> None:
    df = _skewed()
    r0 = rebalance(df, DIMS, power=0.0, cap=5.0, floor=0.2, acquisition_share=0.5)
    assert np.allclose(r0.weights, 1.0) and abs(r0.entropy_gain) < 1e-9
    r1 = rebalance(df, DIMS, power=1.0, cap=2.0, floor=0.5, acquisition_share=0.5)
    assert r1.weights.max() <= 2.0 + 1e-9 and r1.weights.min() >= 0.5 - 1e-9
