"""The report's claim for the PE's RL stage: DPO lowers hallucination (tiny preset sizes, fixed seed).

Heavy (the whole text encoder -> SFT -> DPO chain, ~1.5 CPU-minutes): marked slow; `make bench` runs the
same chain through `benchmarks/prompt_engineer.py` and records the figures.
"""

from __future__ import annotations

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
    assert sft.metrics["parse_rate"] > 0.8 and sft.metrics["attribute_preservation"] > 0.6
    dpo = train_prompt_engineer_dpo(sft.directory, s, 0, tmp_path / "dpo", trainer_kwargs=quiet)
    assert dpo.after["hallucination_rate"] < dpo.before["hallucination_rate"]
    assert dpo.after["attribute_preservation"] >= dpo.before["attribute_preservation"] - 0.02
