"""The curation scorers: pipeline-trained default, checkpoint round trip, the real HF backend slot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from assets.curation.settings import CurationSettings
from assets.curation.training import labelled_set, labelled_thumbnails
from assets.sourcing.world.settings import WorldSettings
from models.curation.scorers import (
    LaionAestheticScorer,
    PretrainedSafetyClassifier,
    ThumbClassifierConfig,
    TrainedThumbScorer,
    load_classifier,
    save_classifier,
    train_thumb_classifier,
)


def test_safety_classifier_learns_the_unsafe_class(tmp_path: Path) -> None:
    s = CurationSettings(train_shots=64, analysis_width=128, train_frames=2)
    world = WorldSettings()
    thumbs, _, unsafe = labelled_thumbnails(s, world, seed=3)
    assert thumbs.shape[1:] == (32, 32, 3) and 0 < unsafe.mean() < 1
    model, metrics = train_thumb_classifier(thumbs, unsafe, ThumbClassifierConfig(task="safety"), epochs=25, lr=3e-3, batch_size=16, seed=0)
    scorer = TrainedThumbScorer(model)
    assert scorer.backend == "fallback:trained-safety-cnn"
    p = scorer.score(thumbs)
    acc = float(((p >= 0.5) == unsafe.astype(bool)).mean())
    assert acc >= 0.85, metrics  # a broken model or mislabelled data stays near the base rate
    loaded = load_classifier(save_classifier(model, tmp_path / "ckpt"))
    assert np.allclose(TrainedThumbScorer(loaded).score(thumbs[:4]), p[:4])
    assert (tmp_path / "ckpt" / "model.safetensors").exists()


def test_pretrained_safety_backend_loads_a_local_hf_checkpoint(tmp_path: Path) -> None:
    from transformers import ViTConfig, ViTForImageClassification

    cfg = ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, image_size=32,
                    patch_size=8, num_labels=2, id2label={0: "safe", 1: "nsfw"}, label2id={"safe": 0, "nsfw": 1})  # fmt: skip
    torch.manual_seed(0)
    ViTForImageClassification(cfg).save_pretrained(tmp_path / "vit")
    clf = PretrainedSafetyClassifier(tmp_path / "vit")
    p = clf.score(np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8))
    assert p.shape == (3,) and np.all((p >= 0) & (p <= 1)) and clf.backend == "pretrained:vit"


def test_unsafe_twins_differ_only_by_the_emblem() -> None:
    """A shot and its unsafe twin share a group and render the same picture except the emblem."""
    s = CurationSettings(train_shots=12, train_frames=2, train_unsafe_twins=1.0, analysis_width=128)
    d = labelled_set(s, WorldSettings(), seed=1)
    assert len(d.thumbs) == 24 and d.unsafe.mean() == 0.5
    changed = []
    for g in np.unique(d.groups):
        idx = np.flatnonzero(d.groups == g)
        safe, unsafe = idx[d.unsafe[idx] == 0], idx[d.unsafe[idx] == 1]
        assert len(safe) == len(unsafe) == 2 and d.styles[safe[0]] == d.styles[unsafe[0]]
        diff = np.abs(d.thumbs[safe].astype(int) - d.thumbs[unsafe].astype(int)).max(axis=-1)  # (2, T, T)
        changed.append(float((diff > 40).mean()))
    # the emblem (a diamond of 40 % of the short side, dimmer in low light) changes a part of the
    # picture, never all of it; the rest of the twin is the same shot
    assert max(changed) < 0.5 and np.mean(changed) > 0.02, changed


def test_group_split_keeps_twins_on_one_side() -> None:
    rng = np.random.default_rng(0)
    thumbs = rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8)
    labels = (np.arange(40) % 2).astype(np.float32)
    groups = np.arange(40) // 2
    _, m = train_thumb_classifier(thumbs, labels, ThumbClassifierConfig(task="safety"), epochs=1, lr=1e-3, batch_size=8, seed=0, groups=groups)
    assert m["train/n"] == 32.0  # 4 of 20 groups held out, whole


def test_laion_backend_loads_a_local_hf_clip_tower_and_head(tmp_path: Path) -> None:
    """The real backend's transformers path: a CLIP vision tower (tiny random config) + LAION MLP head."""
    import json

    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8, projection_dim=8)  # fmt: skip
    CLIPVisionModelWithProjection(cfg).save_pretrained(tmp_path / "tower")
    dims = [8, 16, 1]
    head = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Linear(16, 1))
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(tmp_path / "head.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"vision": "tower", "dims": dims}))
    scorer = LaionAestheticScorer(tmp_path)
    thumbs = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    p = scorer.score(thumbs)
    assert p.shape == (3,) and p.dtype == np.float32 and np.all((p >= 0) & (p <= 1))
    assert scorer.backend == "laion:hf-clip-tower" and scorer.score(thumbs[:0]).shape == (0,)
    # the head's output really drives the score: a head biased to LAION 10 gives 1.0
    with torch.no_grad():
        head[1].bias.fill_(1e4)
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(tmp_path / "head.safetensors"))
    assert np.allclose(LaionAestheticScorer(tmp_path).score(thumbs), 1.0)


def test_laion_backend_fails_loudly_without_weights(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="aesthetic_backend 'trained'"):
        LaionAestheticScorer(tmp_path)
    (tmp_path / "config.json").write_text('{"vision": "../outside"}')
    with pytest.raises(ValueError, match="outside"):
        LaionAestheticScorer(tmp_path)
