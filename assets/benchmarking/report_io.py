"""`benchmark_report` logic: gather the scores, arena and judges into `evaluations.report.ReportData`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assets.benchmarking.scores import REFERENCE_BAD, REFERENCE_GOOD
from assets.benchmarking.settings import BenchmarkingSettings
from assets.common.manifest import read_manifest
from evaluations.bradley_terry import LeaderboardRow
from evaluations.report import ReportData, RenderedReport, ablation_table, render_report
from evaluations.video_io import read_mp4
from evaluations.video_metrics import PRETRAINED_SLOTS

STRIP_FRAMES = 6


def frame_strip(video: np.ndarray, k: int = STRIP_FRAMES) -> np.ndarray:
    """k evenly spaced frames side by side [H, k*W, 3]."""
    idx = np.linspace(0, len(video) - 1, k).round().astype(int)
    return np.concatenate([video[i] for i in idx], axis=1)


def pick_sample_prompt(df: pd.DataFrame, prompts) -> str:
    """A multi-shot synthetic T2V prompt if there is one (it shows the most), else the first prompt."""
    by_id = {p.prompt_id: p for p in prompts}
    ids = list(dict.fromkeys(df["prompt_id"]))
    for pid in ids:
        p = by_id.get(pid)
        if p and p.task == "t2v" and p.part == "synthetic" and p.n_shots > 1:
            return pid
    return ids[0]


def ablation_frame(df: pd.DataFrame, likert: pd.DataFrame, gsb: pd.DataFrame, s: BenchmarkingSettings,
                   seed: int = 0) -> tuple[pd.DataFrame | None, str, str]:
    """(table, summary sentence, note) of the temporal-text ablation; a note instead when it cannot be shown."""
    v, base = s.temporal_text_variant, s.temporal_text_baseline
    if not v:
        return None, "", ("temporal-text ablation off: set benchmarking.temporal_text_variant to the model partition "
                          "of a DiT trained with temporal_sees_text=True (dit_temporal_text_ablation) to report it here")
    have = set(likert["model"])
    if v not in have or base not in have:
        return None, "", f"temporal-text ablation: {v if v not in have else base} has no scored videos yet"
    table, summary = ablation_table(df, likert, gsb, variant=v, baseline=base, n_boot=s.bootstrap, alpha=s.alpha,
                                    seed=seed)
    return table, summary, ""


def build_report(store, s: BenchmarkingSettings, scores_value: dict[str, Any], arena_value: dict[str, Any],
                 judges_value: dict[str, Any], prompts, *, order: list[str]) -> tuple[RenderedReport, list[str]]:
    df = read_manifest(store, scores_value["videos"]).to_pandas()
    likert = read_manifest(store, scores_value["likert"]).to_pandas()
    cats = read_manifest(store, scores_value["categories"]).to_pandas()
    gsb = read_manifest(store, arena_value["gsb"]).to_pandas()
    board = [LeaderboardRow(**r) for r in arena_value["leaderboard"]]
    # the ablation variant is not a curriculum stage: plotted and ranked, but left out of the stage chain
    variant = s.temporal_text_variant
    models = [m for m in scores_value.get("models", []) if m != variant]
    extra = [variant] if variant and variant in scores_value.get("models", []) else []
    references = [m for m in order if m.startswith("reference:") and m in set(df["model"])]

    shots = pd.DataFrame({"model": df["model"], "requested": df["requested_shots"], "detected": df["detected_shots"],
                          "videos": 1})  # one row per video
    judges = pd.DataFrame([{"judge": k, "accuracy": v, "floor": judges_value["floors"].get(k, float("nan")),
                            "passed": bool(v >= judges_value["floors"].get(k, 0.0))}
                           for k, v in judges_value["accuracy"].items()])
    pid = pick_sample_prompt(df, prompts)
    samples = {}
    for m in models + extra + references:
        row = df[(df["model"] == m) & (df["prompt_id"] == pid)]
        if len(row):
            samples[m] = frame_strip(read_mp4(store.local_path(row["video_path"].iloc[0])))
    ablation, ablation_summary, ablation_note = ablation_frame(df, likert, gsb, s, seed=s.seed)

    notes = [
        f"References ({', '.join(references)}) are world renders, not models: {REFERENCE_GOOD} renders the "
        f"prompt's ground truth (Likert 5 anchor), {REFERENCE_BAD} random content (Likert 1 anchor), "
        "reference:degraded_truth the truth with heavy noise and brightness flicker.",
        "Proxies in use: " + "; ".join(f"{k}: {v['proxy']} (real metric: {v['real']})" for k, v in PRETRAINED_SLOTS.items()),
        f"Shot detector: {scores_value.get('cut_detector', 'fallback:pyscenedetect_frames')}.",
        f"Sample frames: prompt {pid}.",
    ]
    if not models:
        notes.append("No model partition of benchmark_generations is materialized: the report shows the references "
                     "only. Materialize the curriculum and benchmark_generations to compare training stages.")
    if ablation_note:
        notes.append(ablation_note)
    calib = pd.DataFrame(scores_value.get("calibration", []))
    data = ReportData(
        title="seedflow benchmark (SeedVideoBench-style)", models=models,
        likert=likert, categories=cats, leaderboard=board, gsb=gsb, shots=shots, judges=judges, samples=samples,
        ablation=ablation, ablation_summary=ablation_summary, extra_models=extra, references=references, notes=notes, calibration=calib if len(calib) else None,
    )
    return render_report(data), notes
