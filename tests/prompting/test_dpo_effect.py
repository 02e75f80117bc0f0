"""The report's claim for the PE's RL stage: DPO lowers hallucination (tiny preset sizes, fixed seed).

Heavy (the whole text encoder -> SFT -> DPO chain, ~1 CPU-minute): marked slow; `make bench` runs the
same chain through `benchmarks/prompt_engineer.py` over several seeds and records the figures. Seed 0
here is neither the benchmark's seeds nor the one the DPO recipe was tuned on (7).
"""

from __future__ import annotations

import math

import pytest


@pytest.mark.slow
def test_dpo_lowers_hallucination_on_held_out_prompts(tmp_path):
    from assets.prompting.settings import PromptingSettings
    from assets.prompting.train import train_prompt_engineer_dpo, train_prompt_engineer_sft
    from assets.text_encoding.corpus import synthetic_caption_corpus
    from assets.text_encoding.settings import TextEncoderSettings
    from assets.text_encoding.train import train_text_encoder
    from orchestration.presets import render_preset

    preset = render_preset("tiny")
    quiet = {"enable_progress_bar": False}
    te = train_text_encoder(synthetic_caption_corpus(300, 0), TextEncoderSettings(**preset["text_encoder"]), 0,
                            tmp_path / "te", trainer_kwargs=quiet)
    s = PromptingSettings(**preset["prompting"])
    sft = train_prompt_engineer_sft(te.directory, s, 0, tmp_path / "sft", trainer_kwargs=quiet)
    assert sft.metrics["parse_rate"] > 0.9 and sft.metrics["attribute_preservation"] > 0.8
    dpo = train_prompt_engineer_dpo(sft.directory, s, 0, tmp_path / "dpo", trainer_kwargs=quiet)
    # the preference was learnt on pairs of prompts DPO never trained on
    assert math.isclose(dpo.pairs_before["dpo_loss"], math.log(2), rel_tol=1e-4)
    assert dpo.pairs_after["dpo_loss"] < dpo.pairs_before["dpo_loss"] and dpo.pairs_after["reward_margin"] > 0
    # and it shows in greedy rewrites of held-out prompts: fewer hallucinations, attributes kept
    assert dpo.after["hallucination_rate"] < dpo.before["hallucination_rate"]
    assert dpo.after["attribute_preservation"] >= dpo.before["attribute_preservation"] - 0.02
    assert dpo.after["parse_rate"] >= dpo.before["parse_rate"] - 0.05
