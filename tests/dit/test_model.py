"""Shapes for every task, RoPE positions for interleaved shots, padded-text masking, windows."""

from __future__ import annotations

import pytest
import torch

from models.dit import DiTConfig, SeedDiT
from models.dit.blocks import window_merge, window_partition
from models.dit.rope import mm_rope_positions
from models.dit.tasks import condition_from_frames, sample_task_masks, task_mask

C, DT = 4, 16


def _model(**kw) -> SeedDiT:
    torch.manual_seed(0)
    model = SeedDiT(DiTConfig(latent_channels=C, text_dim=DT, hidden=32, heads=2, depth=1, temporal_window=2, **kw))
    # adaLN-Zero makes a fresh model output 0; randomise so the tests see real signal paths.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def _inputs(b=2, t=3, h=4, w=5, l=6):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, C, t, h, w, generator=g)
    text = torch.randn(b, l, DT, generator=g)
    mask = torch.ones(b, l, dtype=torch.bool)
    mask[1, 4:] = False
    return x, text, mask


@pytest.mark.parametrize(
    "task,frames,keys",
    [("t2i", 1, ()), ("t2v", 4, ()), ("i2v", 4, ()), ("first_last", 4, ()), ("keyframes", 5, (1, 3))],
)
def test_shapes_for_every_task(task, frames, keys):
    model = _model()
    x, text, tmask = _inputs(t=frames)
    cond, cmask = condition_from_frames(x, task_mask(task, frames, keys))
    out = model(x, torch.rand(2), cond, cmask, text, tmask)
    assert out.shape == x.shape
    assert torch.isfinite(out).all()
    # The conditioning really enters: changing a given frame changes the output; for t2v nothing does.
    out2 = model(x, torch.rand(2).fill_(0.5), cond + cmask[:, None, :, None, None], cmask, text, tmask)
    out1 = model(x, torch.rand(2).fill_(0.5), cond, cmask, text, tmask)
    assert (not torch.allclose(out1, out2)) == bool(cmask.any())


def test_multishot_shapes_and_own_scope():
    model = _model(text_scope="own", temporal_sees_text=True)
    x, text, tmask = _inputs(t=4)
    frame_shot = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1]])
    text_shot = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]])
    cond, cm = condition_from_frames(x, task_mask("t2v", 4))
    out = model(x, torch.rand(2), cond, cm, text, tmask, frame_shot, text_shot)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_rope_positions_for_interleaved_shots():
    h, w = 3, 2
    frame_shot = torch.tensor([[0, 0, 1, 1, 1]])
    text_shot = torch.tensor([[0, 0, 1, 1, 1, 0]])
    text_mask = torch.tensor([[True, True, True, True, True, False]])
    tpos, vpos = mm_rope_positions(frame_shot, text_shot, text_mask, h, w)
    # Caption 1 on the diagonal at 0, 1; its frames start right after (s = 2).
    assert tpos[0, :2].tolist() == [[0, 0, 0], [1, 1, 1]]
    assert vpos[0, 0, 0, 0].tolist() == [2, 2, 2] and vpos[0, 1, 2, 1].tolist() == [3, 4, 3]
    # Shot 1 spans s .. s + max(F=2, H=3, W=2) - 1 = 2..4, so caption 2 starts at 5 on the diagonal.
    assert tpos[0, 2:5, 0].tolist() == [5, 6, 7] and (tpos[0, 2:5, 0] == tpos[0, 2:5, 2]).all()
    # Frames of shot 2 follow their caption at s = 8, temporal order kept, a jump marks the cut.
    assert vpos[0, 2:, 0, 0, 0].tolist() == [8, 9, 10]
    assert vpos[0, 2, :, :, 1].unique().tolist() == [8, 9, 10]
    # Padding gets position 0 (it is masked out of attention anyway).
    assert tpos[0, 5].tolist() == [0, 0, 0]


def test_padded_text_is_masked():
    model = _model(temporal_sees_text=True)
    x, text, tmask = _inputs()
    cond, cm = condition_from_frames(x, task_mask("i2v", 3))
    t = torch.full((2,), 0.3)
    base = model(x, t, cond, cm, text, tmask)
    # Garbage in the padded slots of sample 1 changes nothing ...
    text2 = text.clone()
    text2[1, 4:] = 100.0
    assert torch.allclose(base, model(x, t, cond, cm, text2, tmask), atol=1e-5)
    # ... nor does extra padding ...
    pad = torch.cat([text, torch.randn(2, 3, DT)], 1)
    pmask = torch.cat([tmask, torch.zeros(2, 3, dtype=torch.bool)], 1)
    assert torch.allclose(base, model(x, t, cond, cm, pad, pmask), atol=1e-5)
    # ... while a real token does.
    text3 = text.clone()
    text3[0, 0] += 1.0
    assert not torch.allclose(base[0], model(x, t, cond, cm, text3, tmask)[0], atol=1e-5)


def test_window_partition_roundtrip_with_padding():
    x = torch.randn(2, 3, 5, 7, 8)
    win, valid, (nh, nw) = window_partition(x, 2, 3)
    assert win.shape == (2 * nh * nw, 3 * 2 * 3, 8) and (nh, nw) == (3, 3)
    assert int(valid.sum()) == 2 * 3 * 5 * 7
    assert torch.equal(window_merge(win, 2, 3, 5, 7, 2, 3), x)


def test_temporal_attention_stays_inside_its_window():
    """A change in one window's cells must not reach another window through a temporal block alone."""
    model = _model()
    block = model.temporal[0]
    x = torch.randn(1, 4, 4, 4, 32)
    win, valid, _ = window_partition(x, 2, 2)
    c = torch.randn(win.shape[0], 32)
    ang = torch.zeros(win.shape[0], win.shape[1], 8)
    m = valid[:, None, None, :]
    out1 = block(win, c, ang, m)
    win2 = win.clone()
    win2[0] += 1.0
    out2 = block(win2, c, ang, m)
    assert not torch.allclose(out1[0], out2[0]) and torch.allclose(out1[1:], out2[1:])


def test_task_sampling_respects_shares():
    g = torch.Generator().manual_seed(0)
    masks, tasks = sample_task_masks(4, 400, {"i2v": 0.4}, g)
    share = tasks.count("i2v") / 400
    assert 0.33 < share < 0.47 and set(tasks) <= {"i2v", "t2v"}
    assert (masks[[i for i, tk in enumerate(tasks) if tk == "i2v"], 0] == 1).all()
    masks, tasks = sample_task_masks(1, 3, {"i2v": 0.4}, g)
    assert tasks == ["t2i"] * 3 and masks.sum() == 0


def test_activation_checkpointing_gives_same_gradients():
    x, text, tmask = _inputs()
    cond, cm = condition_from_frames(x, task_mask("i2v", 3))
    grads = []
    for ac in (False, True):
        model = _model(activation_checkpointing=ac).train()
        model(x, torch.full((2,), 0.5), cond, cm, text, tmask).pow(2).mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        DiTConfig(hidden=30, heads=4)
    assert sum(DiTConfig(hidden=64, heads=2).rope_dims) == 32
