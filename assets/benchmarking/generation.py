"""`benchmark_generations` logic: run the suite through a video generator with fixed seeds.

A generator is any callable `GenerationRequest -> uint8 [T, H, W, 3]`. Three kinds exist:

* a pipeline checkpoint through the DiT engineer's `assets.pretraining.generate.generate(...)`
  (`checkpoint_generator`) - the models the benchmark is about;
* `reference:world_truth` - the synthetic world renders the prompt's ground truth (with sensor noise).
  It is the upper calibration anchor (Likert 5) and the "good model" the judges must recognise;
* `reference:random_content` - the world renders a random shot unrelated to the prompt: the lower
  anchor (Likert 1) and the "bad model" the judges must reject.

The two references are labelled as references everywhere (manifest column `kind`, report); they are
never presented as model outputs.

I2V input frames are rendered from the ground truth's first shot with the prompt's seed, so the
input image and the ground truth agree exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from assets.benchmarking.judges import HEADS
from assets.benchmarking.suite import BenchmarkPrompt
from assets.common.seeding import stable_seed
from assets.sourcing.world.plan import Transition, VideoSpec, make_shot
from assets.sourcing.world.render import render_shot, render_video

GENERATIONS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),  # partition key: the model asset (or reference) that generated it
        ("kind", pa.string()),  # "model" | "reference"
        ("prompt_id", pa.string()),
        ("task", pa.string()),
        ("seed", pa.int64()),
        ("video_path", pa.string()),  # store path of the mp4
        ("video_sha256", pa.string()),
        ("input_frame_path", pa.string()),  # I2V: store path of the input png; "" for T2V
        ("n_frames", pa.int32()),
        ("height", pa.int32()),
        ("width", pa.int32()),
        ("fps", pa.int32()),
    ]
)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: BenchmarkPrompt
    n_frames: int
    height: int
    width: int
    fps: int
    seed: int
    first_frame: np.ndarray | None  # [H, W, 3] uint8 for I2V


VideoGenerator = Callable[[GenerationRequest], np.ndarray]


def _transition(kind: str | None, frames_per_shot: int) -> Transition:
    if kind in (None, "cut"):
        return Transition("cut", 0)
    return Transition(kind, max(2, frames_per_shot // 4))


def render_truth(truth: dict, *, height: int, width: int, fps: int, frames_per_shot: int, seed: int,
                 noise: float = 2.0) -> np.ndarray:
    """Render a ground-truth dense caption (`DenseCaption.to_dict()`) with the world renderer."""
    shots = []
    for i, s in enumerate(truth["shots"]):
        shots.append(make_shot(
            subjects=[(x["subject"], x["colour"], x["motion"]) for x in s["subjects"] for _ in range(int(x["count"]))][:3],
            camera=s.get("camera") or "static", scene=s.get("scene") or "sky", style=s.get("style") or "natural",
            n_frames=frames_per_shot, seed=stable_seed(seed, "shot", i), noise_seed=stable_seed(seed, "noise", i),
            noise_sigma=noise,
        ))
    transitions = tuple(_transition(s.get("transition"), frames_per_shot) for s in truth["shots"][1:])
    return np.stack(list(render_video(VideoSpec("bench", fps, height, width, tuple(shots), transitions))))


def input_frame(prompt: BenchmarkPrompt, *, height: int, width: int, fps: int, frames_per_shot: int) -> np.ndarray | None:
    """The I2V input image: frame 0 of the ground truth's first shot, noise-free."""
    if prompt.task != "i2v":
        return None
    truth = json.loads(prompt.truth)
    first = {"shots": truth["shots"][:1]}
    return render_truth(first, height=height, width=width, fps=fps, frames_per_shot=2, seed=prompt.seed, noise=0.0)[0]


def truth_reference(frames_per_shot: int, noise: float) -> VideoGenerator:
    """`reference:world_truth`: renders the prompt's ground truth (open-world prompts: a fixed neutral
    shot, since there is no truth to render)."""

    def gen(req: GenerationRequest) -> np.ndarray:
        if req.prompt.truth:
            truth = json.loads(req.prompt.truth)
        else:
            truth = {"shots": [{"subjects": [{"subject": "circle", "colour": "red", "count": 1, "motion": "right"}],
                                "camera": "static", "scene": "sky", "style": "natural"}] * req.prompt.n_shots}
        return render_truth(truth, height=req.height, width=req.width, fps=req.fps,
                            frames_per_shot=frames_per_shot, seed=req.seed, noise=noise)

    return gen


