"""Prompt synthesis, rewrite scoring, the DPO loss and LoRA adapters (fast unit tests)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from assets.captioning.schema import parse_caption
from assets.prompting.evaluation import score_rewrite, score_rewrites
from assets.prompting.synthesis import apply_facts, hallucinate, synthesise_examples
from assets.prompting.train import pairs_for
from models.prompt_engineer.dpo import (
    PreferenceDataset,
    PreferencePair,
    apply_lora,
    collate_pairs,
    dpo_loss,
    DPOModule,
    load_adapters,
    preference_metrics,
    save_adapters,
    sequence_logps,
)
from models.prompt_engineer.format import format_prompt, sft_example
from models.text_encoder.config import CausalLMSize, build_causal_lm
from models.text_encoder.lm_module import IGNORE
from models.text_encoder.tokenizer import train_bpe_tokenizer


@pytest.fixture(scope="module")
def examples():
    return synthesise_examples(200, seed=5)


def test_synthesis_styles_languages_and_targets(examples):
    assert {e.lang for e in examples} == {"en", "zh"} and {e.task for e in examples} == {"t2v", "i2v"}
    for e in examples:
        caption = parse_caption(e.target, e.lang)  # every target follows the caption grammar
        shot = caption.shots[0]
        if e.task == "i2v":  # image-to-video: motion-only short caption, no scene / style
            assert shot.scene is None and shot.style is None
        else:
            assert shot.scene is not None and shot.style is not None
        assert e.prompt.strip() != e.target  # a rewrite, not a copy
    assert synthesise_examples(20, seed=5) == examples[:20]  # seeded


def test_scoring_correct_hallucinated_and_elaborated(examples):
    perfect = score_rewrites(examples, [e.target for e in examples])
    assert perfect["attribute_preservation"] == 1.0 and perfect["hallucination_rate"] == 0.0
    assert perfect["parse_rate"] == 1.0 and perfect["exact_match"] == 1.0
    rng = random.Random(0)
    wrong = score_rewrites(examples, [hallucinate(e, rng) for e in examples])
    assert wrong["hallucination_rate"] == 1.0 and wrong["attribute_preservation"] < 0.9
    # an open slot filled differently (t2v prompt without a camera) is elaboration, not hallucination
    e = next(x for x in examples if x.task == "t2v" and "camera" not in x.stated and x.lang == "en")
    shot = e.caption.shots[0]
    other = "zoom_in" if shot.camera != "zoom_in" else "static"
    from dataclasses import replace

    from assets.captioning.schema import DenseCaption, render_caption

    elaborated = render_caption(DenseCaption((replace(shot, camera=other),)), "en", "long")
    assert not score_rewrite(e, elaborated).hallucinated
    # garbage is not parseable, preserves nothing, invents nothing
    junk = score_rewrite(e, "zzz")
    assert not junk.parsed and junk.preserved == 0 and not junk.hallucinated


def test_lenient_reading_of_broken_rewrites(examples):
    e = next(x for x in examples if x.lang == "en" and len(x.caption.shots[0].subjects) == 1)
    s = e.caption.shots[0].subjects[0]
    from assets.sourcing.world import vocabulary as V

    wrong_colour = next(c for c in V.keys("colour") if c != s.colour)
    text = e.target.replace(V.term("colour", s.colour).en, V.term("colour", wrong_colour).en) + " The The"
    score = score_rewrite(e, text)
    assert not score.parsed  # broken grammar -> lenient path
    assert ("colour", s.subject, wrong_colour) in score.hallucinated


def test_apply_facts_writes_the_models_mistake_into_the_caption(examples):
    e = next(x for x in examples if len(x.caption.shots[0].subjects) == 1)
    s = e.caption.shots[0].subjects[0]
    new_motion = "bounce" if s.motion != "bounce" else "left"
    rejected = apply_facts(e, [("motion", s.subject, new_motion)])
    assert parse_caption(rejected, e.lang).shots[0].subjects[0].motion == new_motion
    assert apply_facts(e, [("colour", "not-a-subject", "red")]) is None


def test_dpo_loss_values_and_direction():
    z = torch.zeros(3)
    loss, margin = dpo_loss(z, z, z, z, beta=0.1)
    assert math.isclose(float(loss), math.log(2), rel_tol=1e-6) and torch.all(margin == 0)
    better, _ = dpo_loss(torch.tensor([1.0]), torch.tensor([-1.0]), torch.tensor([0.0]), torch.tensor([0.0]), 0.5)
    worse, _ = dpo_loss(torch.tensor([-1.0]), torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0]), 0.5)
    assert float(better) < math.log(2) < float(worse)
    # gradient raises the chosen log-prob and lowers the rejected one
    pc, pr = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    dpo_loss(pc, pr, torch.zeros(1), torch.zeros(1), 0.1)[0].backward()
    assert pc.grad.item() < 0 < pr.grad.item()


@pytest.fixture(scope="module")
def tiny_lm(examples):
    tok = train_bpe_tokenizer([e.target for e in examples] + [e.prompt for e in examples], 400)
    torch.manual_seed(0)
    model = build_causal_lm(CausalLMSize(32, 2, 4, 2, 64), len(tok), tok.eos_token_id, tok.pad_token_id)
    return model, tok


def test_sft_example_masks_the_prompt(tiny_lm):
    _, tok = tiny_lm
    ex = sft_example(tok, "i2v", "the red circle going left", "The red circle moves to the left.", 64)
    head = tok(format_prompt("i2v", "the red circle going left"), add_special_tokens=False)["input_ids"]
    assert ex.labels[: len(head)] == [IGNORE] * len(head)
    assert ex.labels[len(head):] == ex.input_ids[len(head):] and ex.input_ids[-1] == tok.eos_token_id
    with pytest.raises(ValueError):
        format_prompt("v2v", "x")


def test_pairs_compare_only_up_to_the_first_divergence(tiny_lm):
    model, tok = tiny_lm
    pair = PreferencePair("t2v", "a red circle going left", "The red circle moves to the left.",
                          "The blue circle moves to the left.")
    batch = collate_pairs(list(PreferenceDataset([pair], tok, 64)), tok.pad_token_id)
    assert batch["input_ids"].shape[0] == 2  # chosen row, then rejected row
    n_dpo = (batch["dpo_labels"] != IGNORE).sum(1)
    n_full = (batch["labels"] != IGNORE).sum(1)
    assert torch.all(n_dpo < n_full) and n_dpo[0] == n_dpo[1]
    (logp, n), = sequence_logps(model, batch, ("dpo_labels",))
    assert logp.shape == (2,) and torch.all(logp < 0) and torch.equal(n, n_dpo)


def test_lora_reference_is_the_base_and_adapters_round_trip(tiny_lm, tmp_path):
    model, tok = tiny_lm
    x = torch.tensor([tok("a red circle", add_special_tokens=False)["input_ids"]])
    base_logits = model(input_ids=x).logits.detach().clone()
    torch.manual_seed(1)
    peft_model = apply_lora(model, r=4, alpha=8)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert torch.allclose(peft_model(input_ids=x).logits, base_logits, atol=1e-6)  # B = 0 at init
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.add_(0.05)
    tuned = peft_model(input_ids=x).logits.detach()
    assert not torch.allclose(tuned, base_logits)
    with peft_model.disable_adapter():
        assert torch.allclose(peft_model(input_ids=x).logits, base_logits, atol=1e-6)
    out = save_adapters(peft_model, tmp_path / "adapters")
    assert (out / "adapter_model.safetensors").exists() and not list(out.glob("*.bin"))
    base = peft_model.unload()  # the base weights without adapters
    reloaded = load_adapters(base, out)
    assert torch.allclose(reloaded(input_ids=x).logits, tuned, atol=1e-5)


def test_on_policy_pairs_differ_in_exactly_one_fact_and_come_with_their_mirror(examples):
    from dataclasses import replace

    from assets.captioning.schema import DenseCaption, render_caption
    from assets.prompting.evaluation import rewrite_facts

    e = next(x for x in examples if x.task == "t2v" and x.lang == "en" and {"camera", "style"} <= x.stated
             and len(x.caption.shots[0].subjects) == 1)
    shot = e.caption.shots[0]
    cam = "zoom_in" if shot.camera != "zoom_in" else "static"
    style = "neon" if shot.style != "neon" else "bw"
    model_output = render_caption(DenseCaption((replace(shot, camera=cam, style=style),)), "en", "long")
    pairs, own = pairs_for(e, model_output, random.Random(0))
    assert own == len(pairs) == 4  # one pair per hallucinated fact, each with its mirror
    own_pairs = [p for p in pairs if p.prompt == e.prompt]
    mirrors = [p for p in pairs if p.prompt != e.prompt]
    assert len(own_pairs) == 2 and len(mirrors) == 2
    for p in pairs:
        chosen, ok_c = rewrite_facts(p.chosen, "en")
        rejected, ok_r = rewrite_facts(p.rejected, "en")
        assert ok_c and ok_r and len(rejected - chosen) == 1 == len(chosen - rejected)  # one fact swapped
    # the mirror asks for the hallucinated value and rejects the original one: no value is only ever rejected
    mirror_cam = next(m for m in mirrors if ("camera", cam) in rewrite_facts(m.chosen, "en")[0])
    assert ("camera", shot.camera) in rewrite_facts(mirror_cam.rejected, "en")[0]
    assert len(pairs_for(e, model_output, random.Random(0), mirrors=False)[0]) == 2
    # a correct rewrite gives one synthetic (off-policy) pair, still with one hallucinated fact
    pairs, own = pairs_for(e, e.target, random.Random(0))
    assert own == 0 and len(pairs) == 1 and score_rewrite(e, pairs[0].rejected).hallucinated


def _tiny_pairs(examples, n):
    rng = random.Random(3)
    return [PreferencePair(e.task, e.prompt, e.target, hallucinate(e, rng)) for e in examples[:n]]


@pytest.mark.filterwarnings("ignore:You are trying to `self.log()`")
def test_dpo_step_lowers_loss_and_raises_margin_against_the_frozen_reference(tiny_lm, examples):
    """DPO maths end to end: at the reference the loss is log 2 and the margin 0; optimising the LoRA
    adapters on pairs lowers the loss and raises the margin, while the reference (adapters off) is unchanged."""
    _, tok = tiny_lm
    torch.manual_seed(0)  # a fresh base: the fixture's model was wrapped by peft in another test
    model = build_causal_lm(CausalLMSize(32, 2, 4, 2, 64), len(tok), tok.eos_token_id, tok.pad_token_id)
    peft_model = apply_lora(model, r=4, alpha=8)
    data = PreferenceDataset(_tiny_pairs(examples, 8), tok, 96)
    start = preference_metrics(peft_model, data, tok.pad_token_id, beta=0.5)
    assert math.isclose(start["dpo_loss"], math.log(2), rel_tol=1e-5) and abs(start["reward_margin"]) < 1e-5
    batch = collate_pairs([data[i] for i in range(len(data))], tok.pad_token_id)
    with torch.no_grad(), peft_model.disable_adapter():
        (ref_before, _), = sequence_logps(peft_model, batch, ("dpo_labels",))
    module = DPOModule(peft_model, beta=0.5, lr=1e-2)
    opt = module.configure_optimizers()
    module.on_train_start()
    for _ in range(15):
        opt.zero_grad()
        module.training_step(batch, 0).backward()
        opt.step()
    end = preference_metrics(peft_model, data, tok.pad_token_id, beta=0.5)
    assert end["dpo_loss"] < start["dpo_loss"] - 0.05 and end["reward_margin"] > 0.1
    assert end["reward_accuracy"] > 0.5
    with torch.no_grad(), peft_model.disable_adapter():
        (ref_after, _), = sequence_logps(peft_model, batch, ("dpo_labels",))
    assert torch.allclose(ref_before, ref_after)  # the reference is the frozen SFT model


def test_check_verdict_reports_before_and_after():
    from assets.prompting.defs import hallucination_verdict

    value = {"before": {"hallucination_rate": 0.4, "attribute_preservation": 0.9},
             "after": {"hallucination_rate": 0.3, "attribute_preservation": 0.9},
             "pairs_after": {"reward_margin": 1.5}}
    passed, md, _ = hallucination_verdict(value)
    assert passed and md["hallucination_rate_before"] == 0.4 and md["hallucination_rate_after"] == 0.3
    value["after"] = {"hallucination_rate": 0.4, "attribute_preservation": 0.9}
    assert not hallucination_verdict(value)[0]  # no drop is a failure
    value["after"] = {"hallucination_rate": 0.2, "attribute_preservation": 0.8}
    passed, _, why = hallucination_verdict(value)
    assert not passed and "preservation" in why  # fewer hallucinations bought with lost attributes
