"""Benchmark: the text encoder and the prompt engineer on the tiny preset's sizes (report 2.2, 2.4).

For each of several seeds, trains the chain text encoder -> PE SFT -> PE DPO(LoRA) from the synthetic
caption corpus and measures, on held-out prompts, attribute preservation and hallucination rate before
and after DPO, plus the DPO loss / reward margin on held-out preference pairs. Writes
`benchmarks/results/prompt_engineer.json`: per-seed figures, their mean and spread (held-out sets of
96 prompts are noisy: one rewrite is 0.01), pair counts, CPU seconds per stage and the machine.
The DPO recipe was tuned on seed 7 and checked by the slow test on seed 0; the seeds here are the
preset's seed and the two after it. Run by `make bench` (or `python benchmarks/prompt_engineer.py`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N_SEEDS = 3


def machine() -> dict:
    try:
        from benchmarks._machine import describe

        return describe()
    except Exception:
        return {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version()}


def run_seed(seed: int) -> dict:
    """The whole chain for one seed (one process, one thread: CPU seconds are comparable across seeds)."""
    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(1)
    from assets.prompting.settings import PromptingSettings
    from assets.prompting.train import train_prompt_engineer_dpo, train_prompt_engineer_sft
    from assets.text_encoding.corpus import synthetic_caption_corpus
    from assets.text_encoding.settings import TextEncoderSettings
    from assets.text_encoding.train import train_text_encoder
    from orchestration.presets import render_preset

    preset = render_preset("tiny")
    te_settings = TextEncoderSettings(**preset["text_encoder"])
    pe_settings = PromptingSettings(**preset["prompting"])
    quiet = {"enable_progress_bar": False, "enable_model_summary": False}
    out: dict = {"seed": seed}
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
        out["dpo"] = {"before": dpo.before, "after": dpo.after, "held_out_pairs_before": dpo.pairs_before,
                      "held_out_pairs_after": dpo.pairs_after, "pairs": dpo.n_pairs,
                      "on_policy_pairs": dpo.n_on_policy, "held_out_pairs": dpo.n_val_pairs,
                      "lora_trainable_parameters": dpo.trainable_params, "samples": dpo.samples,
                      "cpu_s": time.process_time() - c0, "wall_s": time.time() - t0}
    return out


def spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "values": values}


def summarise(runs: list[dict]) -> dict:
    def col(stage: str, key: str) -> list[float]:
        return [float(r["dpo"][stage][key]) for r in runs]

    before_h, after_h = col("before", "hallucination_rate"), col("after", "hallucination_rate")
    before_p, after_p = col("before", "attribute_preservation"), col("after", "attribute_preservation")
    return {
        "seeds": [r["seed"] for r in runs],
        "hallucination_rate_sft": spread(before_h),
        "hallucination_rate_dpo": spread(after_h),
        "hallucination_drop": spread([b - a for b, a in zip(before_h, after_h)]),
        "attribute_preservation_sft": spread(before_p),
        "attribute_preservation_dpo": spread(after_p),
        "parse_rate_sft": spread(col("before", "parse_rate")),
        "parse_rate_dpo": spread(col("after", "parse_rate")),
        "held_out_pair_loss_dpo": spread([float(r["dpo"]["held_out_pairs_after"]["dpo_loss"]) for r in runs]),
        "held_out_pair_margin_dpo": spread([float(r["dpo"]["held_out_pairs_after"]["reward_margin"]) for r in runs]),
        "seeds_where_dpo_lowered_hallucination": sum(a < b for b, a in zip(before_h, after_h)),
        "prompting_cpu_s": spread([r["sft"]["cpu_s"] + r["dpo"]["cpu_s"] for r in runs]),
    }


def main(n_seeds: int = N_SEEDS, jobs: int = 2) -> dict:
    from orchestration.presets import render_preset

    base = int(render_preset("tiny").get("seed", 0))
    seeds = [base + i for i in range(n_seeds)]
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no torch state shared across seeds
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, n_seeds)), mp_context=ctx) as pool:
        runs = list(pool.map(run_seed, seeds))
    out = {"preset": "tiny", "machine": machine(), "summary": summarise(runs), "runs": runs}
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "prompt_engineer.json").write_text(json.dumps(out, indent=2, ensure_ascii=False, default=float))
    return out


if __name__ == "__main__":
    print(json.dumps(main()["summary"], indent=2))
