"""The curriculum (report 4.1-4.3) as plain functions: one call trains one stage.

No Dagster here: `defs.py` resolves upstream assets, the preset and the resources, then calls
`run_stage`, which trains with Lightning, writes the model directory and returns what happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from assets.pretraining.settings import PretrainingSettings, StageSettings
from assets.pretraining.sources import StageView
from models.dit.checkpoint import load_dit, save_dit
from models.dit.config import DiTConfig
from models.dit.data import LatentSource
from models.dit.training import DiTTrainingModule, StageConfig, make_trainer
from models.flow.schedule import FlowConfig

# Order and upstream of the pre-training stages (asset name -> upstream asset).
STAGES: tuple[tuple[str, str | None], ...] = (
    ("dit_t2i", None),
    ("dit_joint_low", "dit_t2i"),
    ("dit_joint_high", "dit_joint_low"),
    ("dit_joint_24fps", "dit_joint_high"),
    ("dit_continue_training", "dit_joint_24fps"),
)


def dit_config(settings: PretrainingSettings, latent_channels: int, text_dim: int) -> DiTConfig:
    return DiTConfig(latent_channels=latent_channels, text_dim=text_dim, **settings.dit.model_dump())


def flow_config(settings: PretrainingSettings) -> FlowConfig:
    return FlowConfig(**settings.flow.model_dump())


def stage_config(stage: StageSettings, seed: int) -> StageConfig:
    kf = stage.keyframe_share
    return StageConfig(
        steps=stage.steps,
        lr=stage.lr,
        warmup_steps=min(stage.warmup_steps, stage.steps),
        anneal=stage.anneal,
        token_budget=stage.token_budget,
        task_shares={"i2v": stage.i2v_share, "first_last": kf / 2, "keyframes": kf / 2},
        short_caption_share=stage.short_caption_share,
        seed=seed,
    )


def stage_view(source: LatentSource, stage: StageSettings, rows: list[int] | None = None) -> StageView:
    return StageView(
        source,
        latent_grid=stage.latent_grid,
        max_frames=stage.max_frames,
        frame_stride=stage.frame_stride,
        image_share=stage.image_share,
        quality_quantile=stage.quality_quantile,
        rows=rows,
    )


@dataclass
class StageResult:
    model_dir: Path
    history: list[float]
    tokens: int
    seconds: float
    val_loss: float | None = None
    stopped_at: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


def run_stage(
    *,
    view: LatentSource,
    dit: DiTConfig,
    flow: FlowConfig,
    stage: StageConfig,
    out_dir: Path,
    init_dir: Path | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
    logger: Any = False,
    val_batches: Sequence[dict[str, torch.Tensor]] | None = None,
    val_every: int = 0,
    patience: int = 0,
    checkpoint_dir: Path | None = None,
    checkpoint_every: int = 0,
    extra_config: dict[str, Any] | None = None,
) -> StageResult:
    """Train one stage from `init_dir` (or from scratch) and save `out_dir` (config.json + safetensors)."""
    init_state = None
    if init_dir is not None:
        upstream, _ = load_dit(init_dir, overrides={"activation_checkpointing": dit.activation_checkpointing})
        if upstream.config.to_json() != dit.to_json():
            raise ValueError(f"stage config {dit} differs from its upstream {upstream.config}; widths must match")
        init_state = upstream.state_dict()
    module = DiTTrainingModule(dit, flow, stage, view, init_state=init_state, val_batches=val_batches)
    callbacks = []
    if val_batches and patience:
        from lightning.pytorch.callbacks import EarlyStopping

        callbacks.append(EarlyStopping("val/loss", patience=patience, mode="min", check_on_train_epoch_end=False))
    trainer = make_trainer(
        stage,
        trainer_kwargs=trainer_kwargs,
        logger=logger,
        callbacks=callbacks,
        val_every=val_every if val_batches else 0,
        checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
        checkpoint_every=checkpoint_every,
    )
    t0 = time.perf_counter()
    trainer.fit(module)
    seconds = time.perf_counter() - t0
    save_dit(module.dit, out_dir, extra={"flow": flow.to_dict(), "stage": stage.to_dict(), **(extra_config or {})})
    return StageResult(
        model_dir=out_dir,
        history=list(module.history),
        tokens=sum(module.batch_tokens),
        seconds=seconds,
        stopped_at=int(trainer.global_step),
    )


def loss_decreased(history: Sequence[float], window: float = 0.25) -> tuple[bool, float, float]:
    """Mean of the first vs last `window` share of steps; True when every loss is finite and it fell."""
    if not history:
        return False, float("nan"), float("nan")
    n = max(1, int(len(history) * window))
    first = sum(history[:n]) / n
    last = sum(history[-n:]) / n
    finite = all(torch.isfinite(torch.tensor(history)).tolist())
    return finite and last < first, first, last
