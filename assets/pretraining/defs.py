"""Pre-training curriculum assets (report 4.1, 4.2): dit_t2i -> dit_joint_low -> dit_joint_high ->
dit_joint_24fps -> dit_continue_training. Each is a Lightning run in the one MLflow experiment,
initialised from its upstream, with a blocking check that its loss is finite and decreasing."""



import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assets.pretraining.curriculum import (
    STAGES,
    dit_config,
    flow_config,
    loss_decreased,
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
    if name not in settings.stages:
        raise ValueError(f"pretraining.stages has no entry {name!r}; add it to the preset")
    st_settings = settings.stages[name]
    compute.apply_threads()
    source = packed_source(store, packed_latents)
    channels, text_dim = latent_dims(source)
    dit = dit_config(settings, channels, text_dim)
    if compute.activation_checkpointing and not dit.activation_checkpointing:
        dit = type(dit)(**{**dit.__dict__, "activation_checkpointing": True})
    flow = flow_config(settings)
    from assets.common.seeding import stable_seed

    stage = stage_config(st_settings, stable_seed(params.seed, GROUP, name))
    view = stage_view(source, st_settings)
    grid = max((view.shape(i)[1:] for i in range(len(view))), default=(st_settings.latent_grid,) * 2)
    with tempfile.TemporaryDirectory() as tmp, tracking.start_run(
        context, run_name=name, experiment=settings.experiment, preset=params.preset,
        params={"dit": dit.__dict__, "flow": flow.to_dict(), "stage": stage.to_dict(), "view": st_settings.model_dump()},
    ) as run:
        init_dir = materialize_model_dir(store, upstream, Path(tmp) / "init") if upstream else None
        result = run_stage(
            view=view, dit=dit, flow=flow, stage=stage, out_dir=Path(tmp) / "model", init_dir=init_dir,
            trainer_kwargs=compute.trainer_kwargs(), logger=run.lightning_logger(),
            checkpoint_dir=Path(tmp) / "ckpt" if settings.checkpoint_every else None,
            checkpoint_every=settings.checkpoint_every,
            extra_config={"latent_grid": list(grid)},
        )
        return finish(
            context, run=run, tracking=tracking, store=store, result=result, stage_name=name,
            namespace=f"{GROUP}/{name}", settings=settings, latent_grid=tuple(grid),
            upstream={"text_encoder": text_encoder, "vae": vae, "packed_latents": packed_latents},
        )


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
    ok, first, last = loss_decreased(value.get("history", []))
    return dg.AssetCheckResult(
        passed=bool(ok),
        metadata={"loss_first_quarter": float(first), "loss_last_quarter": float(last)},
        description="train/loss finite at every step and lower over the last quarter than the first",
    )


_built = [_make_stage(n, u) for n, u in STAGES]
defs = dg.Definitions(assets=[a for a, _ in _built], asset_checks=[c for _, c in _built])
