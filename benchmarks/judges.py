"""Automatic judges of the benchmark: held-out accuracy per attribute at the tiny preset's sizes, the
shot detector's exact-count accuracy, the separation of ground-truth renders from random content by
prompt following, and the cost of each part. Writes benchmarks/results/judges.json.

    python -m benchmarks.judges [--train 800 --val 160 --epochs 14]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from assets.benchmarking.generation import degraded_reference, random_reference, request_for, truth_reference
from assets.benchmarking.judges import HEADS, RenderSpec, frames_shot_counter, train_and_validate, validate_shot_counter
from assets.benchmarking.scores import judge_callable
from assets.benchmarking.settings import BenchmarkingSettings
from assets.benchmarking.suite import build_suite
from evaluations.scoring import score_video
from evaluations.shot_count import detect_cuts

OUT = Path(__file__).resolve().parent / "results" / "judges.json"


def main(argv: list[str] | None = None) -> None:
    d = BenchmarkingSettings()  # defaults = the tiny preset
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--train", type=int, default=d.judge_train_shots)
    p.add_argument("--val", type=int, default=d.judge_val_shots)
    p.add_argument("--epochs", type=int, default=d.judge_epochs)
    p.add_argument("--prompts", type=int, default=24)
    args = p.parse_args(argv or [])
    torch.set_num_threads(1)
    spec = RenderSpec(d.height, d.width, d.fps, d.frames_per_shot)

    t0 = time.time()
    trained = train_and_validate(spec, n_train=args.train, n_val=args.val, epochs=args.epochs, seed=0,
                                 size=d.judge_size, width=d.judge_width, progress=True)
    t_judges = time.time() - t0
    t0 = time.time()
    shots_acc, shot_rows = validate_shot_counter(frames_shot_counter, spec, 40, seed=0)
    t_shots = time.time() - t0

    judge = judge_callable(trained.model)
    prompts = build_suite(t2v_prompts=args.prompts, i2v_prompts=0, open_world_fraction=0.0, seed=1)
    refs = {"world_truth": truth_reference(d.frames_per_shot, d.reference_noise),
            "degraded_truth": degraded_reference(d.frames_per_shot),
            "random_content": random_reference(d.frames_per_shot, d.reference_noise)}
    pf: dict[str, list[float]] = {k: [] for k in refs}
    mq: dict[str, list[float]] = {k: [] for k in refs}
    t0 = time.time()
    for pr in prompts:
        req = request_for(pr, height=d.height, width=d.width, fps=d.fps, frames_per_shot=d.frames_per_shot)
        for name, gen in refs.items():
            s = score_video(gen(req), task="t2v", fps=d.fps, truth=json.loads(pr.truth), first_frame=None, judge=judge,
                            cut_detector=lambda v, fps: detect_cuts(v, fps, min_shot_frames=max(2, fps // 3)))
            pf[name].append(s.prompt_following)
            mq[name].append(s.motion_quality)
    t_score = (time.time() - t0) / (len(prompts) * len(refs))

    from benchmarks._machine import describe

    result = {
        "config": {"train_shots": args.train, "val_shots": args.val, "epochs": args.epochs, "size": d.judge_size,
                   "width": d.judge_width, "render": f"{spec.height}x{spec.width}@{spec.fps}fps, {spec.frames_per_shot} frames"},
        "held_out_accuracy": {k: round(v, 4) for k, v in trained.accuracy.items()},
        "chance": {k: round(1 / len(v), 4) for k, v in HEADS.items()},
        "train_accuracy": {k: round(v, 4) for k, v in trained.train_accuracy.items()},
        "shots_exact_accuracy": round(shots_acc, 4),
        "shots_by_request": {str(k): round(float(np.mean([r["detected"] == k for r in shot_rows if r["requested"] == k])), 3)
                             for k in (1, 2, 3, 4)},
        "prompt_following_mean": {k: round(float(np.mean(v)), 4) for k, v in pf.items()},
        "motion_quality_mean": {k: round(float(np.mean(v)), 4) for k, v in mq.items()},
        "seconds": {"render_and_train_judges": round(t_judges, 1), "shot_validation_40_videos": round(t_shots, 1),
                    "score_one_video": round(t_score, 3)},
        "machine": describe(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("held_out_accuracy", "shots_exact_accuracy", "prompt_following_mean", "seconds")}, indent=1))


if __name__ == "__main__":
    main()
