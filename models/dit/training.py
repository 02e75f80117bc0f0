"""Lightning training of SeedDiT: one stage of the curriculum (report 4.1-4.3, 6.1).

Resumability: every random draw of a step (task, time, noise, caption dropout) comes from a
generator keyed by (seed, rank, step) and every batch from `TokenBudgetBatchSampler.batch_for(step,
rank)`, so a run killed after step k and resumed from its checkpoint replays steps k+1.. exactly.
The checkpoint (safetensors, `SafetensorsCheckpointIO`) holds weights, AdamW moments, the LR
scheduler, Lightning's loop counters, the global RNG states (Python, NumPy, torch) and the
data-loader position (`seedflow.data_loader.next_step`).
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import lightning as L
import numpy as np
import torch

from models.dit.config import DiTConfig
from models.dit.data import LatentDataset, LatentSource, TokenBudgetBatchSampler, collate, mix_seed
from models.dit.model import SeedDiT
from models.dit.tasks import condition_from_frames, sample_task_masks
from models.flow.loss import flow_matching_loss, interpolate
from models.flow.schedule import FlowConfig, resolution_shift, time_shift, training_times


@dataclass(frozen=True)
class StageConfig:
    """One curriculum stage's optimisation settings."""

    steps: int = 100
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup_steps: int = 10
    anneal: bool = False  # cosine-anneal the LR to final_lr_ratio * lr (report 4.2: CT anneals)
    final_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    token_budget: int = 512  # latent tokens per rank per step
    max_batch: int = 32
    task_shares: dict[str, float] = field(default_factory=lambda: {"i2v": 0.2})
    short_caption_share: float = 0.0  # CT: train on motion-only short captions too
    seed: int = 0
    max_nan_skips: int = 3  # consecutive non-finite losses tolerated (the step is skipped)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dit_loss(
    model: SeedDiT,
    batch: dict[str, torch.Tensor],
    flow: FlowConfig,
    task_shares: dict[str, float],
    generator: torch.Generator,
    text_dropout: float | None = None,
) -> torch.Tensor:
    """Flow-matching loss of one batch under the unified task formulation."""
    x0 = batch["latents"]  # (B, C, T, H, W)
    b, _, t_len, h, w = x0.shape
    dev = x0.device
    masks, _ = sample_task_masks(t_len, b, task_shares, generator)  # (B, T)
    cond, cmask = condition_from_frames(x0, masks.to(dev))
    t = training_times(b, t_len * h * w, flow, generator).to(dev)  # (B,)
    noise = torch.randn(x0.shape, generator=generator).to(dev)
    x_t, v_target = interpolate(x0, noise, t)
    p_drop = flow.text_dropout if text_dropout is None else text_dropout
    keep = (torch.rand(b, generator=generator) >= p_drop).to(dev)  # caption dropout -> CFG null text
    text_mask = batch["text_mask"].bool() & keep[:, None]
    v_pred = model(x_t, t, cond, cmask, batch["text"], text_mask, batch["frame_shot"], batch["text_shot"])
    return flow_matching_loss(v_pred, v_target, 1.0 - cmask)


