"""Pre-training curriculum assets (report 4.1, 4.2): dit_t2i -> dit_joint_low -> dit_joint_high ->
dit_joint_24fps -> dit_continue_training. Each is a Lightning run in the one MLflow experiment,
initialised from its upstream, with a blocking check that its loss is finite and decreasing.

`dit_temporal_text_ablation` retrains the first stages of that chain with `temporal_sees_text: true`
(same data, held-out probe clips, seeds and steps, matched initial weights); the benchmark compares
it with its default partner (issue 7, ablation hook)."""



import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assets.pretraining.curriculum import (
    STAGES,
    dit_config,
    flow_config,
    holdout_rows,
    loss_verdict,
    matched_variant_init,
    probe_batches,
    run_stage,
    stage_config,
    stage_view,
)
from assets.pretraining.settings import PretrainingSettings
from assets.pretraining.training_asset import finish, latent_dims, packed_source
from resources.compute import ComputeResource
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "pretraining"
CODE_VERSION = "dit-v1"


def materialize_model_dir(store: ArtifactStore, value: dict[str, Any], dst: Path) -> Path:
    return store.materialize_dir({k: v["path"] for k, v in value["model_files"].items()}, dst)


def _source_and_config(settings: PretrainingSettings, compute: Any, store: Any, packed_latents: Any) -> tuple[Any, Any]:
    """The packed-latent source and the DiT config sized to it (activation checkpointing from the compute resource)."""
    compute.apply_threads()
    source = packed_source(store, packed_latents)
    channels, text_dim = latent_dims(source)
    dit = dit_config(settings, channels, text_dim)
    if compute.activation_checkpointing and not dit.activation_checkpointing:
        dit = type(dit)(**{**dit.__dict__, "activation_checkpointing": True})
    return source, dit


def train_curriculum_stage(
    context: AssetExecutionContext,
    *,
    name: str,
    store: ArtifactStore,
    params: ParamsResource,
    tracking: MlflowTracking,
    compute: ComputeResource,
    packed_latents: Any,
    text_encoder: Any,
    vae: Any,
    upstream: dict[str, Any] | None,
) -> dg.Output:
    settings = params.section(GROUP, PretrainingSettings)
    source, dit = _source_and_config(settings, compute, store, packed_latents)
    with tempfile.TemporaryDirectory() as tmp, tracking.start_run(
        context, run_name=name, experiment=settings.experiment, preset=params.preset,
        params={"dit": dit.__dict__, "flow": flow_config(settings).to_dict(),
                "stage": settings.stages[name].model_dump() if name in settings.stages else {}},
    ) as run:
        init_dir = materialize_model_dir(store, upstream, Path(tmp) / "init") if upstream else None
        result, grid = _train_one(name, settings=settings, params=params, compute=compute, source=source, dit=dit,
                                  tmp=Path(tmp), run=run, init_dir=init_dir)
        return finish(
            context, run=run, tracking=tracking, store=store, result=result, stage_name=name,
            namespace=f"{GROUP}/{name}", settings=settings, latent_grid=tuple(grid),
            upstream={"text_encoder": text_encoder, "vae": vae, "packed_latents": packed_latents},
        )


