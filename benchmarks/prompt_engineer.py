"""Benchmark: the text encoder and the prompt engineer on the tiny preset's sizes (report 2.2, 2.4).

Trains the chain text encoder -> PE SFT -> PE DPO(LoRA) from the synthetic caption corpus and writes
`benchmarks/results/prompt_engineer.json`: text-encoder held-out loss before/after, PE attribute
preservation and hallucination rate on held-out prompts before and after DPO, pair counts, CPU seconds
per stage and the machine description. Run by `make bench` (or `python benchmarks/prompt_engineer.py`).
"""

from __future__ import annotations

import json
import platform
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    try:
        from benchmarks._machine import describe

        return describe()
    except Exception:
        return {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version()}


def main() -> dict:
    import torch

    torch.set_num_threads(1)
    from assets.prompting.settings import PromptingSettings
    from assets.prompting.train import train_prompt_engineer_dpo, train_prompt_engineer_sft
    from assets.text_encoding.corpus import synthetic_caption_corpus
    from assets.text_encoding.settings import TextEncoderSettings
    from assets.text_encoding.train import train_text_encoder
    from orchestration.presets import render_preset

    preset = render_preset("tiny")
    seed = int(preset.get("seed", 0))
    te_settings = TextEncoderSettings(**preset["text_encoder"])
    pe_settings = PromptingSettings(**preset["prompting"])
    quiet = {"enable_progress_bar": False}
    out: dict = {"preset": "tiny", "seed": seed, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        c0, t0 = time.process_time(), time.time()
        corpus = synthetic_caption_corpus(300, seed)  # stand-in for the captions asset (fallback corpus)
        te = train_text_encoder(corpus, te_settings, seed, tmp / "te", trainer_kwargs=quiet)
        out["text_encoder"] = {"backend": te.backend, "parameters": te.params, "corpus_texts": len(corpus),
                               **te.metrics, "cpu_s": time.process_time() - c0, "wall_s": time.time() - t0}
        c0, t0 = time.process_time(), time.time()
        sft = train_prompt_engineer_sft(te.directory, pe_settings, seed, tmp / "sft", trainer_kwargs=quiet)
        out["sft"] = {**sft.metrics, "train_examples": sft.n_examples, "cpu_s": time.process_time() - c0,
                      "wall_s": time.time() - t0}
        c0, t0 = time.process_time(), time.time()
        dpo = train_prompt_engineer_dpo(sft.directory, pe_settings, seed, tmp / "dpo", trainer_kwargs=quiet)
        out["dpo"] = {"before": dpo.before, "after": dpo.after, "pairs": dpo.n_pairs, "on_policy_pairs": dpo.n_on_policy,
                      "lora_trainable_parameters": dpo.trainable_params, "samples": dpo.samples,
                      "cpu_s": time.process_time() - c0, "wall_s": time.time() - t0}
    out["summary"] = {
        "hallucination_rate_sft": dpo.before["hallucination_rate"],
        "hallucination_rate_dpo": dpo.after["hallucination_rate"],
        "attribute_preservation_sft": dpo.before["attribute_preservation"],
        "attribute_preservation_dpo": dpo.after["attribute_preservation"],
        "dpo_lowered_hallucination": dpo.after["hallucination_rate"] < dpo.before["hallucination_rate"],
    }
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "prompt_engineer.json").write_text(json.dumps(out, indent=2, ensure_ascii=False, default=float))
    return out


if __name__ == "__main__":
    print(json.dumps(main()["summary"], indent=2))
