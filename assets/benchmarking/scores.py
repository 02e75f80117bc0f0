"""`benchmark_scores` logic: score every generated video on the four dimensions, calibrate to 1-5.

Inputs are plain: the suite, the generations table (model, prompt_id, local mp4 path, input frame),
a loaded judge and a cut detector. Outputs are tables:

* per video: raw dimension scores, per-fact judge verdicts, requested / detected shots, raw metrics;
* per model and dimension: mean raw score and mean Likert score (calibration from the references);
* per model and category: mean raw score of the category's probed dimension.

Calibration anchors come from the two references (`generation.py`): `reference:random_content` is
Likert 1, `reference:world_truth` Likert 5, per dimension (`evaluations.calibration`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from tqdm import tqdm

from assets.benchmarking.suite import BenchmarkPrompt
from evaluations.calibration import LikertAnchor, fit_anchor
from evaluations.judge_net import JudgeNet, clip_features
from evaluations.scoring import DIMENSIONS, VideoScore, score_video

REFERENCE_GOOD = "reference:world_truth"
REFERENCE_BAD = "reference:random_content"

SCORES_SCHEMA = pa.schema(
    [("model", pa.string()), ("kind", pa.string()), ("prompt_id", pa.string()), ("video_path", pa.string()),
     ("task", pa.string()),
     ("part", pa.string()), ("category", pa.string()), ("subcategory", pa.string()), ("lang", pa.string())]
    + [(d, pa.float64()) for d in DIMENSIONS]
    + [(f"likert_{d}", pa.float64()) for d in DIMENSIONS]
    + [("requested_shots", pa.int32()), ("detected_shots", pa.int32()), ("facts", pa.string()), ("metrics", pa.string())]
)


def judge_callable(model: JudgeNet) -> Callable[[np.ndarray], dict[str, str]]:
    """Wrap the judge network as `frames -> {attribute: predicted key}`."""
    cfg = model.cfg

    @torch.no_grad()
    def judge(frames: np.ndarray) -> dict[str, str]:
        a, f, h = clip_features(frames, cfg)
        out = model(torch.from_numpy(a[None]), torch.from_numpy(f[None]), torch.from_numpy(h[None]))
        return {k: cfg.heads[k][int(v.argmax(1))] for k, v in out.items()}

    return judge


@dataclass
class ScoredVideo:
    model: str
    kind: str
    prompt: BenchmarkPrompt
    score: VideoScore
    video_path: str = ""


def score_generations(
    rows: list[dict], prompts: dict[str, BenchmarkPrompt], *, read_video: Callable[[str], np.ndarray],
    read_frame: Callable[[str], np.ndarray], judge, cut_detector, dynamic_threshold: float, progress: bool = True,
) -> list[ScoredVideo]:
    """rows: generation manifest rows (model, kind, prompt_id, video_path, input_frame_path, fps)."""
    out = []
    for r in tqdm(rows, desc="score videos", disable=not progress):
        p = prompts[r["prompt_id"]]
        video = read_video(r["video_path"])
        first = read_frame(r["input_frame_path"]) if r.get("input_frame_path") else None
        truth = json.loads(p.truth) if p.truth else None
        s = score_video(video, task=p.task, fps=int(r["fps"]), truth=truth, first_frame=first, judge=judge,
                        cut_detector=cut_detector, dynamic_threshold=dynamic_threshold)
        out.append(ScoredVideo(r["model"], r["kind"], p, s, r["video_path"]))
    return out


def fit_calibration(scored: list[ScoredVideo]) -> dict[str, LikertAnchor]:
    anchors = {}
    for d in DIMENSIONS:
        bad = np.array([s.score.dimension(d) for s in scored if s.model == REFERENCE_BAD])
        good = np.array([s.score.dimension(d) for s in scored if s.model == REFERENCE_GOOD])
        a = fit_anchor(d, bad, good)
        if a.source == "references" and a.high <= a.low:
            # references that do not order a dimension cannot anchor it; fall back to the raw range
            a = LikertAnchor(d, 0.0, 1.0, "default_range(references_unordered)")
        anchors[d] = a
    return anchors


def scores_frame(scored: list[ScoredVideo], anchors: dict[str, LikertAnchor]) -> pd.DataFrame:
    recs = []
    for s in scored:
        p = s.prompt
        rec = {"model": s.model, "kind": s.kind, "prompt_id": p.prompt_id, "video_path": s.video_path,
               "task": p.task, "part": p.part,
               "category": p.category, "subcategory": p.subcategory, "lang": p.lang}
        for d in DIMENSIONS:
            raw = s.score.dimension(d)
            rec[d] = raw
            rec[f"likert_{d}"] = float(anchors[d].likert(raw)) if np.isfinite(raw) else float("nan")
        rec.update({"requested_shots": int(s.score.requested_shots or p.n_shots), "detected_shots": int(s.score.detected_shots),
                    "facts": json.dumps(s.score.facts, sort_keys=True), "metrics": json.dumps(s.score.metrics, sort_keys=True)})
        recs.append(rec)
    return pd.DataFrame(recs, columns=SCORES_SCHEMA.names)


def likert_summary(df: pd.DataFrame) -> pd.DataFrame:
    """model x dimension: mean Likert (the absolute score), mean raw score, videos scored."""
    rows = []
    for (model, kind), g in df.groupby(["model", "kind"], sort=False):
        for d in DIMENSIONS:
            raw = g[d].dropna()
            if raw.empty:
                continue
            rows.append({"model": model, "kind": kind, "dimension": d, "likert": float(g[f"likert_{d}"].dropna().mean()),
                         "raw": float(raw.mean()), "n": int(raw.size)})
    return pd.DataFrame(rows, columns=["model", "kind", "dimension", "likert", "raw", "n"])


# which dimension a taxonomy category probes most directly
CATEGORY_DIMENSION = {
    "subject": "prompt_following", "subject_description": "prompt_following", "action": "prompt_following",
    "action_description": "prompt_following", "camera": "prompt_following", "aesthetic": "aesthetic",
}


def category_summary(df: pd.DataFrame) -> pd.DataFrame:
    """model x category: mean raw score of the category's probed dimension (synthetic prompts; for
    open-world prompts, which have no prompt-following ground truth, motion quality)."""
    rows = []
    for (model, cat), g in df.groupby(["model", "category"], sort=False):
        d = CATEGORY_DIMENSION.get(cat, "prompt_following")
        vals = g[d].dropna()
        if vals.empty:
            vals = g["motion_quality"].dropna()
        rows.append({"model": model, "category": cat, "score": float(vals.mean()) if len(vals) else float("nan")})
    return pd.DataFrame(rows, columns=["model", "category", "score"])
