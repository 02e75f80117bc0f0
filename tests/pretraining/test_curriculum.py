"""The curriculum stages on the synthetic latent world: views, chaining, loss checks, merging."""

from __future__ import annotations

import torch

from assets.pretraining.curriculum import loss_decreased, run_stage, stage_view
from assets.pretraining.settings import StageSettings
from assets.pretraining.sources import StageView
from models.dit.checkpoint import load_dit, save_dit
from models.dit.data import LatentDataset, SyntheticLatents, collate
from models.dit.merge import average_state_dicts, merge_weights
from models.dit.training import StageConfig, validation_loss
from tests.dit._tiny import DIT, FLOW


def _src():
    return SyntheticLatents(24, [(4, 8, 8)], channels=4, text_dim=16, seed=0, max_shots=2)


def test_stage_view_maps_resolution_fps_and_image_share():
    src = _src()
    low = StageView(src, latent_grid=4, max_frames=2, frame_stride=2, image_share=0.25)
    shapes = {low.shape(i) for i in range(len(low))}
    assert shapes == {(1, 4, 4), (2, 4, 4)}  # images from first frames, 12 fps = stride 2
    img_mass = sum(low.weight(i) for i in range(len(low)) if low.shape(i)[0] == 1)
    assert abs(img_mass - 0.25) < 1e-9
    s = low.sample(len(src) + 1, "long")
    assert s["latents"].shape == (4, 2, 4, 4)
    full = StageView(src, latent_grid=8, max_frames=4, image_share=0.1)
    assert (4, 8, 8) in {full.shape(i) for i in range(len(full))}
    t2i = StageView(src, latent_grid=4, max_frames=1)
    assert {t2i.shape(i) for i in range(len(t2i))} == {(1, 4, 4)}


def test_two_chained_stages_learn_and_merge(tmp_path):
    src = _src()
    settings = StageSettings(steps=30, lr=3e-3, warmup_steps=3, token_budget=128, latent_grid=4, max_frames=1)
    view = stage_view(src, settings)
    stage = StageConfig(steps=30, lr=3e-3, warmup_steps=3, token_budget=128, seed=2)
    r1 = run_stage(view=view, dit=DIT, flow=FLOW, stage=stage, out_dir=tmp_path / "t2i")
    ok, first, last = loss_decreased(r1.history)
    assert ok, (first, last)
    # next stage initialises from the upstream directory
    joint = StageView(src, latent_grid=4, max_frames=2, frame_stride=2, image_share=0.2)
    st2 = StageConfig(steps=4, lr=1e-3, warmup_steps=1, token_budget=128, seed=3, task_shares={"i2v": 0.2})
    r2 = run_stage(view=joint, dit=DIT, flow=FLOW, stage=st2, out_dir=tmp_path / "joint", init_dir=tmp_path / "t2i")
    assert len(r2.history) == 4 and r2.tokens > 0
    base, _ = load_dit(tmp_path / "t2i")
    child, cfg = load_dit(tmp_path / "joint")
    assert cfg["stage"]["task_shares"]["i2v"] == 0.2
    assert not torch.equal(next(base.parameters()), next(child.parameters()))

    # merging: two specialists on different colours; the average is no worse than their mean val loss
    ds = LatentDataset(joint)
    val = [collate([ds[k] for k in _keys(joint, i)]) for i in range(2)]
    specs, losses = [], []
    for j, seed in enumerate((5, 6)):
        st = StageConfig(steps=6, lr=5e-4, warmup_steps=1, token_budget=128, seed=seed)
        r = run_stage(view=joint, dit=DIT, flow=FLOW, stage=st, out_dir=tmp_path / f"spec{j}", init_dir=tmp_path / "joint")
        m, _ = load_dit(r.model_dir)
        specs.append(m.state_dict())
        losses.append(validation_loss(m, val, FLOW))
    merged_state = average_state_dicts(specs, merge_weights("uniform", n=2))
    merged, _ = load_dit(tmp_path / "spec0")
    merged.load_state_dict(merged_state)
    assert validation_loss(merged, val, FLOW) <= sum(losses) / 2 + 1e-6
    save_dit(merged, tmp_path / "merged")
    assert merge_weights("val_weighted", val_losses=[1.0, 2.0], n=2)[0] > 0.99
    assert merge_weights("data_weighted", tokens=[1, 3], n=2) == [0.25, 0.75]


def _keys(view, i):
    from models.dit.data import SampleKey

    return [SampleKey(k, "long", 0) for k in range(i * 4, i * 4 + 4) if view.shape(k) == view.shape(i * 4)]
