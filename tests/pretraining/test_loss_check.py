"""The stage check "loss finite and decreasing" (issue 6 item 6) on synthetic curves and on a real stage."""

from __future__ import annotations

import math

import numpy as np
import torch

from assets.pretraining.curriculum import holdout_rows, loss_verdict, probe_batches, run_stage, stage_view
from assets.pretraining.settings import StageSettings
from models.dit.checkpoint import load_dit
from models.dit.data import SyntheticLatents
from models.dit.training import StageConfig, probe_losses
from tests.dit._tiny import DIT, FLOW


def _noisy(curve: np.ndarray, sd: float, seed: int) -> list[float]:
    return (curve + np.random.default_rng(seed).normal(0, sd, len(curve))).tolist()


STEPS = np.arange(40, dtype=float)
CONVERGING = 0.25 + 0.3 * np.exp(-STEPS / 8)  # fast drop, then a plateau
DIVERGING = 0.25 + 0.004 * STEPS  # rises 0.16 over the stage


def test_train_trend_converging_passes_diverging_and_flat_fail():
    for seed in range(5):
        assert loss_verdict(_noisy(CONVERGING, 0.03, seed)).passed
        v = loss_verdict(_noisy(DIVERGING, 0.03, seed))
        assert not v.passed and v.slope > 0
        # pure noise around a constant: the old first-vs-last-quarter comparison passed about half of these
        assert not loss_verdict(_noisy(np.full(40, 0.25), 0.03, seed)).passed
    assert not loss_verdict(_noisy(CONVERGING, 0.03, 0)[:-1] + [math.nan]).passed  # a NaN step fails


def test_demo_like_curve_with_a_lucky_last_quarter_fails():
    # the curve that passed before: noisy, flat, whose last quarter happens to sit a little lower
    rng = np.random.default_rng(3)
    h = (0.25 + rng.normal(0, 0.04, 40)).tolist()
    h[-10:] = [x - 0.01 for x in h[-10:]]
    v = loss_verdict(h)
    assert v.train_last < v.train_first and not v.passed


def _probe(level: float, n: int = 12, times: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_clip = rng.uniform(0.2, 1.0, (n, 1))  # clips differ a lot ...
    return level * per_clip * rng.uniform(0.5, 1.5, (n, times))  # ... and so do times: paired noise is large


def test_probe_paired_decrease_passes_increase_and_no_change_fail():
    start = _probe(1.0)
    flat = list(np.linspace(0.3, 0.3, 30))
    h = _noisy(np.array(flat), 0.02, 0)
    better = start * 0.9  # 10 % lower on every (clip, time): paired, so significant despite the spread
    assert loss_verdict(h, start.tolist(), better.tolist()).passed
    worse = start * 1.05
    v = loss_verdict(h, start.tolist(), worse.tolist())
    assert not v.passed and v.probe_change > 0
    same = start + np.random.default_rng(1).normal(0, 0.01, start.shape)
    assert not loss_verdict(h, start.tolist(), same.tolist()).passed
    # the probe improved, but training diverged over the stage: fails
    assert not loss_verdict(_noisy(DIVERGING, 0.01, 0), start.tolist(), better.tolist()).passed
    assert loss_verdict(h, start.tolist(), better.tolist()).basis == "probe"


def test_probe_is_deterministic_and_held_out_rows_are_shared_by_stages(tmp_path):
    src = SyntheticLatents(16, [(3, 4, 4)], channels=4, text_dim=16, seed=0, max_shots=1)
    train, held = holdout_rows(len(src), 3, seed=5)
    assert len(held) == 3 and not set(train) & set(held) and sorted(train + held) == list(range(16))
    assert holdout_rows(len(src), 3, seed=5) == (train, held)
    assert holdout_rows(4, 4, seed=5, max_share=0.2) == ([0, 1, 2, 3], [])  # a handful of clips: keep them all
    assert len(holdout_rows(20, 4, seed=5, max_share=0.2)[1]) == 4
    settings = StageSettings(steps=30, lr=3e-3, warmup_steps=3, token_budget=96, latent_grid=4, max_frames=3,
                             image_share=0.3)
    probes = probe_batches(stage_view(src, settings, rows=held))
    assert sum(b["latents"].shape[0] for b in probes) == 6  # each held-out clip as image and as video
    stage = StageConfig(steps=30, lr=3e-3, warmup_steps=3, token_budget=96, seed=2, task_shares={"i2v": 0.2})
    res = run_stage(view=stage_view(src, settings, rows=train), dit=DIT, flow=FLOW, stage=stage,
                    out_dir=tmp_path / "m", probe_batches=probes, probe_seed=9, probe_times=4)
    assert np.array(res.probe_start).shape == (6, 4) == np.array(res.probe_end).shape
    model, _ = load_dit(tmp_path / "m")
    again = probe_losses(model, probes, FLOW, seed=9, times=4, task_shares=stage.task_shares)
    assert torch.equal(again, torch.tensor(res.probe_end, dtype=again.dtype))  # same noise, same times
    v = loss_verdict(res.history, res.probe_start, res.probe_end)
    assert v.passed, v


def test_sft_check_judges_every_materialized_specialist():
    # a partitioned asset's check is handed {category: value}; each specialist must pass on its own.
    # SFT may stay flat (converged start, small lr, early stopping) but must not rise significantly.
    from assets.finetuning.defs import sft_loss_check

    start = _probe(1.0)
    h = _noisy(np.full(30, 0.3), 0.02, 0)
    flat = {"history": h, "probe": {"start": start.tolist(), "end": (start * 1.0).tolist()}}
    better = {"history": h, "probe": {"start": start.tolist(), "end": (start * 0.9).tolist()}}
    worse = {"history": h, "probe": {"start": start.tolist(), "end": (start * 1.05).tolist()}}
    diverging = {"history": _noisy(DIVERGING, 0.01, 0), "probe": {}}
    check = sft_loss_check.node_def.compute_fn.decorated_fn
    assert check({"natural": better, "neon": flat}).passed
    r = check({"natural": better, "neon": worse})
    assert not r.passed and r.metadata["failed_specialists"].value == "neon"
    assert not check({"natural": diverging}).passed
    assert not check({}).passed
