"""The curation scorers: pipeline-trained default, checkpoint round trip, the real HF backend slot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from assets.curation.settings import CurationSettings
from assets.curation.training import labelled_thumbnails
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
    s = CurationSettings(train_shots=64, analysis_width=128)
    world = WorldSettings()
    thumbs, _, unsafe = labelled_thumbnails(s, world, seed=3, frames_per_shot=2)
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


def test_laion_backend_fails_loudly_without_open_clip(tmp_path: Path) -> None:
    try:
        import open_clip  # noqa: F401

        pytest.skip("open_clip installed: the real backend would try to load weights")
    except Exception:
        pass
    with pytest.raises(RuntimeError, match="aesthetic_backend 'trained'"):
        LaionAestheticScorer(tmp_path)
