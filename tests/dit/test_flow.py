"""Flow matching: shift and schedule against closed-form values, loss, samplers, CFG, seeding."""

from __future__ import annotations

import math

import pytest
import torch

from models.flow import FlowConfig, flow_matching_loss, interpolate, resolution_shift, sample, sampling_schedule, time_shift
from models.flow.samplers import guided
from models.flow.schedule import logit_normal, training_times

CFG = FlowConfig(shift_tokens_lo=64, shift_lo=1.0, shift_tokens_hi=4096, shift_hi=4.0)


def test_time_shift_closed_form():
    assert time_shift(0.5, 3.0) == pytest.approx(0.75)  # 3*0.5 / (1 + 2*0.5)
    assert time_shift(0.0, 7.0) == 0.0 and time_shift(1.0, 7.0) == pytest.approx(1.0)
    assert time_shift(0.3, 1.0) == pytest.approx(0.3)


def test_resolution_shift_anchor_points():
    assert resolution_shift(64, CFG) == pytest.approx(1.0)
    assert resolution_shift(4096, CFG) == pytest.approx(4.0)
    # log-log interpolation: geometric mean of tokens -> geometric mean of shifts (512 -> 2.0)
    assert resolution_shift(512, CFG) == pytest.approx(2.0)
    # alpha = log 4 / log 64 = 1/3: 8x tokens doubles the shift
    assert resolution_shift(128, CFG) == pytest.approx(2 ** (1 / 3))
    # clamped outside the anchors; longer (more frames) means more shift
    assert resolution_shift(4, CFG) == 1.0 and resolution_shift(10**6, CFG) == 4.0
    assert resolution_shift(8 * 16 * 16, CFG) > resolution_shift(2 * 16 * 16, CFG)


def test_sampling_schedule_closed_form():
    s = sampling_schedule(4, 512, CFG)  # shift 2
    expected = [2 * u / (1 + u) for u in (1.0, 0.75, 0.5, 0.25, 0.0)]
    assert s.tolist() == pytest.approx(expected, abs=1e-6)
    assert s[0] == 1.0 and s[-1] == 0.0 and bool((s[1:] < s[:-1]).all())


def test_logit_normal_statistics():
    g = torch.Generator().manual_seed(0)
    t = logit_normal(20000, 0.5, 1.0, g)
    logit = torch.log(t / (1 - t))
    assert logit.mean().item() == pytest.approx(0.5, abs=0.03)
    assert logit.std().item() == pytest.approx(1.0, abs=0.03)
    # shifted training times: median moves to time_shift(sigmoid(m), s)
    g = torch.Generator().manual_seed(0)
    tt = training_times(20000, 512, FlowConfig(**{**CFG.to_dict(), "logit_mean": 0.0}), g)
    assert tt.median().item() == pytest.approx(time_shift(0.5, 2.0), abs=0.01)


def test_interpolation_and_loss_mask():
    x0, eps = torch.randn(2, 3, 4, 2, 2), torch.randn(2, 3, 4, 2, 2)
    xt, v = interpolate(x0, eps, torch.tensor([0.0, 1.0]))
    assert torch.equal(xt[0], x0[0]) and torch.equal(xt[1], eps[1]) and torch.equal(v, eps - x0)
    pred = v.clone()
    pred[:, :, 0] += 10.0  # error only on frame 0
    mask = torch.ones(2, 4)
    assert flow_matching_loss(pred, v, mask) > 1.0
    mask[:, 0] = 0.0  # frame 0 is a conditioning frame: not scored
    assert flow_matching_loss(pred, v, mask) == 0.0


def _exact_velocity(x0: torch.Tensor):
    """For a point-mass data distribution at x0 the true velocity field is (x - x0) / t."""
    return lambda x, t: (x - x0) / t.view(-1, 1, 1, 1, 1).clamp(min=1e-6)


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_samplers_reach_the_data_and_are_seeded(method):
    x0 = torch.randn(1, 2, 3, 2, 2)
    sched = sampling_schedule(6, 512, CFG)
    out = sample(_exact_velocity(x0), tuple(x0.shape), sched, seed=3, method=method)
    assert torch.allclose(out, x0, atol=1e-4)
    a = sample(lambda x, t: x * 0.1, (1, 2, 3, 2, 2), sched, seed=5, method=method)
    b = sample(lambda x, t: x * 0.1, (1, 2, 3, 2, 2), sched, seed=5, method=method)
    c = sample(lambda x, t: x * 0.1, (1, 2, 3, 2, 2), sched, seed=6, method=method)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_heun_is_more_accurate_than_euler_on_curved_flow():
    # dx/dt = x (exact: x(0) = x(1) e^{-1}); Heun's error is second order, Euler's first order.
    sched = torch.linspace(1.0, 0.0, 5)
    x1 = torch.randn(1, 1, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    exact = x1 * math.exp(-1.0)
    errs = {m: (sample(lambda x, t: x, tuple(x1.shape), sched, 0, m) - exact).abs().max().item() for m in ("euler", "heun")}
    assert errs["heun"] < errs["euler"] / 3


def test_conditioning_frames_stay_clean():
    known = torch.randn(1, 2, 3, 2, 2)
    mask = torch.tensor([[1.0, 0.0, 0.0]])
    out = sample(lambda x, t: torch.zeros_like(x), (1, 2, 3, 2, 2), sampling_schedule(3, 64, CFG), 0, "heun", known, mask)
    assert torch.allclose(out[:, :, 0], known[:, :, 0])


def test_cfg_combination():
    cond = lambda x, t: torch.ones_like(x)  # noqa: E731
    uncond = lambda x, t: torch.zeros_like(x)  # noqa: E731
    v = guided(cond, uncond, 4.0)(torch.zeros(1, 1, 1, 1, 1), torch.ones(1))
    assert v.item() == 4.0
    assert guided(cond, None, 4.0) is cond
