"""`judges` logic: train the automatic judges on the synthetic world's ground truth and validate them.

Training shots are rendered on the fly with the world's own `make_shot` / `render_shot`, attributes
drawn uniformly (every class equally often, unlike the world's long tail), with light corruptions
(sensor noise, sometimes blur) so the judges tolerate the artefacts of generated video. Validation
uses a disjoint seed stream (held-out shots never seen in training) and reports accuracy per attribute.

The shot-count judge is not trained: it is the shot detector, validated here on held-out multi-shot
videos rendered with hard cuts, dissolves and fades (accuracy = exact shot count). Backends:
`curation` (the curation stage's single-pass analysis on an mp4, the pipeline's own detector) or
`fallback:pyscenedetect_frames` (`evaluations.shot_count`, frames in memory).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assets.common.seeding import stable_seed
from assets.sourcing.world import vocabulary as V
from assets.sourcing.world.plan import Transition, VideoSpec, make_shot
from assets.sourcing.world.render import render_shot, render_video
from evaluations.judge_net import JudgeConfig, JudgeNet, clip_features, predict, train_judge
from evaluations.shot_count import detect_cuts
from evaluations.video_io import write_mp4

HEADS: dict[str, list[str]] = {
    "subject": V.keys("subject"),
    "colour": V.keys("colour"),
    "count": V.keys("count"),
    "motion": V.keys("motion"),
    "camera": V.keys("camera"),
    "style": V.keys("style"),
    "scene": V.keys("scene"),
}


@dataclass(frozen=True)
class RenderSpec:
    height: int
    width: int
    fps: int
    frames_per_shot: int


def random_attributes(rng: np.random.Generator) -> dict[str, str]:
    return {k: str(rng.choice(v)) for k, v in HEADS.items()}


def render_labelled(attrs: dict[str, str], spec: RenderSpec, seed: int, *, noise: float = 2.0, blur: bool = False) -> np.ndarray:
    """Render one shot with the given attribute keys: [frames_per_shot, H, W, 3] uint8."""
    shot = make_shot(
        subject=attrs["subject"], colour=attrs["colour"], motion=attrs["motion"], count=int(attrs["count"]),
        camera=attrs["camera"], scene=attrs["scene"], style=attrs["style"], n_frames=spec.frames_per_shot,
        seed=seed, noise_seed=stable_seed(seed, "noise"), noise_sigma=noise,
        defects=("blur",) if blur else (),
    )
    return render_shot(shot, spec.height, spec.width, spec.fps)


def labelled_set(n: int, spec: RenderSpec, cfg: JudgeConfig, seed: int, split: str, progress: bool = False):
    """n rendered shots -> (appearance [N,12,S,S], flow [N,2P,S/2,S/2], hist [N,H], labels {head: [N]})."""
    apps, flows, hists = [], [], []
    labels = {k: np.zeros(n, dtype=np.int64) for k in HEADS}
    for i in tqdm(range(n), desc=f"render {split} shots", disable=not progress):
        rng = np.random.default_rng(stable_seed(seed, "judges", split, i))
        attrs = random_attributes(rng)
        video = render_labelled(attrs, spec, seed=stable_seed(seed, "judges", split, i, "content"),
                                noise=float(rng.uniform(1.0, 8.0)), blur=bool(rng.random() < 0.15))
        a, f, h = clip_features(video, cfg)
        apps.append(a)
        flows.append(f)
        hists.append(h)
        for k in HEADS:
            labels[k][i] = HEADS[k].index(attrs[k])
    return np.stack(apps), np.stack(flows), np.stack(hists), labels


def accuracy(pred: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(np.mean(pred[k] == labels[k])) for k in labels}


@dataclass
class JudgeTraining:
    model: JudgeNet
    accuracy: dict[str, float]  # held-out accuracy per head
    train_accuracy: dict[str, float]
    history: list[float]
    n_train: int
    n_val: int


def train_and_validate(
    spec: RenderSpec, *, n_train: int, n_val: int, epochs: int, seed: int, size: int = 48,
    width: int = 16, lr: float = 1e-2, progress: bool = False,
) -> JudgeTraining:
    cfg = JudgeConfig(heads=HEADS, size=size, width=width)
    a_tr, f_tr, h_tr, y_tr = labelled_set(n_train, spec, cfg, seed, "train", progress)
    a_va, f_va, h_va, y_va = labelled_set(n_val, spec, cfg, seed, "val", progress)
    result = train_judge(a_tr, f_tr, h_tr, y_tr, cfg, epochs=epochs, lr=lr, seed=seed, progress=progress)
    acc = accuracy(predict(result.model, a_va, f_va, h_va), y_va)
    tr_acc = accuracy(predict(result.model, a_tr[:n_val], f_tr[:n_val], h_tr[:n_val]), {k: v[:n_val] for k, v in y_tr.items()})
    return JudgeTraining(result.model, acc, tr_acc, result.history, n_train, n_val)


# ------------------------------------------------------------------------------ shot counting
ShotCounter = Callable[[np.ndarray, int], int]  # (frames [T,H,W,3], fps) -> number of shots


def frames_shot_counter(frames: np.ndarray, fps: int) -> int:
    return 1 + len(detect_cuts(frames, fps, min_shot_frames=max(2, fps // 3)))


def curation_shot_counter(curation_settings) -> ShotCounter:
    """The curation stage's detector (single decode pass over an mp4), with its minimum shot length
    lowered to what the benchmark's short shots need (generated shots can be under a second)."""
    from assets.curation.analysis import analyse_video  # lazy: curation is optional for the maths

    s = curation_settings.model_copy(update={"min_shot_s": min(curation_settings.min_shot_s, 0.25)})

    def count(frames: np.ndarray, fps: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_mp4(frames, Path(tmp) / "v.mp4", fps)
            return 1 + len(analyse_video(path, s).cuts)

    return count


def make_shot_counter(curation_settings=None) -> tuple[ShotCounter, str]:
    """The curation detector when its module and settings are available, else the named fallback."""
    if curation_settings is not None:
        try:
            import assets.curation.analysis  # noqa: F401

            return curation_shot_counter(curation_settings), "curation"
        except ImportError:
            pass
    return frames_shot_counter, "fallback:pyscenedetect_frames"


def multishot_video(n_shots: int, spec: RenderSpec, seed: int) -> np.ndarray:
    """A held-out multi-shot video: consecutive shots differ in scene and subject, joined by random
    transitions (cut / dissolve / fade), as the benchmark's multi-shot prompts ask for."""
    rng = np.random.default_rng(seed)
    scenes = list(rng.choice(V.keys("scene"), size=n_shots, replace=False))
    shots, transitions = [], []
    for i in range(n_shots):
        attrs = random_attributes(rng)
        shots.append(make_shot(subject=attrs["subject"], colour=attrs["colour"], motion=attrs["motion"],
                               camera=attrs["camera"], scene=str(scenes[i]), style=attrs["style"],
                               n_frames=spec.frames_per_shot, seed=int(rng.integers(2**31))))
        if i:
            kind = str(rng.choice(V.keys("transition")))
            n = 0 if kind == "cut" else max(2, spec.frames_per_shot // 4)
            transitions.append(Transition(kind, n))
    video = VideoSpec("bench", spec.fps, spec.height, spec.width, tuple(shots), tuple(transitions))
    return np.stack(list(render_video(video)))


def validate_shot_counter(counter: ShotCounter, spec: RenderSpec, n: int, seed: int) -> tuple[float, list[dict]]:
    rows = []
    for i in range(n):
        k = 1 + i % 4  # 1-4 shots, uniform
        video = multishot_video(k, spec, stable_seed(seed, "judges", "shots", i))
        got = counter(video, spec.fps)
        rows.append({"requested": k, "detected": got})
    acc = float(np.mean([r["requested"] == r["detected"] for r in rows])) if rows else float("nan")
    return acc, rows
