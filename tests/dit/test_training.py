"""Training infrastructure: bitwise resume, safetensors checkpoints, meta init, DDP, balance, NaN guard."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from models.dit.checkpoint import decode_state, encode_state, load_dit, load_state, save_dit, save_state
from models.dit.data import TokenBudgetBatchSampler, collate, LatentDataset
from models.dit.training import DiTTrainingModule, NonFiniteLossError, make_trainer
from tests.dit._tiny import DIT, FLOW, source, stage

REPO = Path(__file__).resolve().parents[2]


class SimulatedKill(RuntimeError):
    pass


class _Kill(Callback):
    """Simulates a crash: raise when the batch after step `at` starts (its checkpoint is written)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step >= self.at:
            raise SimulatedKill(f"killed after step {self.at}")


def _fit(tmp: Path, *, kill_at: int | None = None, resume: str | None = None) -> DiTTrainingModule:
    st = stage()
    module = DiTTrainingModule(DIT, FLOW, st, source())
    cbs = [_Kill(kill_at)] if kill_at is not None else []
    trainer = make_trainer(st, checkpoint_dir=str(tmp), checkpoint_every=1, callbacks=cbs, progress=False)
    try:
        trainer.fit(module, ckpt_path=resume)
    except SimulatedKill:
        pass
    return module


def test_resume_after_kill_is_bitwise_identical(tmp_path):
    full = _fit(tmp_path / "full")
    ref = full.dit.state_dict()
    for k in (1, 4):
        _fit(tmp_path / f"killed{k}", kill_at=k)
        ckpt = tmp_path / f"killed{k}" / f"step={k}.safetensors"
        assert ckpt.exists() and not (tmp_path / f"killed{k}" / f"step={k + 1}.safetensors").exists()
        resumed = _fit(tmp_path / f"resumed{k}", resume=str(ckpt))
        got = resumed.dit.state_dict()
        assert all(torch.equal(ref[n], got[n]) for n in ref), f"resume from step {k} diverged"
        assert resumed.history == full.history
    # the checkpoint carries optimizer, scheduler, RNG and data-loader state, and is not a pickle
    state = load_state(tmp_path / "full" / "step=3.safetensors")
    assert state["optimizer_states"][0]["state"][0]["exp_avg"].shape == next(full.dit.parameters()).shape
    assert state["lr_schedulers"][0]["last_epoch"] == 3
    assert state["seedflow"]["data_loader"]["next_step"] == 3
    assert isinstance(state["seedflow"]["rng"]["torch"], torch.Tensor)
    assert (tmp_path / "full" / "step=3.safetensors").read_bytes()[:1] != b"\x80"  # no pickle header


def test_state_codec_roundtrip(tmp_path):
    obj = {
        "w": torch.randn(3, 2),
        "opt": {0: {"step": torch.tensor(2.0)}, 1: {}},
        "betas": (0.9, 0.999),
        "py": random.getstate(),
        "np": np.random.get_state(),
        "none": None,
        "inf": float("inf"),
        "nested": [{"a": [1, 2.5, "x"]}],
    }
    save_state(obj, tmp_path / "s.safetensors")
    back = load_state(tmp_path / "s.safetensors")
    assert torch.equal(back["w"], obj["w"]) and back["opt"][0]["step"] == 2.0 and back["opt"][1] == {}
    assert back["betas"] == (0.9, 0.999) and back["py"] == obj["py"] and back["none"] is None
    assert back["np"][0] == "MT19937" and np.array_equal(back["np"][1], obj["np"][1])
    assert back["nested"] == [{"a": [1, 2.5, "x"]}]
    with pytest.raises(TypeError, match="cannot store"):
        encode_state({"f": object()})
    t, s = encode_state({"k": 1})
    assert decode_state(t, s) == {"k": 1}


def test_meta_device_load(tmp_path):
    module = DiTTrainingModule(DIT, FLOW, stage(), source())
    save_dit(module.dit, tmp_path / "m", extra={"flow": FLOW.to_dict()})
    model, cfg = load_dit(tmp_path / "m")
    assert cfg["flow"]["shift_hi"] == FLOW.shift_hi
    assert all(p.device.type == "cpu" for p in model.parameters())
    ref = module.dit.state_dict()
    assert all(torch.equal(ref[k], v) for k, v in model.state_dict().items())
    # a stage initialised from upstream weights builds on meta and assigns them
    child = DiTTrainingModule(DIT, FLOW, stage(), source(), init_state=model.state_dict())
    assert torch.equal(next(child.dit.parameters()), next(model.parameters()))


def test_token_budget_balances_ranks():
    src = source(n=30)
    samplers = [TokenBudgetBatchSampler(src, steps=20, token_budget=100, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for step in range(20):
        toks = [s.tokens(s.batch_for(step, s.rank), src) for s in samplers]
        # images (16 tokens) and clips (48 tokens) mix, yet each rank stays within one sample of the budget
        assert all(100 - 48 < t <= 100 for t in toks), toks
    # deterministic per (step, rank), different across ranks, resumable from any step
    assert samplers[0].batch_for(5, 0) == samplers[0].batch_for(5, 0)
    resumed = TokenBudgetBatchSampler(src, steps=20, token_budget=100, seed=3, start_step=7)
    assert next(iter(resumed)) == samplers[0].batch_for(7, 0) and len(resumed) == 20 and len(list(resumed)) == 13
    batch = collate([LatentDataset(src)[k] for k in samplers[0].batch_for(0, 0)])
    assert batch["latents"].dim() == 5 and batch["text"].shape[:2] == batch["text_mask"].shape


def test_nan_guard_skips_then_stops():
    st = stage(steps=4, max_nan_skips=1)
    module = DiTTrainingModule(DIT, FLOW, st, source())
    with torch.no_grad():
        module.dit.final_out.bias.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError):
        make_trainer(st, progress=False).fit(module)
    assert module.nan_skips == 2 and module.history == []


def test_ddp_two_processes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests/dit/ddp_worker.py"), str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["weights"] == ranks[1]["weights"]  # gradients were all-reduced
    assert len(ranks[0]["tokens"]) == 3 and all(t <= 96 for r in ranks for t in r["tokens"])
