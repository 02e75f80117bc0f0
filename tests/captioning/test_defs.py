"""The captioning group's Dagster wiring: assets, blocking checks, the rebalancing schedule."""

from __future__ import annotations

import dagster as dg

from assets.captioning import defs as D
from resources.compute import ComputeResource
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking


def build_resources() -> dict:
    # the group's own resource keys (orchestration/resources.py binds the real ones)
    return {"params": ParamsResource(), "store": ArtifactStore(root="/tmp/seedflow-captioning-test-store"),
            "tracking": MlflowTracking(), "compute": ComputeResource()}


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
    from orchestration.definitions import defs as full

    resolved = D.rebalance_job.selection.resolve(full.resolve_asset_graph())
    names = {k.to_user_string() for k in resolved}
    # rebalancing and what is stale below it (packing, the curriculum), never what is upstream
    assert {"training_dataset", "packed_latents", "dit_t2i", "dit_continue_training"} <= names
    assert "captioner" not in names and "captions" not in names
    # partitioned assets cannot share a job with unpartitioned ones; they run on their own
    assert "sft_specialists" not in names and "benchmark_generations" not in names