def random_reference(frames_per_shot: int, noise: float) -> VideoGenerator:
    """`reference:random_content`: a random single shot, unrelated to the prompt, same length."""

    def gen(req: GenerationRequest) -> np.ndarray:
        rng = np.random.default_rng(stable_seed(req.seed, "random_content"))
        attrs = {k: str(rng.choice(v)) for k, v in HEADS.items()}
        n = req.n_frames
        shot = make_shot(subject=attrs["subject"], colour=attrs["colour"], motion=attrs["motion"],
                         count=int(attrs["count"]), camera=attrs["camera"], scene=attrs["scene"],
                         style=attrs["style"], n_frames=n, seed=int(rng.integers(2**31)), noise_sigma=noise)
        return render_shot(shot, req.height, req.width, req.fps)

    return gen


def request_for(prompt: BenchmarkPrompt, *, height: int, width: int, fps: int, frames_per_shot: int) -> GenerationRequest:
    n_frames = frames_per_shot * prompt.n_shots
    if prompt.truth:
        # the rendered truth is shorter by the transition overlaps; ask every model for that length
        truth = json.loads(prompt.truth)
        overlap = sum(_transition(s.get("transition"), frames_per_shot).n_frames for s in truth["shots"][1:])
        n_frames -= overlap
    return GenerationRequest(prompt, n_frames, height, width, fps, prompt.seed,
                             input_frame(prompt, height=height, width=width, fps=fps, frames_per_shot=frames_per_shot))


def degraded_reference(frames_per_shot: int) -> VideoGenerator:
    """`reference:degraded_truth`: the ground truth with heavy sensor noise and per-frame brightness
    flicker - right content, poor quality; it belongs between the two anchors."""

    def gen(req: GenerationRequest) -> np.ndarray:
        video = truth_reference(frames_per_shot, noise=20.0)(req).astype(np.float32)
        rng = np.random.default_rng(stable_seed(req.seed, "degraded"))
        gain = rng.uniform(0.8, 1.2, size=(len(video), 1, 1, 1))  # [T, 1, 1, 1] brightness flicker
        return np.clip(video * gain, 0, 255).astype(np.uint8)

    return gen


def reference_generators(frames_per_shot: int, noise: float) -> dict[str, VideoGenerator]:
    return {
        "reference:world_truth": truth_reference(frames_per_shot, noise),
        "reference:degraded_truth": degraded_reference(frames_per_shot),
        "reference:random_content": random_reference(frames_per_shot, noise),
    }


def latent_frames_for(n_shots: int, per_shot: int, cap: int) -> int:
    return max(1, min(cap, per_shot * n_shots))


def checkpoint_generator(store, model_value: dict, *, steps: int, latent_frames_per_shot: int,
                         max_latent_frames: int) -> VideoGenerator:
    """A pipeline checkpoint through the DiT engineer's `assets.pretraining.generate.generate`
    (lazy import). The model is loaded once; every request uses the prompt's fixed seed.

    Output size is the model's own (latent grid x VAE factor); I2V input frames are resized to it,
    learnt from the first T2V output (or a probe generation when the suite starts with I2V)."""
    import cv2

    from assets.pretraining.generate import generate, load_model  # noqa: PLC0415

    model = load_model(store, model_value)
    size: dict[str, tuple[int, int]] = {}

    def pixel_size(seed: int) -> tuple[int, int]:
        if "hw" not in size:
            probe = generate(model, ["a red circle"], seed, frames=1, steps=1)[0]
            size["hw"] = probe.shape[1:3]
        return size["hw"]

    def gen(req: GenerationRequest) -> np.ndarray:
        frames = latent_frames_for(req.prompt.n_shots, latent_frames_per_shot, max_latent_frames)
        conditions = ()
        if req.first_frame is not None:
            h, w = pixel_size(req.seed)
            img = cv2.resize(req.first_frame, (w, h), interpolation=cv2.INTER_AREA)
            conditions = ((img, 0),)
        video = generate(model, [req.prompt.text], req.seed, frames=frames, steps=steps, conditions=conditions)[0]
        size.setdefault("hw", video.shape[1:3])
        return np.asarray(video, dtype=np.uint8)

    return gen
