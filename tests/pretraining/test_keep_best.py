"""`run_stage(keep_best=True)`: a stage ends on its lowest-validation-loss weights, its start included."""

from __future__ import annotations

import torch

from assets.pretraining.curriculum import run_stage
from models.dit.checkpoint import load_dit
from models.dit.data import LatentDataset, SampleKey, SyntheticLatents, collate
from models.dit.training import StageConfig, validation_loss
from assets.pretraining.sources import StageView
from tests.dit._tiny import DIT, FLOW


def _val(view: StageView, rows: range) -> list[dict[str, torch.Tensor]]:
    ds = LatentDataset(view)
    return [collate([ds[SampleKey(k, "long", 0)]]) for k in rows]


def test_overfitting_specialist_ends_on_its_best_weights(tmp_path) -> None:
    src = SyntheticLatents(24, [(4, 8, 8)], channels=4, text_dim=16, seed=0, max_shots=2)
    everything = StageView(src, latent_grid=4, max_frames=1)
    base = run_stage(view=everything, dit=DIT, flow=FLOW, out_dir=tmp_path / "base",
                     stage=StageConfig(steps=20, lr=3e-3, warmup_steps=2, token_budget=128, seed=1))  # fmt: skip
    one_clip = StageView(src, latent_grid=4, max_frames=1, rows=[0])  # a category with one training clip
    val = _val(everything, range(8, 12))
    stage = StageConfig(steps=12, lr=3e-2, warmup_steps=1, token_budget=128, seed=4)  # far too hot: it overfits
    kw = dict(view=one_clip, dit=DIT, flow=FLOW, stage=stage, init_dir=base.model_dir, val_batches=val, val_every=4)
    last = run_stage(out_dir=tmp_path / "last", **kw)
    best = run_stage(out_dir=tmp_path / "best", keep_best=True, **kw)
    assert last.history == best.history  # the same training run; only the weights it ends on differ

    start = validation_loss(load_dit(base.model_dir)[0], val, FLOW, stage.seed)
    ended = validation_loss(load_dit(best.model_dir)[0], val, FLOW, stage.seed)
    assert abs(best.val_loss_start - start) < 1e-6 and abs(best.val_loss - ended) < 1e-6
    assert ended <= start  # never worse than where it started
    # this run overfits (0.26 -> 0.56 on its last step): ending on the last step is what keep_best prevents
    assert validation_loss(load_dit(last.model_dir)[0], val, FLOW, stage.seed) > ended + 0.1
    assert last.best_step is None and best.best_step in (0, 4, 8, 12)
    if best.best_step == 0:  # no validation gain at all: the specialist is its start, bit for bit
        a, b = load_dit(base.model_dir)[0].state_dict(), load_dit(best.model_dir)[0].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
