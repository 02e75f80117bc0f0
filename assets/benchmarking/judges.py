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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from assets.common.seeding import stable_seed
from assets.sourcing.world import vocabulary as V
from assets.sourcing.world.plan import ShotSpec, Transition, VideoSpec, make_shot
from assets.sourcing.world.render import render_shot, render_video
from evaluations.judge_net import JudgeConfig, JudgeNet, clip_features, perception_indices, predict, train_judge
from models.perception.detector import DetectorConfig, detector_maps, peaks, train_detector
from models.perception.targets import subject_classes, subject_tracks
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


def labelled_shot(attrs: dict[str, str], spec: RenderSpec, seed: int, *, noise: float = 2.0, blur: bool = False) -> ShotSpec:
    return make_shot(
        subject=attrs["subject"], colour=attrs["colour"], motion=attrs["motion"], count=int(attrs["count"]),
        camera=attrs["camera"], scene=attrs["scene"], style=attrs["style"], n_frames=spec.frames_per_shot,
        seed=seed, noise_seed=stable_seed(seed, "noise"), noise_sigma=noise,
        defects=("blur",) if blur else (),
    )


def render_labelled(attrs: dict[str, str], spec: RenderSpec, seed: int, *, noise: float = 2.0, blur: bool = False) -> np.ndarray:
    """Render one shot with the given attribute keys: [frames_per_shot, H, W, 3] uint8."""
    return render_shot(labelled_shot(attrs, spec, seed, noise=noise, blur=blur), spec.height, spec.width, spec.fps)


@dataclass
class LabelledSet:
    app: np.ndarray  # [N, 6 + 3K, S, S]
    flow: np.ndarray  # [N, 2P, S/2, S/2]
    hist: np.ndarray  # [N, H]
    labels: dict[str, np.ndarray]  # head -> [N]
    tracks: list[np.ndarray]  # per shot [K, count, 3]: subject x, y, radius at S in the K perception frames
    classes: list[np.ndarray]  # per shot [count, 3]: shape, colour, motion index of each subject


def labelled_set(n: int, spec: RenderSpec, cfg: JudgeConfig, seed: int, split: str, progress: bool = False) -> LabelledSet:
    """n rendered shots with their features, labels and (for the subject detector) ground-truth tracks."""
    apps, flows, hists, tracks, classes = [], [], [], [], []
    labels = {k: np.zeros(n, dtype=np.int64) for k in HEADS}
    for i in tqdm(range(n), desc=f"render {split} shots", disable=not progress):
        rng = np.random.default_rng(stable_seed(seed, "judges", split, i))
        attrs = random_attributes(rng)
        shot = labelled_shot(attrs, spec, seed=stable_seed(seed, "judges", split, i, "content"),
                             noise=float(rng.uniform(1.0, 8.0)), blur=bool(rng.random() < 0.15))
        video = render_shot(shot, spec.height, spec.width, spec.fps)
        a, f, h = clip_features(video, cfg)
        if cfg.perception_frames:  # where the subjects are in the detector's frames (pixels at S x S)
            tr = subject_tracks(shot, spec.height, spec.width, spec.fps)[perception_indices(len(video), cfg.perception_frames)]
            tracks.append(tr * np.array([cfg.size / spec.width, cfg.size / spec.height,
                                         cfg.size / np.sqrt(spec.width * spec.height)], np.float32))
            classes.append(subject_classes(shot))
        apps.append(a)
        flows.append(f)
        hists.append(h)
        for k in HEADS:
            labels[k][i] = HEADS[k].index(attrs[k])
    return LabelledSet(np.stack(apps), np.stack(flows), np.stack(hists), labels, tracks, classes)


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


DETECTOR_FRAMES = (0, 2, 3, 5)  # of the K perception frames, those the detector trains on (cost)


def choose_threshold(maps: list, counts: np.ndarray) -> float:
    """Peak threshold with the best shot-count accuracy (mode of per-frame peak counts) on training shots."""
    best, best_acc = 0.3, -1.0
    for thr in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        pred = [np.bincount([min(len(p), 3) for p in peaks(m, thr)], minlength=4).argmax() for m in maps]
        acc = float(np.mean(np.array(pred) == counts))
        if acc > best_acc:
            best, best_acc = thr, acc
    return best


def train_and_validate(
    spec: RenderSpec, *, n_train: int, n_val: int, epochs: int, seed: int, size: int = 48,
    width: int = 16, lr: float = 1e-2, progress: bool = False, perception_frames: int = 6,
    detector_epochs: int = 8, detector_width: int = 24,
) -> JudgeTraining:
    cfg = JudgeConfig(heads=HEADS, size=size, width=width, perception_frames=perception_frames,
                      detector_width=detector_width)
    tr = labelled_set(n_train, spec, cfg, seed, "train", progress)
    va = labelled_set(n_val, spec, cfg, seed, "val", progress)
    detector, p_tr, p_va = None, None, None
    if perception_frames:
        # 1. the subject detector, supervised by the renderer's subject positions (training shots only)
        k = perception_frames
        frames = tr.app[:, 6:].reshape(n_train, k, 3, size, size)  # [N, K, 3, S, S] in [0, 1]
        sel = [f for f in DETECTOR_FRAMES if f < k]
        u8 = (frames[:, sel].transpose(0, 1, 3, 4, 2) * 255 + 0.5).astype(np.uint8).reshape(-1, size, size, 3)
        detector = train_detector(u8, [t[f] for t in tr.tracks for f in sel], [c for c in tr.classes for _ in sel],
                                  cfg=DetectorConfig(detector_width), epochs=detector_epochs, seed=seed, progress=progress)
        # 2. its peak threshold, chosen on training shots
        maps = detector_maps(detector, torch.from_numpy(frames[:256].reshape(-1, 3, size, size))).unflatten(0, (min(256, n_train), k))
        thr = choose_threshold(list(maps), tr.labels["count"][:256] + 1)
        cfg = replace(cfg, detector_threshold=thr)
        probe = JudgeNet(cfg)
        probe.detector.load_state_dict(detector.state_dict())
        p_tr = torch.cat([probe.perceive(torch.from_numpy(tr.app[i:i + 256])) for i in range(0, n_train, 256)]).numpy()
        p_va = torch.cat([probe.perceive(torch.from_numpy(va.app[i:i + 256])) for i in range(0, n_val, 256)]).numpy()
    result = train_judge(tr.app, tr.flow, tr.hist, tr.labels, cfg, epochs=epochs, lr=lr, seed=seed, progress=progress,
                         detector=detector, percept=p_tr)
    acc = accuracy(predict(result.model, va.app, va.flow, va.hist, percept=p_va), va.labels)
    m = n_val
    tr_acc = accuracy(predict(result.model, tr.app[:m], tr.flow[:m], tr.hist[:m], percept=None if p_tr is None else p_tr[:m]),
                      {k: v[:m] for k, v in tr.labels.items()})
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