def _train_one(name: str, *, settings: PretrainingSettings, params: ParamsResource, compute: ComputeResource,
               source: Any, dit: Any, tmp: Path, run: Any, init_dir: Path | None = None,
               init_state: dict | None = None, out_name: str = "model") -> tuple[Any, tuple[int, int]]:
    """Train stage `name` of the preset on its view of the training rows, probing the held-out rows."""
    from assets.common.seeding import stable_seed

    if name not in settings.stages:
        raise ValueError(f"pretraining.stages has no entry {name!r}; add it to the preset")
    st_settings = settings.stages[name]
    flow = flow_config(settings)
    stage = stage_config(st_settings, stable_seed(params.seed, GROUP, name))
    # one held-out set for the whole curriculum (seeded without the stage name): no stage probes a clip
    # an earlier stage trained on. The check's probe: as many fixed clips of the stage's own training view.
    seed = stable_seed(params.seed, GROUP, "probe")
    # never more than a fifth of the clips: the tiny demo can have only a handful
    train_rows, held = holdout_rows(len(source), settings.probe_clips, seed, max_share=0.2)
    view = stage_view(source, st_settings, rows=train_rows)
    fit_rows = train_rows
    if len(train_rows) > settings.probe_clips:
        _, pick = holdout_rows(len(train_rows), settings.probe_clips, seed + 1)
        fit_rows = [train_rows[i] for i in pick]

    def probe_set(rows: list[int]) -> list | None:
        if not rows:
            return None
        pv = stage_view(source, st_settings.model_copy(update={"quality_quantile": 0.0}), rows=rows)
        # the stage's objective: its caption mix too (continue training also trains on short captions)
        return probe_batches(pv) + (probe_batches(pv, "short") if st_settings.short_caption_share else [])

    grid = max((view.shape(i)[1:] for i in range(len(view))), default=(st_settings.latent_grid,) * 2)
    result = run_stage(
        view=view, dit=dit, flow=flow, stage=stage, out_dir=tmp / out_name, init_dir=init_dir, init_state=init_state,
        trainer_kwargs=compute.trainer_kwargs(), logger=run.lightning_logger(),
        checkpoint_dir=tmp / f"ckpt_{out_name}" if settings.checkpoint_every else None,
        checkpoint_every=settings.checkpoint_every,
        extra_config={"latent_grid": list(grid)},
        probe_batches=probe_set(fit_rows), heldout_batches=probe_set(held),
        probe_seed=stable_seed(params.seed, GROUP, "probe", name),
        probe_times=settings.probe_times,
    )
    return result, tuple(grid)


def _make_stage(name: str, upstream: str | None) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    ins = {
        "packed_latents": dg.AssetIn("packed_latents"),
        "text_encoder": dg.AssetIn("text_encoder"),
        "vae": dg.AssetIn("vae"),
    }
    if upstream:
        ins["upstream"] = dg.AssetIn(upstream)

    kwargs = dict(name=name, group_name=GROUP, ins=ins, code_version=CODE_VERSION,
                  description=f"DiT curriculum stage {name} (report 4.1/4.2); initialised from {upstream or 'scratch'}.")

    def body(context, store, params, tracking, compute, packed_latents, text_encoder, vae, up):
        return train_curriculum_stage(
            context, name=name, store=store, params=params, tracking=tracking, compute=compute,
            packed_latents=packed_latents, text_encoder=text_encoder, vae=vae, upstream=up,
        )

    if upstream:

        @dg.asset(**kwargs)
        def _stage(
            context: AssetExecutionContext, store: ArtifactStore, params: ParamsResource, tracking: MlflowTracking,
            compute: ComputeResource, packed_latents: Any, text_encoder: Any, vae: Any, upstream: Any,
        ) -> dg.Output:
            return body(context, store, params, tracking, compute, packed_latents, text_encoder, vae, upstream)

    else:

        @dg.asset(**kwargs)
        def _stage(
            context: AssetExecutionContext, store: ArtifactStore, params: ParamsResource, tracking: MlflowTracking,
            compute: ComputeResource, packed_latents: Any, text_encoder: Any, vae: Any,
        ) -> dg.Output:
            return body(context, store, params, tracking, compute, packed_latents, text_encoder, vae, None)

    @dg.asset_check(asset=_stage, name="loss_finite_and_decreasing", blocking=True)
    def _check(value):  # the stage's asset value, loaded by the IO manager
        return loss_check(value)

    return _stage, _check


