"""The captioning group's Dagster wiring: assets, blocking checks, the rebalancing schedule."""

from __future__ import annotations

import dagster as dg

from assets.captioning import defs as D
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking


def build_resources() -> dict:
    # the group's own resource keys (orchestration/resources.py binds the real ones)
    return {"params": ParamsResource(), "store": ArtifactStore(root="/tmp/seedflow-captioning-test-store"),
            "tracking": MlflowTracking()}


def test_definitions_resolve_with_resources() -> None:
    merged = dg.Definitions.merge(D.defs, dg.Definitions(assets=[dg.AssetSpec("deduplicated_clips"), dg.AssetSpec("synthetic_world")], resources=build_resources()))
    repo = merged.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"caption_annotations", "captioner", "captions", "training_dataset"} <= keys
    checks = {c.name for a in (D.checks) for c in a.check_specs}
    assert checks == {"manifest_valid"}
    assert all(spec.blocking for a in D.checks for spec in a.check_specs)


def test_rebalance_schedule_runs_rebalancing_on_the_preset_cron() -> None:
    sched = D.rebalance_schedule
    assert sched.cron_schedule == D._schedule_settings().schedule_cron
    assert sched.job_name == "rebalance_job"
    sel = D.rebalance_job.selection
    merged = dg.Definitions.merge(D.defs, dg.Definitions(assets=[dg.AssetSpec("deduplicated_clips"), dg.AssetSpec("synthetic_world")], resources=build_resources()))
    resolved = sel.resolve(merged.get_repository_def().asset_graph)
    assert dg.AssetKey("training_dataset") in resolved and dg.AssetKey("captioner") not in resolved
