"""Thumbnail scorers for curation: aesthetic quality and safety, behind one interface.

Embedded default: `ThumbClassifier`, a small CNN trained by the pipeline with Lightning on labelled
thumbnails (labels from the synthetic world's defects / unsafe class), named `fallback:trained-*`.
Real backends, for GPU installs with weights on disk, behind the same `score(thumbs)` interface:
- `LaionAestheticScorer`: a CLIP image tower (Hugging Face `CLIPVisionModelWithProjection`, or
  open_clip, imported lazily) plus the LAION aesthetic MLP head (safetensors).
- `PretrainedSafetyClassifier`: any Hugging Face image-classification checkpoint (e.g. an NSFW
  classifier) loaded with `from_pretrained(local_path)`; the unsafe probability is the sum over
  labels named in `unsafe_labels`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import lightning as L
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn


class ThumbScorer(Protocol):
    backend: str

    def score(self, thumbs: np.ndarray) -> np.ndarray:
        """(N, T, T, 3) uint8 RGB -> (N,) probabilities in [0, 1]."""
        ...


@dataclass
class ThumbClassifierConfig:
    size: int = 32  # thumbnail side
    width: int = 16  # channels of the first conv
    task: str = "aesthetic"  # "aesthetic" (P(good)) or "safety" (P(unsafe))


class ThumbClassifier(nn.Module):
    """Three strided convs, global average + max pooling, one logit."""

    def __init__(self, cfg: ThumbClassifierConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(4 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 3, T, T) in [0, 1] -> f: (B, 2w, T/8, T/8)
        f = self.features(x)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)  # (B, 4w)
        return self.head(pooled).squeeze(1)  # (B,)


def to_tensor(thumbs: np.ndarray) -> torch.Tensor:
    """(N, T, T, 3) uint8 -> (N, 3, T, T) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(thumbs)).permute(0, 3, 1, 2).float() / 255.0


