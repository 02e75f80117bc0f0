"""SFT specialists and model merging (report 4.3) as plain functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from assets.finetuning.settings import FinetuningSettings
from assets.pretraining.sources import StageView
from models.dit.checkpoint import load_dit, save_dit
from models.dit.data import LatentDataset, SampleKey, collate
from models.dit.merge import average_state_dicts, merge_weights
from models.dit.training import StageConfig, validation_loss
from models.flow.schedule import FlowConfig


def category_rows(source: Any, column: str, category: str) -> list[int]:
    attr = getattr(source, "attribute", None)
    if attr is None:
        raise ValueError("the latent source has no per-row attributes; SFT needs a category column")
    return [i for i in range(len(source)) if str(attr(i, column)) == category]


def split_rows(rows: list[int], val_clips: int) -> tuple[list[int], list[int]]:
    """Hold out the last `val_clips` rows (at least one row stays for training)."""
    n_val = min(val_clips, max(0, len(rows) - 1))
    return rows[: len(rows) - n_val], rows[len(rows) - n_val :]


def view(source: Any, rows: list[int], s: FinetuningSettings) -> StageView:
    return StageView(source, latent_grid=s.latent_grid, max_frames=s.max_frames, image_share=0.1 if s.max_frames > 1 else 1.0,
                     rows=rows)


def val_batches(v: StageView, max_batch: int = 8) -> list[dict[str, torch.Tensor]]:
    """Fixed validation batches: the view's samples grouped by shape, long captions."""
    ds = LatentDataset(v)
    by_shape: dict[tuple[int, int, int], list[int]] = {}
    for i in range(len(v)):
        by_shape.setdefault(v.shape(i), []).append(i)
    out = []
    for shape in sorted(by_shape):
        idx = by_shape[shape]
        for j in range(0, len(idx), max_batch):
            out.append(collate([ds[SampleKey(k, "long", 0)] for k in idx[j : j + max_batch]]))
    return out


def stage_config(s: FinetuningSettings, seed: int) -> StageConfig:
    return StageConfig(steps=s.steps, lr=s.lr, warmup_steps=max(1, s.steps // 10), token_budget=s.token_budget,
                       task_shares={"i2v": s.i2v_share}, seed=seed, anneal=True)


def merge_specialists(
    dirs: list[Path], out_dir: Path, recipe: str, *, tokens: list[float], val_losses: list[float]
) -> tuple[Path, list[float]]:
    models = [load_dit(d)[0] for d in dirs]
    weights = merge_weights(recipe, tokens=tokens, val_losses=val_losses, n=len(models))
    merged = models[0]
    merged.load_state_dict(average_state_dicts([m.state_dict() for m in models], weights))
    _, cfg = load_dit(dirs[0])
    save_dit(merged, out_dir, extra={k: v for k, v in cfg.items() if k != "dit"} | {"merge": {"recipe": recipe, "weights": weights}})
    return out_dir, weights


def evaluate(dirs: list[Path], batches: list[dict[str, torch.Tensor]], flow: FlowConfig) -> list[float]:
    return [validation_loss(load_dit(d)[0], batches, flow) for d in dirs]