def loss_check(value: dict[str, Any]) -> dg.AssetCheckResult:
    probe = value.get("probe") or {}
    v = loss_verdict(value.get("history", []), probe.get("start"), probe.get("end"))
    if v.basis == "probe":
        desc = ("train/loss finite at every step; the probe loss (fixed training clips, noise and times) fell "
                "significantly (one-sided 95% bound of the paired change < 0) and the train/loss slope is not "
                "significantly rising")
    else:
        desc = "train/loss finite at every step and its fitted slope significantly negative (95% interval below 0)"
    return dg.AssetCheckResult(passed=bool(v.passed), metadata=v.to_metadata(), description=desc)


ABLATION = "dit_temporal_text_ablation"


@dg.asset(
    name=ABLATION, group_name=GROUP, code_version=CODE_VERSION,
    ins={"packed_latents": dg.AssetIn("packed_latents"), "text_encoder": dg.AssetIn("text_encoder"),
         "vae": dg.AssetIn("vae")},
    description="Ablation (issue 7 item 8): the preset's `ablation_stages` of the curriculum retrained with "
                "dit.temporal_sees_text = true; same data, probe clips, seeds and steps, and initial weights matched "
                "to the default model's. Benchmarked beside the last of those stages.",
)
def dit_temporal_text_ablation(
    context: AssetExecutionContext, store: ArtifactStore, params: ParamsResource, tracking: MlflowTracking,
    compute: ComputeResource, packed_latents: Any, text_encoder: Any, vae: Any,
) -> dg.Output:
    settings = params.section(GROUP, PretrainingSettings)
    order = [n for n, _ in STAGES]
    chain = list(settings.ablation_stages)
    if not chain or chain != order[: len(chain)]:
        raise ValueError(f"pretraining.ablation_stages must be a non-empty prefix of {order}, got {chain}")
    source, default = _source_and_config(settings, compute, store, packed_latents)
    variant = type(default)(**{**default.__dict__, "temporal_sees_text": True})
    from assets.common.seeding import stable_seed

    # the default chain's first stage starts from this seed's init; the variant gets the same tensors for
    # every shared parameter (new ones are adaLN-Zero gated), so at step 0 both compute the same function
    init_state = matched_variant_init(default, variant, stable_seed(params.seed, GROUP, chain[0]))
    histories = []
    with tempfile.TemporaryDirectory() as tmp, tracking.start_run(
        context, run_name=ABLATION, experiment=settings.experiment, preset=params.preset,
        params={"dit": variant.__dict__, "stages": ",".join(chain), "compared_with": chain[-1]},
    ) as run:
        init_dir = None
        for k, name in enumerate(chain):
            result, grid = _train_one(name, settings=settings, params=params, compute=compute, source=source,
                                      dit=variant, tmp=Path(tmp), run=run, init_dir=init_dir,
                                      init_state=init_state if k == 0 else None, out_name=f"model_{k}")
            init_dir = result.model_dir
            histories.append({"stage": name, "steps": len(result.history), "loss_first": result.history[0],
                              "loss_last": result.history[-1]})
        context.log.info(f"{ABLATION}: trained {chain} with temporal_sees_text=true: {histories}")
        return finish(
            context, run=run, tracking=tracking, store=store, result=result, stage_name=ABLATION,
            namespace=f"{GROUP}/{ABLATION}", settings=settings, latent_grid=tuple(grid),
            upstream={"text_encoder": text_encoder, "vae": vae, "packed_latents": packed_latents},
            extra_value={"ablation": {"option": "temporal_sees_text", "stages": chain, "compared_with": chain[-1],
                                      "stage_histories": histories}},
        )


@dg.asset_check(asset=dit_temporal_text_ablation, name="loss_finite_and_decreasing", blocking=True)
def ablation_loss_check(value):
    return loss_check(value)


_built = [_make_stage(n, u) for n, u in STAGES]
defs = dg.Definitions(assets=[a for a, _ in _built] + [dit_temporal_text_ablation],
                      asset_checks=[c for _, c in _built] + [ablation_loss_check])
