"""Dagster definitions of the sourcing group: the synthetic world, `raw_clips`, the batch sensor."""


import shutil
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import great_expectations.expectations as gxe
from dagster_aws.s3 import S3Resource

from assets.common.checks import check_manifest, manifest_check_spec
from assets.common.manifest import rows_to_table, write_manifest
from assets.common.outputs import manifest_output, markdown_table
from assets.common.previews import contact_sheet, first_frame, png_metadata
from assets.sourcing.ingest import ingest_batch
from assets.sourcing.probe import REASONS
from assets.sourcing.schemas import QUARANTINE, RAW_CLIPS
from assets.sourcing.settings import SourceSpec, SourcingSettings
from assets.sourcing.sources import list_batches, partition_key, split_partition_key, world_root
from assets.sourcing.world.settings import WorldSettings
from resources.params import ParamsResource
from resources.store import ArtifactStore

raw_batches = dg.DynamicPartitionsDefinition(name="raw_batches")


def world_batch(settings: WorldSettings) -> str:
    """One world seed is one batch: a new seed arrives as a new partition."""
    return f"seed-{settings.seed}"


@dg.asset(
    group_name="sourcing",
    code_version="world-v1",
    description="The synthetic video world: raw H.264 videos with complete ground truth (ARCHITECTURE §7).",
)
def synthetic_world(
    context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore
) -> dg.Output:
    from assets.sourcing.world.writer import write_world

    settings = params.section("world", WorldSettings)
    batch = world_batch(settings)
    final = world_root() / batch
    world_root().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=world_root()) as tmp:
        write_world(settings, Path(tmp))
        gt_videos = store.put_file(Path(tmp) / "ground_truth_videos.parquet", namespace="sourcing/world", suffix=".parquet")
        gt_shots = store.put_file(Path(tmp) / "ground_truth_shots.parquet", namespace="sourcing/world", suffix=".parquet")
        # The batch folder appears whole: written in staging, then renamed into the source root.
        if final.exists():
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / "videos"), final)
    key = partition_key("world", batch)
    context.instance.add_dynamic_partitions(raw_batches.name, [key])
    import pyarrow.parquet as pq

    n_videos = pq.read_metadata(store.local_path(gt_videos.path)).num_rows
    n_shots = pq.read_metadata(store.local_path(gt_shots.path)).num_rows
    value = {
        "videos_gt": {"path": gt_videos.path, "sha256": gt_videos.sha256, "rows": n_videos},
        "shots_gt": {"path": gt_shots.path, "sha256": gt_shots.sha256, "rows": n_shots},
        "partition": key,
    }
    frames = [f for f in (first_frame(str(p)) for p in sorted(final.glob("*.mp4"))[:8]) if f is not None]
    md: dict[str, Any] = {
        "videos": n_videos,
        "shots": n_shots,
        "raw_clips_partition": key,
        "folder": dg.MetadataValue.path(str(final)),
    }
    if frames:
        md.update(png_metadata(store, contact_sheet(frames), "sourcing/previews", "first frames"))
    return manifest_output(value, md)


def _raw_clips_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="sha256"),
        gxe.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$"),
        gxe.ExpectColumnValuesToBeUnique(column="path"),
        gxe.ExpectColumnValuesToBeBetween(column="n_frames", min_value=2),
        gxe.ExpectColumnValuesToBeBetween(column="fps", min_value=1, max_value=240),
        gxe.ExpectColumnValuesToBeBetween(column="width", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="height", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0, strict_min=True),
        gxe.ExpectColumnValuesToBeInSet(column="rotation", value_set=[0, 90, 180, 270]),
    ]


def _quarantine_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeInSet(column="reason", value_set=list(REASONS)),
        gxe.ExpectColumnValuesToNotBeNull(column="source_relpath"),
    ]


def _source(settings: SourcingSettings, name: str) -> SourceSpec:
    for s in settings.sources:
        if s.name == name:
            return s
    raise dg.Failure(f"raw_clips partition names source {name!r}, which is not in params sourcing.sources")


@dg.asset(
    group_name="sourcing",
    partitions_def=raw_batches,
    deps=[synthetic_world],
    code_version="raw-clips-v1",
    check_specs=[manifest_check_spec("raw_clips"), manifest_check_spec("raw_clips", "quarantine_valid")],
    description=(
        "Raw videos of one source batch, probed with PyAV and copied into the content-addressed store. "
        "Bad files land in the quarantine table with a reason; ingested + quarantined == files seen."
    ),
)
def raw_clips(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore, s3_source: S3Resource):
    settings = params.section("sourcing", SourcingSettings)
    source_name, batch = split_partition_key(context.partition_key)
    spec = _source(settings, source_name)
    client = s3_source.get_client() if spec.kind == "s3" else None
    result = ingest_batch(spec, batch, context.partition_key, settings, store, client)
    if result.files_seen == 0:
        raise dg.Failure(f"batch {context.partition_key} has no files; is the source folder right?")
    clips = write_manifest(store, "sourcing/manifests", rows_to_table(result.clips, RAW_CLIPS), RAW_CLIPS)
    quarantine = write_manifest(store, "sourcing/manifests", rows_to_table(result.quarantine, QUARANTINE), QUARANTINE)
    reasons = result.reasons()
    md: dict[str, Any] = {
        "files_seen": result.files_seen,
        "ingested": len(result.clips),
        "quarantined": len(result.quarantine),
        "bytes_seen": result.bytes_seen,
        "footage_s": round(sum(r["duration_s"] for r in result.clips), 1),
        "quarantine_reasons": dg.MetadataValue.md(
            markdown_table([{"reason": k, "files": v} for k, v in reasons.items()])
        ),
        "quarantine_sample": dg.MetadataValue.md(
            markdown_table(result.quarantine, ["source_relpath", "reason", "detail"], limit=20)
        ),
    }
    if settings.contact_sheet_count and result.clips:
        rows = result.clips[: settings.contact_sheet_count]
        frames, labels = [], []
        for r in rows:
            f = first_frame(str(store.local_path(r["path"])))
            if f is not None:
                frames.append(f)
                labels.append(r["source_relpath"])
        if frames:
            md.update(png_metadata(store, contact_sheet(frames, labels), "sourcing/previews", "first frames"))
    yield manifest_output({"clips": clips, "quarantine": quarantine}, md)
    yield check_manifest(store, clips, asset_key="raw_clips", suite_name="raw_clips", build_suite=_raw_clips_suite)
    yield check_manifest(
        store, quarantine, asset_key="raw_clips", suite_name="raw_clips_quarantine",
        build_suite=_quarantine_suite, check_name="quarantine_valid",
    )


@dg.sensor(
    name="raw_batch_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    asset_selection=[raw_clips],
    description="Registers new source batches (sub-folders / S3 prefixes) as raw_clips partitions and ingests them.",
)
def raw_batch_sensor(context: dg.SensorEvaluationContext, params: ParamsResource, s3_source: S3Resource) -> dg.SensorResult:
    settings = params.section("sourcing", SourcingSettings)
    known = set(context.instance.get_dynamic_partitions(raw_batches.name))
    new: list[str] = []
    for spec in settings.sources:
        client = s3_source.get_client() if spec.kind == "s3" else None
        new += [k for k in (partition_key(spec.name, b) for b in list_batches(spec, client)) if k not in known]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=k, run_key=k) for k in new],
        dynamic_partitions_requests=[raw_batches.build_add_request(new)] if new else [],
    )


defs = dg.Definitions(assets=[synthetic_world, raw_clips], sensors=[raw_batch_sensor])
