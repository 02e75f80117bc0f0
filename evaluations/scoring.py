"""Per-video scores on the report's four dimensions (7.2.2), from judges and weight-free metrics.

Raw scores, each in [0, 1], higher is better:

* motion_quality   = mean of four terms: temporal flicker score, motion smoothness (interpolation
                     proxy), warping consistency 1 - min(1, 4 * warping_error), and a dynamics term
                     that penalises "unnaturally static subjects" when the prompt asks for motion:
                     min(1, dynamic_degree / threshold) (1 when the prompt asks for stillness).
* prompt_following = share of the prompt's checkable facts the judges confirm: per requested shot,
                     subject, colour, count, motion, camera, style, scene (T2V), or motion and camera
                     (I2V, whose static content comes from the input frame); plus one fact "the video has
                     the requested number of shots". NaN for open-world prompts (no ground truth).
* aesthetic        = `aesthetic_proxy` (weight-free fallback) or a real scorer passed in.
* preservation     = I2V only: `video_metrics.preservation(...).score` against the input frame.

Shots of a multi-shot video are located with the detected cuts when their number matches the request,
else by splitting the video into equal parts (so a model that forgets to cut still gets each part's
content checked, and loses only the shot-count fact).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from evaluations import video_metrics as VM
from evaluations.shot_count import equal_spans, shot_spans

DIMENSIONS: tuple[str, ...] = ("motion_quality", "prompt_following", "aesthetic", "preservation")
T2V_FACTS: tuple[str, ...] = ("subject", "colour", "count", "motion", "camera", "style", "scene")
I2V_FACTS: tuple[str, ...] = ("motion", "camera")

Judge = Callable[[np.ndarray], dict[str, str]]  # shot frames [T,H,W,3] -> {attribute: predicted key}
CutDetector = Callable[[np.ndarray, int], list[int]]  # (frames, fps) -> cut frame indices
AestheticScorer = Callable[[np.ndarray], float]


@dataclass
class VideoScore:
    motion_quality: float
    prompt_following: float
    aesthetic: float
    preservation: float
    requested_shots: int
    detected_shots: int
    facts: dict[str, float] = field(default_factory=dict)  # attribute -> share correct over shots
    metrics: dict[str, float] = field(default_factory=dict)  # the raw weight-free metrics

    def dimension(self, name: str) -> float:
        return float(getattr(self, name))


def motion_quality(video: np.ndarray, wants_motion: bool, dynamic_threshold: float = 0.004) -> tuple[float, dict[str, float]]:
    flicker = VM.temporal_flicker(video)
    smooth = VM.motion_smoothness(video)
    warp = VM.warping_error(video)
    dyn = VM.dynamic_degree(video, dynamic_threshold)
    dynamics = min(1.0, dyn.magnitude / dynamic_threshold) if wants_motion else 1.0
    terms = [flicker, smooth, 1.0 - min(1.0, 4.0 * warp), dynamics]
    metrics = {
        "temporal_flicker": flicker,
        "proxy_motion_smoothness": smooth,
        "proxy_warping_error": warp,
        "proxy_dynamic_degree": dyn.magnitude,
        "dynamic": float(dyn.dynamic),
    }
    return float(np.mean(terms)), metrics


def prompt_following(
    video: np.ndarray, truth: dict, task: str, cuts: list[int], judge: Judge
) -> tuple[float, dict[str, float], int]:
    """(score, per-attribute share correct, detected shots) for a synthetic prompt's ground truth
    (`DenseCaption.to_dict()` form: {"shots": [{"subjects": [...], "camera", "scene", "style"}]})."""
    shots = truth["shots"]
    n_req = len(shots)
    n_det = len(cuts) + 1
    spans = shot_spans(len(video), cuts) if n_det == n_req else equal_spans(len(video), n_req)
    facts_names = T2V_FACTS if task == "t2v" else I2V_FACTS
    hits: dict[str, list[float]] = {k: [] for k in facts_names}
    for shot, (a, b) in zip(shots, spans):
        seg = video[a:b] if b - a >= 2 else video[max(0, a - 1) : a + 1]
        pred = judge(seg)
        main = shot["subjects"][0]
        want = {
            "subject": main["subject"], "colour": main["colour"], "count": str(main["count"]),
            "motion": main["motion"], "camera": shot.get("camera"), "style": shot.get("style"),
            "scene": shot.get("scene"),
        }
        for k in facts_names:
            if want[k] is not None:
                hits[k].append(float(pred.get(k) == want[k]))
    facts = {k: float(np.mean(v)) for k, v in hits.items() if v}
    facts["shots"] = float(n_det == n_req)
    all_hits = [x for v in hits.values() for x in v] + [facts["shots"]]
    return float(np.mean(all_hits)), facts, n_det


def score_video(
    video: np.ndarray,
    *,
    task: str,
    fps: int,
    truth: dict | None,
    first_frame: np.ndarray | None,
    judge: Judge | None,
    cut_detector: CutDetector,
    aesthetic_scorer: AestheticScorer | None = None,
    dynamic_threshold: float = 0.004,
) -> VideoScore:
    """All four dimensions of one generated video (NaN where a dimension does not apply)."""
    wants_motion = True
    if truth is not None:
        wants_motion = any(
            s.get("camera") not in (None, "static") or any(x["motion"] != "still" for x in s["subjects"])
            for s in truth["shots"]
        )
    mq, metrics = motion_quality(video, wants_motion, dynamic_threshold)
    cuts = cut_detector(video, fps)
    if truth is not None and judge is not None:
        pf, facts, n_det = prompt_following(video, truth, task, cuts, judge)
        n_req = len(truth["shots"])
    else:
        pf, facts, n_det, n_req = float("nan"), {}, len(cuts) + 1, 0
    aes = float(aesthetic_scorer(video)) if aesthetic_scorer else VM.aesthetic_proxy(video)
    if task == "i2v" and first_frame is not None:
        pres = VM.preservation(video, first_frame)
        pr = pres.score
        metrics.update({"preservation_first_frame": pres.first_frame, "preservation_colour": pres.colour_consistency,
                        "preservation_temporal": pres.temporal_consistency})
    else:
        pr = float("nan")
    return VideoScore(mq, pf, aes, pr, n_req, n_det, facts, metrics)
