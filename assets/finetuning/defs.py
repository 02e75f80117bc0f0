"""SFT assets (report 4.3): `sft_specialists` (one static partition per curated category of the
preset, each fine-tuned from `dit_continue_training` with a smaller LR and early stopping on a
validation loss) and `merged_model` (weight averaging; recipe from the preset)."""

import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from assets.common.outputs import manifest_output
from assets.common.seeding import stable_seed
from assets.finetuning import sft
from assets.finetuning.settings import FinetuningSettings
from assets.pretraining.curriculum import dit_config, flow_config, loss_verdict, run_stage
from assets.pretraining.defs import materialize_model_dir
from assets.pretraining.settings import PretrainingSettings
from assets.pretraining.training_asset import latent_dims, packed_source, store_model
from resources.compute import ComputeResource
from resources.params import ParamsResource, load_section
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "finetuning"


def _categories() -> list[str]:
    """Partitions are static, read from the active preset when the code location loads."""
    try:
        return load_section(None, GROUP, FinetuningSettings).categories
    except Exception:  # no params.yaml yet: the tiny preset's list
        import yaml

        f = Path(__file__).resolve().parents[2] / "orchestration/presets/tiny/finetuning.yaml"
        return list(yaml.safe_load(f.read_text())["categories"])


categories = dg.StaticPartitionsDefinition(_categories())


@dg.asset(group_name=GROUP, partitions_def=categories, code_version="sft-v2",
          ins={"base": dg.AssetIn("dit_continue_training"), "packed_latents": dg.AssetIn("packed_latents")})
def sft_specialists(
    context: AssetExecutionContext, store: ArtifactStore, params: ParamsResource, tracking: MlflowTracking,
    compute: ComputeResource, base: Any, packed_latents: Any,
) -> dg.Output:
    """One specialist per curated category, fine-tuned from continue training."""
    compute.apply_threads()
    s = params.section(GROUP, FinetuningSettings)
    pre = params.section("pretraining", PretrainingSettings)
    category = context.partition_key
    source = packed_source(store, packed_latents)
    train_rows, val_rows = sft.split_rows(sft.category_rows(source, s.category_column, category), s.val_clips)
    if not train_rows:
        raise ValueError(f"category {category!r} has no clips in packed_latents; curate some or drop it from the preset")
    channels, text_dim = latent_dims(source)
    dit, flow = dit_config(pre, channels, text_dim), flow_config(pre)
    stage = sft.stage_config(s, stable_seed(params.seed, GROUP, category))
    val = sft.val_batches(sft.view(source, val_rows, s)) if val_rows else []
    with tempfile.TemporaryDirectory() as tmp, tracking.start_run(
        context, run_name=f"sft_{category}", experiment=pre.experiment, preset=params.preset,
        params={"stage": stage.to_dict(), "category": category, "finetuning": s.model_dump()},
    ) as run:
        init = materialize_model_dir(store, base, Path(tmp) / "init")
        result = run_stage(
            view=sft.view(source, train_rows, s), dit=dit, flow=flow, stage=stage, out_dir=Path(tmp) / "model",
            init_dir=init, trainer_kwargs=compute.trainer_kwargs(), logger=run.lightning_logger(),
            val_batches=val, val_every=s.val_every, patience=s.patience, keep_best=s.keep_best,
            # the held-out clips double as the loss check's probe (fixed noise and times, before vs after)
            probe_batches=val or None, probe_seed=stable_seed(params.seed, GROUP, "probe", category),
            probe_times=pre.probe_times,
        )
        value = {
            "model_files": store_model(store, result, f"{GROUP}/{category}"),
            "text_encoder": base.get("text_encoder"), "vae": base.get("vae"), "packed_latents": packed_latents,
            "history": [round(x, 6) for x in result.history], "latent_grid": base.get("latent_grid"),
            "tokens": result.tokens, "val_rows": val_rows, "stopped_at": result.stopped_at, "best_step": result.best_step,
            "probe": {"start": result.probe_start, "end": result.probe_end},
        }
        return manifest_output(value, metadata={
            "mlflow_run": dg.MetadataValue.url(run.url), "category": category,
            "stopped_at_step": result.stopped_at, "train_clips": len(train_rows), "val_clips": len(val_rows),
            # the weights it ended on (keep_best): 0 = no validation gain over the continue-training model
            **({"best_step": result.best_step, "val_loss_start": result.val_loss_start, "val_loss_best": result.val_loss}
               if result.best_step is not None else {}),
        })


