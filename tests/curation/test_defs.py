"""The curation group through Dagster on a tiny world: every asset, check and count, plus the cache."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from assets.common.manifest import read_manifest
from assets.curation.defs import (
    clip_analysis,
    curation_scorers,
    deduplicated_clips,
    filtered_clips,
    rectified_clips,
    segmented_clips,
    shots,
)
from assets.sourcing.defs import raw_clips, synthetic_world
from resources.executor import CurationExecutor
from resources.io_manager import RefIOManager
from resources.params import ParamsResource

TINY = {
    "world": {"n_videos": 3, "min_duration_s": 3.0, "max_duration_s": 5.0, "height": 72, "width": 128,
              "min_shot_s": 1.0, "max_shot_s": 2.0, "watermark_rate": 0.3, "unsafe_rate": 0.2},
    "curation": {"analysis_width": 128, "train_shots": 16, "train_epochs": 2, "max_clip_s": 3.0, "min_clip_s": 0.5},
}  # fmt: skip
CURATION = [shots, segmented_clips, clip_analysis, rectified_clips, curation_scorers, filtered_clips, deduplicated_clips]


def test_curation_group_materializes_with_checks_and_counts(params_file, store, dagster_instance) -> None:
    params_file(TINY)
    res = {"store": store, "io_manager": RefIOManager(store=store), "params": ParamsResource(), "s3_source": S3Resource(),
           "executor": CurationExecutor(backend="process", max_workers=1)}  # fmt: skip
    world = dg.materialize([synthetic_world, raw_clips], selection=[synthetic_world], resources=res, instance=dagster_instance)
    key = world.output_for_node("synthetic_world")["partition"]
    assert dg.materialize([synthetic_world, raw_clips], selection=[raw_clips], partition_key=key, resources=res,
                          instance=dagster_instance).success  # fmt: skip
    result = dg.materialize([synthetic_world, raw_clips, *CURATION], selection=CURATION, resources=res, instance=dagster_instance)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [(c.asset_key, c.check_name, c.metadata) for c in checks if not c.passed]

    seg = store.get_ref("segmented_clips/__all__")
    clips = read_manifest(store, seg["clips"]).to_pylist()
    assert clips and all(c["shot_boundaries"][0] == 0 and c["duration_s"] <= 3.0 + 1e-6 for c in clips)
    final = store.get_ref("deduplicated_clips/__all__")
    table = read_manifest(store, final["clips"])
    for col in ("clip_id", "path", "sha256", "video_id", "source_relpath", "start_frame", "end_frame", "n_frames",
                "fps", "width", "height", "duration_s", "shot_boundaries", "n_shots", "crop_x0", "blur", "jitter",
                "motion", "luminance", "aesthetic", "safety", "quality_score", "motion_level", "resolution"):  # fmt: skip
        assert col in table.column_names
    # Nothing is lost: every frame of every segmented clip is in the final manifest or in the funnel's
    # dropped table, once (filtered_clips may cut a clip into kept runs and dropped shots).
    dropped = [d for d in read_manifest(store, final["all_dropped"]).to_pylist() if d["stage"] != "segmented_clips"]
    kept_frames = sum(table.column("n_frames").to_pylist())
    assert kept_frames + sum(d["end_frame"] - d["start_frame"] for d in dropped) == sum(c["n_frames"] for c in clips)
    assert {d["clip_id"].rsplit("-s", 1)[0] for d in dropped} | {c.rsplit("-s", 1)[0] for c in table.column("clip_id").to_pylist()} \
        == {c["clip_id"] for c in clips}
    md = result.asset_materializations_for_node("filtered_clips")[0].metadata
    assert md["safety_backend"].value.startswith("fallback:trained") and "preview" in md or md["clips"].value == 0

    # Re-materialising `shots` decodes nothing: the analysis is cached by content hash + settings.
    again = dg.materialize([synthetic_world, raw_clips, *CURATION], selection=[shots], resources=res, instance=dagster_instance)
    smd = again.asset_materializations_for_node("shots")[0].metadata
    assert smd["videos_cached"].value == 3 and smd["frames_decoded"].value == 0
