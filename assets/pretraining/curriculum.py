"""The curriculum (report 4.1-4.3) as plain functions: one call trains one stage.

No Dagster here: `defs.py` resolves upstream assets, the preset and the resources, then calls
`run_stage`, which trains with Lightning, writes the model directory and returns what happened.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch

from assets.pretraining.settings import PretrainingSettings, StageSettings
from assets.pretraining.sources import StageView
from models.dit.checkpoint import load_dit, save_dit
from models.dit.config import DiTConfig
from models.dit.data import LatentSource
from models.dit.training import DiTTrainingModule, StageConfig, make_trainer, probe_losses, validation_loss
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
    probe_start: list[list[float]] = field(default_factory=list)  # (samples, times) before training
    probe_end: list[list[float]] = field(default_factory=list)  # the same probe after training
    heldout_start: list[list[float]] = field(default_factory=list)  # the same on held-out clips (reported)
    heldout_end: list[list[float]] = field(default_factory=list)
    # with `keep_best`: the step whose weights the stage ended on (0 = its starting weights) and the
    # validation loss at the start and at that step
    best_step: int | None = None
    val_loss_start: float | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


class KeepBestWeights(L.Callback):
    """The other half of early stopping: the weights with the lowest validation loss, the starting weights
    included, so a stage ends on them rather than on its last step (Lightning's EarlyStopping only stops).
    SFT starts from a converged model on a few clips a category: a specialist whose validation loss never
    falls below its start is its start. The loss is `validation_loss` (fixed noise and times), measured on
    the starting weights here and after every validation run; the best weights are kept as a CPU copy of
    the state dict (a small model here; at FSDP scale pair EarlyStopping with ModelCheckpoint instead)."""

    def __init__(self, model: torch.nn.Module, batches: Sequence[dict[str, torch.Tensor]], flow: FlowConfig, seed: int):
        self.batches, self.flow, self.seed = batches, flow, seed
        self.start_loss = self.best_loss = validation_loss(model, batches, flow, seed)
        self.best_step = 0
        self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        # Measured again rather than read from Lightning's `val/loss` (batch-size-weighted epoch mean): the
        # start and every offer must use the same criterion; the validation set is a few clips.
        loss = validation_loss(pl_module.dit, self.batches, self.flow, self.seed)
        if loss < self.best_loss:
            self.best_loss, self.best_step = loss, int(trainer.global_step)
            self.best_state = {k: v.detach().clone() for k, v in pl_module.dit.state_dict().items()}


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
    probe_batches: Sequence[dict[str, torch.Tensor]] | None = None,
    probe_seed: int = 0,
    probe_times: int = 8,
    heldout_batches: Sequence[dict[str, torch.Tensor]] | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
    keep_best: bool = False,
) -> StageResult:
    """Train one stage from `init_dir` (or `init_state`, or from scratch) and save `out_dir`.

    With `probe_batches` (fixed training clips), the fixed-noise, fixed-time probe loss is measured on
    the starting weights and on the trained weights: the paired evidence the stage's loss check uses.
    `heldout_batches` get the same treatment and are reported (generalisation), not checked.
    `keep_best` (with `val_batches`): the stage ends on its lowest-validation-loss weights, its starting
    weights included (`KeepBestWeights`), not on its last step.
    """
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
    keeper = KeepBestWeights(module.dit, val_batches, flow, stage.seed) if keep_best and val_batches else None
    if keeper is not None:
        callbacks.append(keeper)
    trainer = make_trainer(
        stage,
        trainer_kwargs=trainer_kwargs,
        logger=logger,
        callbacks=callbacks,
        val_every=val_every if val_batches else 0,
        checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
        checkpoint_every=checkpoint_every,
    )
    def probe(batches: Sequence[dict[str, torch.Tensor]] | None) -> list[list[float]]:
        if not batches:
            return []
        return probe_losses(module.dit, batches, flow, probe_seed, probe_times, stage.task_shares).tolist()

    probe_start, heldout_start = probe(probe_batches), probe(heldout_batches)
    t0 = time.perf_counter()
    trainer.fit(module)
    seconds = time.perf_counter() - t0
    if keeper is not None:
        module.dit.load_state_dict(keeper.best_state)
    probe_end, heldout_end = probe(probe_batches), probe(heldout_batches)
    save_dit(module.dit, out_dir, extra={"flow": flow.to_dict(), "stage": stage.to_dict(), **(extra_config or {})})
    return StageResult(
        model_dir=out_dir,
        history=list(module.history),
        tokens=sum(module.batch_tokens),
        seconds=seconds,
        stopped_at=int(trainer.global_step),
        probe_start=probe_start,
        probe_end=probe_end,
        heldout_start=heldout_start,
        heldout_end=heldout_end,
        val_loss=keeper.best_loss if keeper is not None else None,
        best_step=keeper.best_step if keeper is not None else None,
        val_loss_start=keeper.start_loss if keeper is not None else None,
    )


def matched_variant_init(default: DiTConfig, variant: DiTConfig, seed: int) -> dict[str, torch.Tensor]:
    """Initial weights of `variant` whose parameters shared with `default` equal the default's seeded init.

    `DiTTrainingModule` seeds `mix_seed(seed, "init")` and builds `SeedDiT(default)`; building the variant
    with the same seed would shift the RNG stream at its first extra module. Here the default is built
    exactly as its stage builds it, the variant from a derived seed, and every tensor whose name and shape
    both have is copied over. The variant's extra modules (temporal text K/V, the last spatial block's text
    update) sit behind adaLN-Zero gates, so at step 0 the two models compute the same function.
    """
    from models.dit.data import mix_seed
    from models.dit.model import SeedDiT

    torch.manual_seed(mix_seed(seed, "init"))
    base = SeedDiT(default).state_dict()
    torch.manual_seed(mix_seed(seed, "init", "variant"))
    state = SeedDiT(variant).state_dict()
    for k, v in base.items():
        if k not in state:
            continue
        if state[k].shape == v.shape:
            state[k] = v.clone()
        elif "txt_mod.proj" in k and state[k].shape[1:] == v.shape[1:] and state[k].shape[0] > v.shape[0]:
            # the last spatial block's text adaLN: (shift, scale) by default, (shift, scale, gate, ...) in the
            # variant; the first chunks mean the same
            state[k] = state[k].clone()
            state[k][: v.shape[0]] = v
    return state


def probe_batches(view: LatentSource, caption: str = "long") -> list[dict[str, torch.Tensor]]:
    """Every item of `view` once, grouped by latent shape into collated batches (a fixed probe set)."""
    from models.dit.data import collate

    by_shape: dict[tuple[int, int, int], list[dict[str, torch.Tensor]]] = {}
    for i in range(len(view)):
        by_shape.setdefault(view.shape(i), []).append({**view.sample(i, caption), "step": 0})
    return [collate(items) for _, items in sorted(by_shape.items())]


def holdout_rows(n_rows: int, n_holdout: int, seed: int, max_share: float = 1.0) -> tuple[list[int], list[int]]:
    """(kept rows, chosen rows): a seeded choice of `n_holdout` rows, at most `max_share` of them and never
    all. With the curriculum's seed it is the same for every stage, so no stage probes a clip an earlier
    stage trained on."""
    k = min(n_holdout, max(0, n_rows - 1), int(n_rows * max_share))
    g = torch.Generator().manual_seed(seed)
    held = sorted(torch.randperm(n_rows, generator=g)[:k].tolist())
    keep = set(held)
    return [i for i in range(n_rows) if i not in keep], held


def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(p, df))


@dataclass(frozen=True)
class LossVerdict:
    """Whether a stage's loss was finite and decreased, and the evidence.

    Primary evidence (when the stage ran a probe): paired differences end - start of the probe loss
    on fixed clips, same noise and times; decreased when the one-sided (1 - alpha) upper bound of
    their mean is below 0. Always: a least-squares slope of train/loss on step with its (1 - alpha)
    interval. Without a probe, the slope's upper bound must be below 0; with one, the training curve
    must at least not be rising significantly (slope lower bound <= 0), which catches a stage that
    diverges late even when its end weights still beat its start.
    """

    passed: bool
    basis: str  # "probe" or "train_trend"
    finite: bool
    train_first: float  # mean train/loss over the first quarter of steps
    train_last: float  # ... and over the last quarter
    slope: float  # train/loss per step
    slope_low: float
    slope_high: float
    probe_start: float = float("nan")  # mean probe loss before / after the stage
    probe_end: float = float("nan")
    probe_change: float = float("nan")  # mean paired difference end - start
    probe_change_high: float = float("nan")  # its one-sided upper confidence bound
    probe_pairs: int = 0

    def to_metadata(self) -> dict[str, float | int | str | bool]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def trend(history: Sequence[float], alpha: float = 0.05) -> tuple[float, float, float]:
    """(slope, low, high): OLS slope of loss on step with a two-sided (1 - alpha) t interval.
    The per-step noise (a fresh batch, times and noise every step) is close to independent."""
    y = torch.tensor(list(history), dtype=torch.float64)
    n = len(y)
    if n < 3:
        return float("nan"), float("-inf"), float("inf")
    x = torch.arange(n, dtype=torch.float64)
    xc, yc = x - x.mean(), y - y.mean()
    slope = float((xc * yc).sum() / (xc * xc).sum())
    resid = yc - slope * xc
    se = float((resid.pow(2).sum() / (n - 2) / (xc * xc).sum()).sqrt())
    q = _t_quantile(1 - alpha / 2, n - 2)
    return slope, slope - q * se, slope + q * se


def loss_verdict(
    history: Sequence[float],
    probe_start: Sequence[Sequence[float]] | None = None,
    probe_end: Sequence[Sequence[float]] | None = None,
    alpha: float = 0.05,
) -> LossVerdict:
    """The stage check's decision (see `LossVerdict`)."""
    h = [float(x) for x in history]
    finite = bool(h) and all(math.isfinite(x) for x in h)
    n = max(1, len(h) // 4)
    first = sum(h[:n]) / n if h else float("nan")
    last = sum(h[-n:]) / n if h else float("nan")
    slope, lo, hi = trend(h, alpha) if finite else (float("nan"), float("nan"), float("nan"))
    if not probe_start or not probe_end:
        return LossVerdict(finite and hi < 0, "train_trend", finite, first, last, slope, lo, hi)
    a = torch.tensor(probe_start, dtype=torch.float64).flatten()
    b = torch.tensor(probe_end, dtype=torch.float64).flatten()
    if a.shape != b.shape:
        raise ValueError(f"probe before {tuple(a.shape)} and after {tuple(b.shape)} differ; they must be paired")
    finite = finite and bool(torch.isfinite(a).all() and torch.isfinite(b).all())
    d = b - a  # paired: same clip, noise and time; only the weights differ
    m = len(d)
    mean = float(d.mean())
    # units are (clip, time) pairs: noise and t differ between them, clips repeat across times, so the
    # bound is somewhat optimistic for clip-to-clip variation; it is exact for the noise it removes
    high = mean + (_t_quantile(1 - alpha, m - 1) * float(d.std()) / math.sqrt(m) if m > 1 else float("inf"))
    not_rising = not (lo > 0)
    return LossVerdict(
        finite and high < 0 and not_rising, "probe", finite, first, last, slope, lo, hi,
        float(a.mean()), float(b.mean()), mean, high, m,
    )


def loss_decreased(history: Sequence[float]) -> tuple[bool, float, float]:
    """Train-curve-only form of `loss_verdict` (no probe): (passed, first-quarter mean, last-quarter mean)."""
    v = loss_verdict(history)
    return v.passed, v.train_first, v.train_last