def sft_verdict(value: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """A specialist passes when its loss stayed finite and neither its validation probe nor its training
    loss rose significantly. SFT starts from the converged continue-training model at a smaller learning
    rate with early stopping on the validation loss (report 4.3), so unlike a pre-training stage its loss
    need not fall significantly; what must not happen is divergence or a specialist worse than its start."""
    v = loss_verdict(value.get("history", []), (value.get("probe") or {}).get("start"), (value.get("probe") or {}).get("end"))
    md = v.to_metadata()
    probe_rose = v.probe_pairs > 0 and (2 * v.probe_change - v.probe_change_high) > 0  # lower bound of the change > 0
    train_rose = v.slope_low > 0
    md.update({"probe_rose_significantly": bool(probe_rose), "train_rose_significantly": bool(train_rose)})
    return bool(v.finite and not probe_rose and not train_rose), md


@dg.asset_check(asset=sft_specialists, name="loss_finite_and_not_rising", blocking=True)
def sft_loss_check(value):
    """The check of a partitioned asset is handed every materialized partition (category -> value): each
    specialist must pass on its own, with its figures under `<category>/`."""
    per = {k: sft_verdict(v) for k, v in sorted(value.items())} if "history" not in value else {"": sft_verdict(value)}
    failed = [k for k, (ok, _) in per.items() if not ok]
    md = {(f"{k}/{m}" if k else m): x for k, (_, d) in per.items() for m, x in d.items()}
    md["failed_specialists"] = ", ".join(failed) or "none"
    return dg.AssetCheckResult(
        passed=bool(per) and not failed, metadata=md,
        description="every specialist: train/loss finite, and neither its validation probe (fixed clips, noise "
                    "and times, before vs after) nor its train/loss slope rose significantly (95%)",
    )


@dg.asset(group_name=GROUP, code_version="merge-v1", ins={"specialists": dg.AssetIn("sft_specialists")})
def merged_model(
    context: AssetExecutionContext, store: ArtifactStore, params: ParamsResource, tracking: MlflowTracking,
    specialists: dict[str, Any],
) -> dg.Output:
    """Average of the specialists (report 4.3 model merging); validated on every category's held-out clips."""
    s = params.section(GROUP, FinetuningSettings)
    pre = params.section("pretraining", PretrainingSettings)
    names = sorted(specialists)
    first = specialists[names[0]]
    source = packed_source(store, first["packed_latents"])
    val_rows = sorted({r for n in names for r in specialists[n].get("val_rows", [])})
    batches = sft.val_batches(sft.view(source, val_rows or list(range(min(8, len(source)))), s))
    flow = flow_config(pre)
    with tempfile.TemporaryDirectory() as tmp, tracking.start_run(
        context, run_name="merged_model", experiment=pre.experiment, preset=params.preset,
        params={"recipe": s.merge_recipe, "specialists": ",".join(names)},
    ) as run:
        dirs = [materialize_model_dir(store, specialists[n], Path(tmp) / n) for n in names]
        spec_losses = sft.evaluate(dirs, batches, flow)
        out, weights = sft.merge_specialists(
            dirs, Path(tmp) / "merged", s.merge_recipe,
            tokens=[float(specialists[n]["tokens"]) for n in names], val_losses=spec_losses,
        )
        merged_loss = sft.evaluate([out], batches, flow)[0]
        run.log_metrics({"val/loss": merged_loss, "val/specialists_mean": sum(spec_losses) / len(spec_losses)})
        refs = store.put_dir(out, namespace=f"{GROUP}/merged")
        value = {
            "model_files": {k: {"path": r.path, "sha256": r.sha256} for k, r in refs.items()},
            "text_encoder": first.get("text_encoder"), "vae": first.get("vae"),
            "packed_latents": first.get("packed_latents"), "latent_grid": first.get("latent_grid"),
            "recipe": s.merge_recipe, "weights": dict(zip(names, weights)),
            "val_loss": merged_loss, "specialist_val_losses": dict(zip(names, spec_losses)),
        }
        tracking.register_model(run, out, "seedflow-merged_model", "merged_model")
        return manifest_output(value, metadata={
            "mlflow_run": dg.MetadataValue.url(run.url), "val_loss": merged_loss,
            "specialists_mean_val_loss": sum(spec_losses) / len(spec_losses), "recipe": s.merge_recipe,
        })


@dg.asset_check(asset=merged_model, name="no_worse_than_specialists", blocking=True)
def merged_check(value):
    losses = list(value["specialist_val_losses"].values())
    mean = sum(losses) / len(losses)
    return dg.AssetCheckResult(passed=bool(value["val_loss"] <= mean + 1e-6),
                               metadata={"merged_val_loss": value["val_loss"], "specialists_mean": mean})


defs = dg.Definitions(assets=[sft_specialists, merged_model], asset_checks=[sft_loss_check, merged_check])