class ScorerModule(L.LightningModule):
    def __init__(self, cfg: ThumbClassifierConfig, lr: float):
        super().__init__()
        self.model = ThumbClassifier(cfg)
        self.lr = lr
        self.loss = nn.BCEWithLogitsLoss()

    def training_step(self, batch, _):
        x, y = batch
        loss = self.loss(self.model(x), y)
        self.log("train/loss", loss, prog_bar=False, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        logits = self.model(x)
        self.log("val/loss", self.loss(logits, y), on_epoch=True)
        self.log("val/accuracy", ((logits > 0).float() == y).float().mean(), on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def train_thumb_classifier(
    thumbs: np.ndarray,
    labels: np.ndarray,
    cfg: ThumbClassifierConfig,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    logger=None,
    trainer_kwargs: dict | None = None,
    groups: np.ndarray | None = None,
) -> tuple[ThumbClassifier, dict[str, float]]:
    """Train on (N, T, T, 3) thumbnails with binary labels; 20 % held out for validation.

    `groups` (N,): the shot each thumbnail comes from; the split then holds out whole groups, so
    frames of one shot (or a shot and its unsafe twin) never sit on both sides of it."""
    L.seed_everything(seed, workers=True)
    n = len(thumbs)
    rng = np.random.default_rng(seed)
    if groups is None:
        perm = rng.permutation(n)
        n_val = max(1, n // 5)
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
    else:
        ids = rng.permutation(np.unique(groups))
        held = np.isin(groups, ids[: max(1, len(ids) // 5)])
        val_idx, tr_idx = np.flatnonzero(held), np.flatnonzero(~held)
    x = to_tensor(thumbs)
    y = torch.as_tensor(labels, dtype=torch.float32)
    # Augment the training half with horizontal flips: defects and the unsafe emblem are flip-invariant.
    xt = torch.cat([x[tr_idx], x[tr_idx].flip(3)])
    yt = torch.cat([y[tr_idx], y[tr_idx]])
    g = torch.Generator().manual_seed(seed)
    train_dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xt, yt), batch_size=batch_size, shuffle=True, generator=g)
    val_dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[val_idx], y[val_idx]), batch_size=256)
    module = ScorerModule(cfg, lr)
    kwargs = {"accelerator": "cpu", "devices": 1} | dict(trainer_kwargs or {})
    trainer = L.Trainer(
        max_epochs=epochs, deterministic=True, logger=logger if logger is not None else False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, **kwargs,
    )  # fmt: skip
    trainer.fit(module, train_dl, val_dl)
    model = module.model.eval()
    with torch.no_grad():
        p = torch.sigmoid(model(x[val_idx])).numpy()
    yv = labels[val_idx].astype(bool)
    pred = p >= 0.5
    metrics = {
        "val/accuracy": float((pred == yv).mean()),
        "val/precision": float((pred & yv).sum() / max(1, pred.sum())),
        "val/recall": float((pred & yv).sum() / max(1, yv.sum())),
        "train/n": float(len(tr_idx)),
    }
    return model, metrics


class TrainedThumbScorer:
    """The embedded default backend (a pipeline-trained ThumbClassifier)."""

    def __init__(self, model: ThumbClassifier):
        self.model = model.eval()
        self.backend = f"fallback:trained-{model.cfg.task}-cnn"

    def score(self, thumbs: np.ndarray) -> np.ndarray:
        if len(thumbs) == 0:
            return np.zeros(0, np.float32)
        with torch.no_grad():
            return torch.sigmoid(self.model(to_tensor(thumbs))).numpy().astype(np.float32)


def save_classifier(model: ThumbClassifier, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(asdict(model.cfg), sort_keys=True, indent=1))
    return out


def load_classifier(path: str | Path) -> ThumbClassifier:
    path = Path(path)
    cfg = ThumbClassifierConfig(**json.loads((path / "config.json").read_text()))
    model = ThumbClassifier(cfg)
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    return model.eval()


class LaionAestheticScorer:
    """LAION-style aesthetic predictor: CLIP image embedding -> MLP -> score in [1, 10] -> [0, 1].

    `path/config.json` chooses the vision tower:
    - `{"vision": "<subdir>", "dims": [...]}`: a Hugging Face CLIP vision tower with projection
      (`CLIPVisionModelWithProjection.from_pretrained(path/<subdir>)`, safetensors), loaded with
      transformers; the path the CPU tests exercise with a tiny random config.
    - `{"clip_model": "ViT-L-14", "clip_weights": "<file>", "dims": [...]}`: an open_clip model,
      imported here only (open_clip does not import on the CPU machine).
    Both feed the L2-normalised image embedding to the MLP in `path/head.safetensors` (linear layers
    only, as the LAION predictor: its dropouts are identities at inference).
    """

    def __init__(self, path: str | Path, device: str = "cpu"):
        path = Path(path)
        if not (path / "config.json").exists():
            raise RuntimeError(
                f"aesthetic_backend 'laion' needs config.json + head.safetensors (and a vision tower) at {path}; "
                "use aesthetic_backend 'trained' for the embedded default"
            )
        cfg = json.loads((path / "config.json").read_text())
        self.device = device
        if "vision" in cfg:
            from transformers import CLIPVisionModelWithProjection

            tower = (path / cfg["vision"]).resolve()
            if path.resolve() not in tower.parents:  # the tower stays inside the model directory
                raise ValueError(f"vision tower {cfg['vision']!r} lies outside {path}")
            self.clip = CLIPVisionModelWithProjection.from_pretrained(str(tower)).to(device).eval()
            size = int(self.clip.config.image_size)
            self._embed = lambda thumbs: self.clip(pixel_values=_clip_pixels(thumbs, size).to(device)).image_embeds
            self.backend = f"laion:hf-clip-{Path(cfg['vision']).name}"
        else:
            try:
                import open_clip
            except Exception as exc:  # noqa: BLE001
                raise RuntimeError(
                    "aesthetic_backend 'laion' with an open_clip model needs open_clip_torch (pip install '.[gpu]') "
                    f"and weights at {path}; use aesthetic_backend 'trained' for the embedded default ({exc})"
                ) from exc
            from PIL import Image

            self.clip, _, preprocess = open_clip.create_model_and_transforms(
                cfg["clip_model"], pretrained=str(path / cfg["clip_weights"]), device=device
            )
            self._embed = lambda thumbs: self.clip.encode_image(
                torch.stack([preprocess(Image.fromarray(t)) for t in thumbs]).to(device)
            )
            self.backend = f"laion:{cfg['clip_model']}"
        dims = cfg.get("dims", [768, 1024, 128, 64, 16, 1])
        self.head = nn.Sequential(*[nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)]).to(device)
        self.head.load_state_dict(load_file(str(path / "head.safetensors")))

    def score(self, thumbs: np.ndarray) -> np.ndarray:
        if len(thumbs) == 0:
            return np.zeros(0, np.float32)
        with torch.no_grad():
            e = self._embed(thumbs).float()
            e = e / e.norm(dim=-1, keepdim=True)
            s = self.head(e).squeeze(1)  # LAION scale ~1..10
        return ((s.cpu().numpy() - 1.0) / 9.0).clip(0, 1).astype(np.float32)


_CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
_CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


def _clip_pixels(thumbs: np.ndarray, size: int) -> torch.Tensor:
    """(N, T, T, 3) uint8 -> (N, 3, size, size) CLIP-normalised (bicubic resize, CLIP's mean/std)."""
    x = torch.nn.functional.interpolate(to_tensor(thumbs), size=(size, size), mode="bicubic", align_corners=False)
    return (x.clamp(0, 1) - _CLIP_MEAN) / _CLIP_STD


class PretrainedSafetyClassifier:
    """A Hugging Face image classifier from a local directory; P(unsafe) = sum of unsafe labels."""

    def __init__(self, path: str | Path, unsafe_labels: tuple[str, ...] = ("nsfw", "unsafe", "porn", "hentai", "sexy", "violence")):
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self.model = AutoModelForImageClassification.from_pretrained(str(path)).eval()
        try:
            self.processor = AutoImageProcessor.from_pretrained(str(path))
        except Exception:  # noqa: BLE001 - checkpoints without a processor: plain resize + normalise
            self.processor = None
        labels = {i: str(n).lower() for i, n in self.model.config.id2label.items()}
        self.unsafe_ids = [i for i, n in labels.items() if any(u in n for u in unsafe_labels)]
        if not self.unsafe_ids:
            raise ValueError(f"safety checkpoint {path} has no label among {unsafe_labels}: {labels}")
        self.backend = f"pretrained:{Path(path).name}"

    def score(self, thumbs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            if self.processor is not None:
                x = self.processor(images=list(thumbs), return_tensors="pt")["pixel_values"]
            else:
                size = int(getattr(self.model.config, "image_size", 224))
                x = torch.nn.functional.interpolate(to_tensor(thumbs), size=(size, size), mode="bilinear")
            probs = self.model(pixel_values=x).logits.softmax(-1)
        return probs[:, self.unsafe_ids].sum(-1).numpy().astype(np.float32)
