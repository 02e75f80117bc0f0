"""`synthetic_world` -> `raw_clips` through Dagster: partitions, quarantine, checks, metadata."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).parent))
from badfiles import build_bad_corpus  # noqa: E402

from assets.common.manifest import read_manifest  # noqa: E402
from assets.sourcing.defs import raw_batches, raw_batch_sensor, raw_clips, synthetic_world  # noqa: E402
from resources.io_manager import RefIOManager  # noqa: E402
from resources.params import ParamsResource  # noqa: E402
from resources.store import ArtifactStore  # noqa: E402
from dagster_aws.s3 import S3Resource  # noqa: E402

SMALL_WORLD = {"world": {"n_videos": 3, "min_duration_s": 2.0, "max_duration_s": 3.0, "height": 64, "width": 96,
                         "min_shot_s": 1.0, "max_shot_s": 1.5}}


def _resources(store: ArtifactStore) -> dict:
    return {"store": store, "io_manager": RefIOManager(store=store), "params": ParamsResource(), "s3_source": S3Resource()}


def test_world_then_raw_clips_materialize(params_file, store, dagster_instance, tmp_path: Path) -> None:
    params_file({**SMALL_WORLD, "sourcing": {"sources": [
        {"name": "world", "kind": "world"},
        {"name": "inbox", "kind": "folder", "uri": str(tmp_path / "inbox")},
    ]}})
    res = _resources(store)
    world = dg.materialize([synthetic_world, raw_clips], selection=[synthetic_world], resources=res, instance=dagster_instance)
    assert world.success
    key = world.output_for_node("synthetic_world")["partition"]
    assert key in dagster_instance.get_dynamic_partitions(raw_batches.name)

    raw = dg.materialize([synthetic_world, raw_clips], selection=[raw_clips], partition_key=key, resources=res, instance=dagster_instance)
    assert raw.success
    value = store.get_ref(f"raw_clips/{key}")
    clips = read_manifest(store, value["clips"]).to_pylist()
    assert len(clips) == 3 and value["quarantine"]["rows"] == 0
    assert sorted(c["source_relpath"] for c in clips) == ["w0000.mp4", "w0001.mp4", "w0002.mp4"]
    checks = raw.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"manifest_valid", "quarantine_valid"} and all(c.passed for c in checks)
    md = raw.asset_materializations_for_node("raw_clips")[0].metadata
    assert md["files_seen"].value == md["ingested"].value + md["quarantined"].value == 3
    assert "preview" in md

    # A new folder batch with bad files: the sensor registers it, ingestion quarantines all but one.
    expected = build_bad_corpus(tmp_path / "inbox" / "2026-11-21", tmp_path / "outside.mp4")
    with dg.build_sensor_context(instance=dagster_instance, resources=res) as ctx:
        result = raw_batch_sensor(ctx)
    assert [r.partition_key for r in result.run_requests] == ["inbox.2026-11-21"]
    dagster_instance.add_dynamic_partitions(raw_batches.name, ["inbox.2026-11-21"])
    bad = dg.materialize([synthetic_world, raw_clips], selection=[raw_clips], partition_key="inbox.2026-11-21",
                         resources=res, instance=dagster_instance)
    assert bad.success  # one bad video never kills a batch
    md = bad.asset_materializations_for_node("raw_clips")[0].metadata
    assert md["quarantined"].value == len(expected) and md["ingested"].value == 1
    assert md["files_seen"].value == len(expected) + 1
