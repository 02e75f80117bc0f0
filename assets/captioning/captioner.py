"""The `captioner` stage logic: training data from annotations (+ rendered shots), training, evaluation.

Training pairs are (frames of one shot, that shot's caption in EN/ZH x long/short). Shots are
captioned one at a time, as the report's multi-shot captions are per shot; a clip's caption is
assembled from its shots with explicit markers.

Synthetic augmentation: on the world, `augment_shots` extra labelled shots are rendered on the fly
with `assets.sourcing.world.render.render_shot` (attributes drawn with a flattened long tail so the
tail classes are seen). They pre-train the visual encoder (phase 1) and are added to the decoder's
caption data; the annotated clips stay the only real-video supervision.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
import torch
from tqdm import tqdm

from assets.captioning.frames import sample_indices, to_tensor
from assets.captioning.schema import (
    FORMS,
    LANGS,
    CaptionParseError,
    ShotCaption,
    parse_shot,
    render_shot,
    en_lexicon,
    zh_lexicon,
)
from assets.captioning.settings import CaptioningSettings
from assets.sourcing.world import vocabulary as V
from models.captioner.embedded import EmbeddedCaptioner, TrainReport
from models.captioner.network import CaptionerConfig
from models.captioner.tokenizer import CaptionTokenizer

# attributes of the per-shot accuracy; subject/colour/motion/count are those of the first-named subject
SHOT_ATTRIBUTES = ("subject", "colour", "motion", "count", "camera", "scene", "style")


def shot_labels(shot: ShotCaption) -> dict[str, int]:
    """Class index of each attribute (-1 when not described)."""
    m = shot.main
    values = {"subject": m.subject, "colour": m.colour, "motion": m.motion, "count": str(m.count),
              "camera": shot.camera, "scene": shot.scene, "style": shot.style}
    return {k: (V.keys(k).index(v) if v is not None else -1) for k, v in values.items()}


# phase-1 targets beyond the measured attributes: how many distinct subject groups the shot has and
# the attributes of the 2nd and 3rd group, so the decoder can write every subject of a full caption
SLOT_ATTRIBUTES = ("subject", "colour", "motion", "count")
GROUPS_KEY = "groups"


def encoder_labels(shot: ShotCaption) -> dict[str, int]:
    """Phase-1 class index of every head (-1: not described / no such subject group)."""
    out = shot_labels(shot)
    out[GROUPS_KEY] = len(shot.subjects) - 1
    for g in (1, 2):
        sub = shot.subjects[g] if g < len(shot.subjects) else None
        for a in SLOT_ATTRIBUTES:
            value = None if sub is None else str(getattr(sub, a))
            out[f"{a}{g + 1}"] = V.keys(a).index(value) if value is not None else -1
    return out


def encoder_heads() -> dict[str, int]:
    """Head name -> number of classes for phase 1."""
    spec = {k: len(V.keys(k)) for k in SHOT_ATTRIBUTES}
    spec[GROUPS_KEY] = 3
    for g in (2, 3):
        spec |= {f"{a}{g}": len(V.keys(a)) for a in SLOT_ATTRIBUTES}
    return spec


def label_tensors(shots: Sequence[ShotCaption]) -> dict[str, torch.Tensor]:
    rows = [encoder_labels(s) for s in shots]
    return {k: torch.tensor([r[k] for r in rows], dtype=torch.long) for k in rows[0]} if rows else {}


def shot_texts(shot: ShotCaption) -> list[tuple[str, str, str]]:
    """(text, lang, form) of one standalone shot in both languages and both forms."""
    alone = replace(shot, transition=None)
    return [(render_shot(alone, lang, form), lang, form) for lang in LANGS for form in FORMS]


def fit_tokenizer(shots: Sequence[ShotCaption]) -> CaptionTokenizer:
    texts = [(t, lang) for s in shots for t, lang, _ in shot_texts(s)]
    # every vocabulary name is seen at least once, even a tail class missing from the annotations
    for attr in ("subject", "colour", "motion", "camera", "scene", "style"):
        for key in V.keys(attr):
            texts += [(getattr(V.term(attr, key), lang), lang) for lang in LANGS]
    return CaptionTokenizer.fit(texts, zh_lexicon(), en_lexicon())


def _augmentation_world(long_tail: float, fps: int):
    from assets.sourcing.world.settings import WorldSettings

    # clean shots, flattened long tail: the encoder must know the tail classes the rebalancing upsamples
    return WorldSettings(long_tail=long_tail, fps=fps, blur_rate=0, jitter_rate=0, static_rate=0, low_light_rate=0,
                         unsafe_rate=0, watermark_rate=0, subtitle_rate=0, ticker_rate=0, duplicate_rate=0)


def render_augmentation(n: int, seed: int, frames: int, size: int | tuple[int, int], height: int = 72,
                        width: int = 128, fps: int = 12, long_tail: float = 0.3
                        ) -> tuple[torch.Tensor, list[ShotCaption]]:
    """`n` labelled shots rendered with the world renderer: (n, frames, 3, h, w) uint8 + captions
    (`size`: S for S x S, or the native-aspect view (h, w); see `frames.to_tensor`).

    Shots have the world's natural durations (min_shot_s..max_shot_s), so time-based motions (orbit,
    bounce, rotate) look as they do in real clips. uint8 keeps thousands of shots in little memory;
    the encoder's front end accepts uint8 or [0, 1] floats.
    """
    if n == 0:
        h, w = (size, size) if isinstance(size, int) else size
        return torch.zeros(0, frames, 3, h, w, dtype=torch.uint8), []
    from assets.captioning.ground_truth import shot_caption_from_spec
    from assets.sourcing.world.plan import sample_shot
    from assets.sourcing.world.render import render_shot as render_world_shot

    ws = _augmentation_world(long_tail, fps)
    rng = np.random.default_rng(seed)
    out, caps = [], []
    for _ in tqdm(range(n), desc="render augmentation shots", leave=False):
        spec = sample_shot(rng, ws)
        video = render_world_shot(spec, height, width, fps)  # (T', H, W, 3)
        out.append(to_tensor(video[sample_indices(0, video.shape[0], frames)], size).mul_(255).round_().to(torch.uint8))
        caps.append(shot_caption_from_spec(spec, None))
    return torch.stack(out), caps


# of the detector's K perception frames, those it trains on (cost: 4 of 6 frames per shot, as the judges)
DETECTOR_FRAMES = (0, 2, 3, 5)


def detector_training_set(n: int, seed: int, s: CaptioningSettings, height: int = 72, width: int = 128,
                          fps: int = 12) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], np.ndarray]:
    """`n` rendered augmentation-style shots at the detector's view with the renderer's subject positions:
    frames (n * F, H, W, 3) uint8, per frame tracks (K, 3) and classes (K, 3), and the subject count of each
    frame. Frames are picked exactly as the captioner samples them (shot frames, then perception frames)."""
    from assets.captioning.frames import sample_indices
    from assets.sourcing.world.plan import sample_shot
    from assets.sourcing.world.render import render_shot as render_world_shot
    from models.captioner.perception import perception_indices
    from models.perception.targets import subject_classes, subject_tracks

    vh, vw = s.view_shape
    ws = _augmentation_world(0.3, fps)
    rng = np.random.default_rng(seed)
    scale = np.array([vw / width, vh / height, np.sqrt(vw * vh / (width * height))], np.float32)
    pick = [f for f in DETECTOR_FRAMES if f < s.perception_frames]
    frames, tracks, classes = [], [], []
    for _ in tqdm(range(n), desc="render detector shots", leave=False):
        spec = sample_shot(rng, ws)
        video = render_world_shot(spec, height, width, fps)
        idx = sample_indices(0, video.shape[0], s.frames_per_shot)[perception_indices(s.frames_per_shot,
                                                                                      s.perception_frames)[pick]]
        tr = subject_tracks(spec, height, width, fps)
        for i in idx:
            frames.append(cv2.resize(video[i], (vw, vh), interpolation=cv2.INTER_AREA))
            tracks.append(tr[i] * scale)
            classes.append(subject_classes(spec))
    counts = np.array([min(len(t), 3) for t in tracks])
    return np.stack(frames), tracks, classes, counts


def train_subject_detector(s: CaptioningSettings, seed: int):
    """Phase 0 of the frozen encoder: the supervised subject detector and its peak threshold (chosen on
    its own training frames). -> (detector, threshold)."""
    from models.captioner.perception import choose_threshold
    from models.perception.detector import DetectorConfig, detector_maps, train_detector

    frames, tracks, classes, counts = detector_training_set(s.detector_shots, seed, s)
    detector = train_detector(frames, tracks, classes, cfg=DetectorConfig(s.detector_width), epochs=s.detector_epochs,
                              seed=seed)
    sub = slice(0, min(len(frames), 512))
    maps = detector_maps(detector, torch.from_numpy(frames[sub]).permute(0, 3, 1, 2).float().div(255.0))
    return detector, choose_threshold([m[None] for m in maps], counts[sub])


def captioner_config(s: CaptioningSettings, tokenizer: CaptionTokenizer, detector_threshold: float = 0.3
                     ) -> CaptionerConfig:
    return CaptionerConfig(
        vocab_size=tokenizer.vocab_size, width=s.width, heads=s.heads, decoder_layers=s.decoder_layers,
        max_tokens=s.max_tokens, frames=s.frames_per_shot, frame_size=s.frame_size, channels=s.channels,
        heads_spec=encoder_heads(), view_height=s.view_height, view_width=s.view_width,
        perception_frames=s.perception_frames, detector_width=s.detector_width, detector_threshold=detector_threshold,
        beams=s.beams,
    )


@dataclass
class CaptionerData:
    frames: torch.Tensor  # (N, T, 3, h, w) every training shot (annotated + rendered); h x w = s.view_shape
    shots: list[ShotCaption]  # its caption
    n_annotated: int  # the first n_annotated rows come from annotated clips


def train_captioner(s: CaptioningSettings, data: CaptionerData, seed: int,
                    trainer_kwargs: dict[str, Any] | None = None, logger: Any = None
                    ) -> tuple[EmbeddedCaptioner, TrainReport, CaptionTokenizer]:
    tokenizer = fit_tokenizer(data.shots)
    t0 = time.process_time()
    detector, threshold = train_subject_detector(s, seed) if s.view_height else (None, 0.3)
    detector_cpu = time.process_time() - t0
    cfg = captioner_config(s, tokenizer, threshold)
    captions = [(i, text, lang, form) for i, shot in enumerate(data.shots) for text, lang, form in shot_texts(shot)
                if form in s.decoder_forms]
    model, report = EmbeddedCaptioner.train(
        cfg, tokenizer, data.frames, label_tensors(data.shots), data.frames, captions,
        encoder_epochs=s.encoder_epochs, decoder_epochs=s.decoder_epochs, batch_size=s.batch_size, lr=s.lr,
        seed=seed, trainer_kwargs=trainer_kwargs, logger=logger, detector=detector, percept_epochs=s.percept_epochs,
    )
    report.detector_cpu_s = detector_cpu
    return with_grammar_check(model), report, tokenizer


def follows_grammar(text: str, lang: str) -> bool:
    """The beam filter: a generated shot caption the schema's strict parser accepts, in the form the renderer
    writes (identical subjects grouped with a count, `ground_truth.group_subjects`: "three red triangles",
    never "a red triangle, a red triangle and a red triangle" with one motion)."""
    shot = parse_or_none(text, lang)
    if shot is None:
        return False
    groups = [(s.subject, s.colour, s.motion) for s in shot.subjects]
    return len(set(groups)) == len(groups)


def with_grammar_check(model: Any) -> Any:
    """Give an embedded captioner the caption grammar as its beam filter (see `EmbeddedCaptioner.accept`);
    call it on a loaded checkpoint too (the check is code, not weights). Other backends pass through."""
    if isinstance(model, EmbeddedCaptioner):
        model.accept = follows_grammar
    return model


def parse_or_none(text: str, lang: str) -> ShotCaption | None:
    try:
        return parse_shot(text, lang)
    except (CaptionParseError, ValueError):
        return None


def shot_accuracy(pred: Sequence[ShotCaption | None], truth: Sequence[ShotCaption]) -> dict[str, float]:
    """Per-attribute accuracy of predicted shot captions (an unparseable caption is wrong everywhere)."""
    if not truth:
        return {k: float("nan") for k in (*SHOT_ATTRIBUTES, "parsed")}
    hits = dict.fromkeys(SHOT_ATTRIBUTES, 0)
    parsed = 0
    for p, t in zip(pred, truth, strict=True):
        if p is None:
            continue
        parsed += 1
        pl, tl = shot_labels(p), shot_labels(t)
        for k in SHOT_ATTRIBUTES:
            hits[k] += int(pl[k] == tl[k])
    out = {k: hits[k] / len(truth) for k in SHOT_ATTRIBUTES}
    out["parsed"] = parsed / len(truth)
    return out


def majority_baseline(train: Sequence[ShotCaption], test: Sequence[ShotCaption]) -> dict[str, float]:
    """Accuracy of always answering the most frequent training class: the floor a captioner must beat."""
    if not train or not test:
        return {}
    tr = [shot_labels(s) for s in train]
    te = [shot_labels(s) for s in test]
    out = {}
    for k in SHOT_ATTRIBUTES:
        values, counts = np.unique([r[k] for r in tr], return_counts=True)
        mode = values[int(np.argmax(counts))]
        out[k] = float(np.mean([r[k] == mode for r in te]))
    return out
