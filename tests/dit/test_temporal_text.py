"""The temporal-text option (issue 6 item 1, ablated in issue 7 item 8): text reaches the temporal blocks
only when `temporal_sees_text` is on, and the ablation variant starts from the default's weights."""

from __future__ import annotations

import dataclasses

import torch

from assets.pretraining.curriculum import matched_variant_init
from models.dit import DiTConfig
from models.dit.data import mix_seed
from models.dit.model import SeedDiT

BASE = DiTConfig(latent_channels=4, text_dim=16, hidden=32, heads=2, depth=2, temporal_window=2)


def _inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b, t, h, w, n = 2, 3, 4, 4, 5
    x = torch.randn(b, 4, t, h, w, generator=g)
    return {
        "x_t": x, "t": torch.tensor([0.3, 0.7]), "cond": torch.zeros_like(x), "cond_mask": torch.zeros(b, t),
        "text": torch.randn(b, n, 16, generator=g), "text_mask": torch.ones(b, n, dtype=torch.bool),
    }


def _live_model(cfg: DiTConfig) -> SeedDiT:
    """A model whose adaLN gates are not zero: at adaLN-Zero init every temporal block is the identity,
    and no text could show in its output whatever the routing."""
    torch.manual_seed(0)
    model = SeedDiT(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "mod.proj" in name or name.startswith("final_"):
                p.normal_(0.0, 0.2)
    return model.eval()


def _temporal_calls(model: SeedDiT, inputs: dict) -> list[tuple]:
    """The positional arguments every temporal block was called with during one forward."""
    calls: list[tuple] = []
    hooks = [blk.register_forward_pre_hook(lambda _m, args: calls.append(args)) for blk in model.temporal]
    with torch.no_grad():
        model(**inputs)
    for h in hooks:
        h.remove()
    return calls


def test_text_changes_temporal_block_outputs_only_when_the_option_is_on():
    a, b = _inputs(0), _inputs(0)
    b["text"] = _inputs(1)["text"]  # same video, same time, another caption
    for sees_text in (False, True):
        model = _live_model(dataclasses.replace(BASE, temporal_sees_text=sees_text))
        calls_a, calls_b = _temporal_calls(model, a), _temporal_calls(model, b)
        assert len(calls_a) == BASE.depth
        for k, blk in enumerate(model.temporal):
            win, c_w, ang, mask, txt_a, txt_ang = calls_a[k]
            txt_b = calls_b[k][4]
            if not sees_text:
                # nothing textual is routed in: the block takes its visual window only
                assert txt_a is None and txt_b is None and mask.shape[-1] == win.shape[1]
                continue
            assert txt_a is not None and not torch.allclose(txt_a, txt_b)
            with torch.no_grad():
                out_a = blk(win, c_w, ang, mask, txt_a, txt_ang)
                out_b = blk(win, c_w, ang, mask, txt_b, txt_ang)  # same visual input, the other caption
            assert (out_a - out_b).abs().max() > 1e-4, f"temporal block {k} ignores the text"


def test_text_gradient_reaches_temporal_text_projection():
    model = _live_model(dataclasses.replace(BASE, temporal_sees_text=True)).train()
    model(**_inputs(0)).pow(2).mean().backward()
    for blk in model.temporal:
        assert blk.txt_kv.proj.weight.grad.abs().sum() > 0


def test_matched_init_equals_default_function_and_shared_weights():
    variant_cfg = dataclasses.replace(BASE, temporal_sees_text=True)
    state = matched_variant_init(BASE, variant_cfg, seed=7)
    torch.manual_seed(mix_seed(7, "init"))  # exactly how DiTTrainingModule builds the default stage
    default = SeedDiT(BASE).eval()
    for k, v in default.state_dict().items():
        assert torch.equal(state[k][: v.shape[0]], v), k  # the last text adaLN grows from 2 to 6 chunks
    variant = SeedDiT(variant_cfg)
    variant.load_state_dict(state, strict=True)
    extra = set(state) - set(default.state_dict())
    assert any("txt_kv" in k for k in extra)  # the variant really has the text path
    with torch.no_grad():  # adaLN-Zero gates the new path: same function at step 0
        torch.testing.assert_close(variant.eval()(**_inputs(0)), default(**_inputs(0)))