@torch.no_grad()
def validation_loss(
    model: SeedDiT, batches: Sequence[dict[str, torch.Tensor]], flow: FlowConfig, seed: int = 0
) -> float:
    """Deterministic validation loss: fixed noise, fixed stratified times, t2v/t2i tasks, no dropout."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i, batch in enumerate(batches):
        g = torch.Generator().manual_seed(mix_seed(seed, "val", i))
        total += float(dit_loss(model, batch, flow, {}, g, text_dropout=0.0))
        count += 1
    model.train(was_training)
    return total / max(count, 1)


def probe_times(k: int, tokens: int, flow: FlowConfig) -> torch.Tensor:
    """(k,) fixed flow times: the (i + 0.5) / k quantiles of the stage's logit-normal, shifted for the
    latent size, so a probe weights noise levels the way training does but draws nothing at random."""
    q = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    u = flow.logit_mean + flow.logit_std * math.sqrt(2.0) * torch.special.erfinv(2 * q - 1)  # normal quantiles
    return time_shift(torch.sigmoid(u), resolution_shift(tokens, flow)).float()


@torch.no_grad()
def probe_losses(
    model: SeedDiT,
    batches: Sequence[dict[str, torch.Tensor]],
    flow: FlowConfig,
    seed: int = 0,
    times: int = 8,
    task_shares: dict[str, float] | None = None,
) -> torch.Tensor:
    """Flow-matching loss per (sample, probe time) on fixed batches, (n_samples, times), for the loss check.

    Every sample is evaluated at `times` fixed quantile times with noise and task (from the stage's
    `task_shares`: i2v, keyframes, else t2v / t2i) drawn from (seed, batch, time index); no caption
    dropout. The loss counts the generated frames only, as in training. Called with the same
    arguments before and after a stage, the two vectors are paired (same x0, noise, t; only the
    weights differ), which removes most of the noise that makes a per-step training loss useless
    for telling whether a short stage learned anything.
    """
    was_training = model.training
    model.eval()
    out = []
    for i, batch in enumerate(batches):
        x0 = batch["latents"]  # (B, C, T, H, W)
        b, _, t_len, h, w = x0.shape
        ts = probe_times(times, t_len * h * w, flow)
        per = torch.zeros(b, len(ts))
        for k, tk in enumerate(ts.tolist()):
            g = torch.Generator().manual_seed(mix_seed(seed, "probe", i, k))
            masks, _ = sample_task_masks(t_len, b, task_shares or {}, g)  # (B, T)
            cond, cmask = condition_from_frames(x0, masks)
            noise = torch.randn(x0.shape, generator=g)
            t = torch.full((b,), tk)
            x_t, v_target = interpolate(x0, noise, t)
            v = model(x_t, t, cond, cmask, batch["text"], batch["text_mask"].bool(),
                      batch["frame_shot"], batch["text_shot"])
            err = (v.float() - v_target.float()).pow(2).mean(dim=(1, 3, 4))  # (B, T)
            w = 1.0 - cmask.float()  # generated frames only
            per[:, k] = (err * w).sum(1) / w.sum(1).clamp(min=1.0)  # (B,)
        out.append(per)
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, times)


def lr_lambda(stage: StageConfig):
    def f(step: int) -> float:
        if step < stage.warmup_steps:
            return (step + 1) / stage.warmup_steps
        if not stage.anneal:
            return 1.0
        p = (step - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps)
        return stage.final_lr_ratio + (1 - stage.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))

    return f


class NonFiniteLossError(RuntimeError):
    pass


class DiTTrainingModule(L.LightningModule):
    """Trains one curriculum stage; `init_state` (the upstream stage's weights) is assigned onto a
    meta-device model, so no time is spent on an initialisation that would be overwritten."""

    def __init__(
        self,
        dit: DiTConfig,
        flow: FlowConfig,
        stage: StageConfig,
        source: LatentSource | None = None,
        init_state: dict[str, torch.Tensor] | None = None,
        val_batches: Sequence[dict[str, torch.Tensor]] | None = None,
    ) -> None:
        super().__init__()
        self.dit_config, self.flow, self.stage = dit, flow, stage
        if init_state is not None:
            with torch.device("meta"):
                self.dit = SeedDiT(dit)
            self.dit.load_state_dict(init_state, strict=True, assign=True)
        else:
            torch.manual_seed(mix_seed(stage.seed, "init"))
            self.dit = SeedDiT(dit)
        self.source = source
        self.val_batches = list(val_batches or [])
        self.start_step = 0  # data-loader position; set from the checkpoint on resume
        self.nan_skips = 0
        self.history: list[float] = []  # train/loss per step on this rank (for the asset checks)
        self.batch_tokens: list[int] = []  # latent tokens per step on this rank (balance, throughput)

    # --- data ---------------------------------------------------------------------------------
    def train_dataloader(self) -> torch.utils.data.DataLoader:
        if self.source is None:
            raise ValueError("DiTTrainingModule needs a latent source to train")
        trainer = self._trainer
        rank = trainer.global_rank if trainer is not None else 0
        world = trainer.world_size if trainer is not None else 1
        sampler = TokenBudgetBatchSampler(
            self.source,
            steps=self.stage.steps,
            token_budget=self.stage.token_budget,
            seed=self.stage.seed,
            rank=rank,
            world_size=world,
            start_step=self.start_step,
            max_batch=self.stage.max_batch,
            short_caption_share=self.stage.short_caption_share,
        )
        return torch.utils.data.DataLoader(LatentDataset(self.source), batch_sampler=sampler, collate_fn=collate)

    def val_dataloader(self) -> Any:
        # The batches are pre-formed (grouped by shape); batch_size=None yields them as they are. A bare
        # list would be read by Lightning as one dataloader per batch.
        return torch.utils.data.DataLoader(self.val_batches, batch_size=None) if self.val_batches else []

    # --- steps --------------------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        step = int(batch["step"][0])
        g = torch.Generator().manual_seed(mix_seed(self.stage.seed, "step", self.global_rank, step))
        loss = dit_loss(self.dit, batch, self.flow, self.stage.task_shares, g)
        tokens = int(batch["latents"][:, 0].numel())
        self.batch_tokens.append(tokens)
        if not torch.isfinite(loss):
            # NaN guard: skip the update (Lightning skips the step when None is returned) and stop
            # after too many in a row rather than training on garbage.
            self.nan_skips += 1
            self.log("train/nan_skips", float(self.nan_skips))
            if self.nan_skips > self.stage.max_nan_skips:
                raise NonFiniteLossError(f"{self.nan_skips} consecutive non-finite losses at step {step}")
            return None
        self.nan_skips = 0
        self.history.append(float(loss.detach()))
        # One self.log per step: each call walks Lightning's result collection (~0.4 ms on this CPU), so
        # the per-step token count stays in `batch_tokens` and is logged once at the end of the stage.
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["latents"].shape[0])
        return loss

    def on_train_epoch_end(self) -> None:
        # The stage is one epoch (the sampler yields exactly `steps` batches).
        self.log("train/tokens_total", float(sum(self.batch_tokens)))

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        g = torch.Generator().manual_seed(mix_seed(self.stage.seed, "val", batch_idx))
        loss = dit_loss(self.dit, batch, self.flow, {}, g, text_dropout=0.0)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch["latents"].shape[0])

    def configure_optimizers(self) -> Any:
        opt = torch.optim.AdamW(self.dit.parameters(), lr=self.stage.lr, weight_decay=self.stage.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(self.stage))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # --- checkpoint state beyond Lightning's own ------------------------------------------------
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # Callbacks (ModelCheckpoint) save in on_train_batch_end, before a module hook there would
        # run; record the position as soon as the batch is taken.
        self.start_step = int(batch["step"][0]) + 1

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seedflow"] = {
            "data_loader": {"next_step": self.start_step, "seed": self.stage.seed},
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
            },
            "nan_skips": self.nan_skips,
            "history": list(self.history),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint["seedflow"]
        self.start_step = int(state["data_loader"]["next_step"])
        self.nan_skips = int(state["nan_skips"])
        self.history = [float(x) for x in state["history"]]
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])


def make_trainer(
    stage: StageConfig,
    *,
    trainer_kwargs: dict[str, Any] | None = None,
    checkpoint_dir: str | None = None,
    checkpoint_every: int = 0,
    logger: Any = False,
    callbacks: Sequence[Any] = (),
    val_every: int = 0,
    progress: bool = True,
) -> L.Trainer:
    """A Trainer for one stage: step-based, deterministic, safetensors checkpoints."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from models.dit.checkpoint import SafetensorsCheckpointIO

    warnings.filterwarnings("ignore", message=".*dataloader is\\s+not resumable.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*`training_step` returned `None`.*")
    cbs = list(callbacks)
    if checkpoint_dir and checkpoint_every:
        ckpt = ModelCheckpoint(
            dirpath=checkpoint_dir, every_n_train_steps=checkpoint_every, save_top_k=-1, filename="step={step}",
            auto_insert_metric_name=False,
        )
        ckpt.FILE_EXTENSION = ".safetensors"
        cbs.append(ckpt)
    kwargs = {"accelerator": "cpu", "devices": 1, "deterministic": True}
    kwargs.update(trainer_kwargs or {})
    return L.Trainer(
        max_steps=stage.steps,
        max_epochs=1,  # the sampler yields exactly `steps` batches: one pass is the whole stage
        gradient_clip_val=stage.grad_clip,
        logger=logger,
        callbacks=cbs,
        enable_checkpointing=bool(checkpoint_dir and checkpoint_every),
        enable_model_summary=False,
        enable_progress_bar=progress,
        num_sanity_val_steps=0,
        val_check_interval=val_every if val_every else None,
        check_val_every_n_epoch=None if val_every else 1,
        limit_val_batches=None if val_every else 0,
        use_distributed_sampler=False,
        log_every_n_steps=1,
        plugins=[SafetensorsCheckpointIO()],
        **kwargs,
    )
