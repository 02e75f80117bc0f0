"""The captioner's subject evidence: native-aspect frames, the frozen detector's per-shot vector, the
percept routes of the phase-1 heads, and a checkpoint that carries the detector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assets.captioning.captioner import (
    captioner_config,
    detector_training_set,
    fit_tokenizer,
    render_augmentation,
)
from assets.captioning.frames import to_tensor
from assets.captioning.settings import CaptioningSettings
from models.captioner.embedded import EmbeddedCaptioner
from models.captioner.network import head_route
from models.captioner.perception import percept_size, percept_slices, shot_percepts
from models.perception.detector import DetectorConfig, SubjectDetector

S = CaptioningSettings(width=32, heads=2, decoder_layers=1, max_tokens=96, frames_per_shot=8, frame_size=16,
                       view_height=36, view_width=64, detector_shots=8)


def test_frames_keep_native_aspect() -> None:
    video = np.zeros((3, 144, 256, 3), np.uint8)
    video[:, 60:84, 116:140] = 255  # a square stays square in the view
    x = to_tensor(video, (72, 128))
    assert x.shape == (3, 3, 72, 128)
    ys, xs = torch.nonzero(x[0, 0] > 0.5, as_tuple=True)
    assert int(ys.max() - ys.min()) == int(xs.max() - xs.min())
    assert to_tensor(video, 32).shape == (3, 3, 32, 32)  # the old square call is unchanged


def test_settings_validate_the_view() -> None:
    assert S.view_shape == (36, 64) and CaptioningSettings().view_shape == (64, 64)
    with pytest.raises(ValueError):
        CaptioningSettings(view_height=36, view_width=0)
    with pytest.raises(ValueError):
        CaptioningSettings(view_height=35, view_width=64)


def test_detector_training_frames_carry_subject_positions() -> None:
    frames, tracks, classes, counts = detector_training_set(4, 0, S)
    assert frames.shape[1:] == (36, 64, 3) and len(frames) == len(tracks) == len(classes) == len(counts)
    for f, tr in zip(frames, tracks, strict=True):
        for x, y, r in tr:
            if 2 <= x < 62 and 2 <= y < 34 and r >= 2:  # an on-screen subject differs from the frame's median
                assert np.abs(f[int(y), int(x)].astype(int) - np.median(f.reshape(-1, 3), 0)).sum() > 20


def test_percept_vector_layout_and_routes() -> None:
    k = S.perception_frames
    sl = percept_slices(k)
    assert max(v.stop for v in sl.values()) == percept_size(k)
    assert head_route("subject", True) == "percept" and head_route("subject2", True) == "object"
    assert head_route("camera", True) == "scene" and head_route("subject") == "object"
    torch.manual_seed(0)
    det = SubjectDetector(DetectorConfig(8)).eval()
    frames, _ = render_augmentation(3, 0, S.frames_per_shot, S.view_shape)
    p = shot_percepts(det, frames, S.view_shape, k, 0.3)
    assert p.shape == (3, percept_size(k)) and torch.isfinite(p).all()
    # squashed frames from an older caller are resized to the view, not rejected
    sq, _ = render_augmentation(3, 0, S.frames_per_shot, 16)
    assert shot_percepts(det, sq, S.view_shape, k, 0.3).shape == p.shape


def test_checkpoint_with_detector_roundtrips(tmp_path) -> None:
    frames, shots = render_augmentation(6, 0, S.frames_per_shot, S.view_shape)
    tok = fit_tokenizer(shots)
    torch.manual_seed(0)
    model = EmbeddedCaptioner(captioner_config(S, tok, detector_threshold=0.35), tok)
    assert model.encoder.cfg.perceives and hasattr(model.encoder, "detector")
    memory = model.encoder(frames)
    assert memory.shape[-1] == model.cfg.memory_dim and memory.shape[1] == 66 + len(model.cfg.heads_spec) + 1
    before = model.caption(frames, "en", "long")
    model.save_pretrained(tmp_path)
    again = EmbeddedCaptioner.from_pretrained(tmp_path)
    assert again.cfg.detector_threshold == 0.35
    assert again.caption(frames, "en", "long") == before
    assert not any(p.requires_grad for p in again.encoder.parameters())
