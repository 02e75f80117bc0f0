"""Dagster definitions of the curation group (paper section 3.1).

raw_clips -> shots -> segmented_clips -> clip_analysis -> rectified_clips -> filtered_clips
-> deduplicated_clips, plus `curation_scorers` (the aesthetic scorer and safety classifier the
pipeline trains). The logic lives in `stages.py`; here each stage becomes an asset with a
blocking GX check, counts, drop reasons and a preview.
"""



import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import great_expectations.expectations as gxe
import numpy as np
import pyarrow as pa

from assets.common.checks import check_manifest, manifest_check_spec
from assets.common.manifest import read_manifest, read_partitioned, write_manifest
from assets.common.outputs import manifest_output, markdown_table, value_version
from assets.common.previews import contact_sheet, png_metadata
from assets.curation import schemas, stages
from assets.curation.settings import CurationSettings
from resources.executor import CurationExecutor
from resources.params import ParamsResource
from resources.paths import data_root
from resources.store import ArtifactStore

GROUP = "curation"
CODE_VERSION = "curation-1"


def _settings(params: ParamsResource) -> CurationSettings:
    s = params.section("curation", CurationSettings)
    return s if s.seed else s.model_copy(update={"seed": params.seed})


def _reasons_md(reasons: dict[str, int]) -> dg.MetadataValue:
    rows = [{"reason": k, "clips": v} for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])]
    return dg.MetadataValue.md(markdown_table(rows) if rows else "_no drops_")


def _counts_md(counts: dict[str, int]) -> dict[str, dg.MetadataValue]:
    return {k: dg.MetadataValue.int(int(v)) for k, v in counts.items()}


def _preview(store: ArtifactStore, clips: pa.Table, title: str, ns: str) -> dict[str, dg.MetadataValue]:
    """First thumbnail of up to 12 clips, from the cached analysis (no decoding)."""
    from assets.curation.cache import analysis_from_bytes

    frames, labels, loaded = [], [], {}
    for r in clips.slice(0, 12).to_pylist():
        if r["analysis_path"] not in loaded:
            loaded[r["analysis_path"]] = analysis_from_bytes(store.read_bytes(r["analysis_path"]))
        a = loaded[r["analysis_path"]]
        seg = a.segments[r["segments"][0]] if r.get("segments") else None
        if seg is not None and seg.thumbs:
            th = stages.crop_thumbs([seg.thumbs[0][1]], r, a.width, a.height)[0] if "crop_x0" in r else seg.thumbs[0][1]
            frames.append(th)
            labels.append(r["clip_id"])
    if not frames:
        return {}
    return png_metadata(store, contact_sheet(frames, labels, cell=96, cols=4), f"{ns}/previews", title)


def _clips_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="clip_id"),
        gxe.ExpectColumnValuesToBeUnique(column="clip_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$"),
        gxe.ExpectColumnValuesToBeBetween(column="n_frames", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0.0, max_value=600.0),
        gxe.ExpectColumnValuesToBeBetween(column="n_shots", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="width", min_value=2),
        gxe.ExpectColumnValuesToBeBetween(column="height", min_value=2),
    ]


def _scored_suite() -> list[Any]:
    return [
        *_clips_suite(),
        gxe.ExpectColumnValuesToBeBetween(column="aesthetic", min_value=0.0, max_value=1.0),
        gxe.ExpectColumnValuesToBeBetween(column="quality_score", min_value=0.0, max_value=1.0),
        gxe.ExpectColumnValuesToBeInSet(column="motion_level", value_set=["static", "low", "medium", "high"]),
    ]


def _dropped_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="clip_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="reason"),
        gxe.ExpectColumnValuesToBeInSet(
            column="reason",
            value_set=["too_short", "source_quarantined", "write_failed", "no_valid_crop", "rectify_failed", "blur",
                       "jitter", "static", "low_light", "low_aesthetic", "unsafe", "near_duplicate"],
        ),  # fmt: skip
    ]


def _shots_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="video_id"),
        gxe.ExpectColumnValuesToBeBetween(column="n_frames", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="shot_index", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="cut_detector", value_set=["start", "content", "adaptive", "threshold"]),
    ]


def _frame_balance(name: str, clips_in: pa.Table, kept: pa.Table, dropped: pa.Table) -> dg.AssetCheckResult:
    """Nothing is lost when clips are cut: every frame in is in a kept clip or a dropped piece, once,
    and every clip in is kept, cut (its pieces' ids extend its own) or dropped."""
    frames_in = int(np.sum(clips_in.column("n_frames").to_numpy())) if clips_in.num_rows else 0
    frames_kept = int(np.sum(kept.column("n_frames").to_numpy())) if kept.num_rows else 0
    d = dropped.to_pylist()
    frames_dropped = sum(x["end_frame"] - x["start_frame"] for x in d)
    ids_in = set(clips_in.column("clip_id").to_pylist())
    parents = {i if i in ids_in else i.rsplit("-s", 1)[0] for i in kept.column("clip_id").to_pylist() + [x["clip_id"] for x in d]}
    missing = sorted(ids_in - parents)
    return dg.AssetCheckResult(
        check_name="counts_add_up",
        passed=frames_in == frames_kept + frames_dropped and not missing,
        asset_key=dg.AssetKey(name),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"clips_in": clips_in.num_rows, "kept": kept.num_rows, "dropped": len(d), "frames_in": frames_in,
                  "frames_kept": frames_kept, "frames_dropped": frames_dropped, "clips_unaccounted": len(missing)},  # fmt: skip
    )


def _analysis_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="clip_id"),
        gxe.ExpectColumnValuesToBeBetween(column="luminance", min_value=0.0, max_value=255.0),
        gxe.ExpectColumnValuesToBeBetween(column="crop_area", min_value=0.0, max_value=1.0),
    ]


def _balance(name: str, n_in: int, n_kept: int, n_dropped: int) -> dg.AssetCheckResult:
    """Nothing is lost: every clip in is kept or dropped with a reason."""
    return dg.AssetCheckResult(
        check_name="counts_add_up",
        passed=n_in == n_kept + n_dropped,
        asset_key=dg.AssetKey(name),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"in": n_in, "kept": n_kept, "dropped": n_dropped},
    )


def _balance_spec(name: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name="counts_add_up", asset=dg.AssetKey(name), blocking=True,
                             description="clips in = clips kept + clips dropped (with reasons)")  # fmt: skip


def _store_tables(store, out: stages.StageOutput, ns: str, which: dict[str, pa.Schema]) -> dict[str, Any]:
    return {k: write_manifest(store, f"{ns}/{k}", out.tables[k], schema) for k, schema in which.items()}


def _workdir() -> Path:
    return stages.scratch_dir(data_root() / "scratch")


# ---------------------------------------------------------------------------------------------


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    ins={"raw_clips": dg.AssetIn("raw_clips")},
    check_specs=[manifest_check_spec("shots"), manifest_check_spec("shots", "quarantine_valid")],
    description="Single decode pass per video (cached by content hash + settings): shots from PySceneDetect's detectors fed frame by frame, plus every per-frame signal later stages need.",
)
def shots(context: dg.AssetExecutionContext, raw_clips: dict[str, Any], params: ParamsResource,
          store: ArtifactStore, executor: CurationExecutor):  # fmt: skip
    s = _settings(params)
    raw = read_partitioned(store, raw_clips, "clips")
    out = stages.run_shots(store, raw, s, executor)
    refs = _store_tables(store, out, "curation/shots", {"shots": schemas.SHOTS, "videos": schemas.VIDEOS, "quarantine": schemas.QUARANTINE})
    context.log.info(f"shots: {out.counts} on {executor.describe()}")
    md = {
        **_counts_md(out.counts),
        "quarantine_reasons": _reasons_md(out.reasons),
        "executor": executor.describe(),
        "detectors": ", ".join(s.detectors),
        "settings_fingerprint": s.fingerprint(),
    }
    yield manifest_output(refs, md)
    yield check_manifest(store, refs["shots"], asset_key="shots", suite_name="curation_shots", build_suite=_shots_suite)
    yield check_manifest(store, refs["quarantine"], asset_key="shots", suite_name="curation_shots_quarantine",
                         build_suite=lambda: [gxe.ExpectColumnValuesToNotBeNull(column="reason")], check_name="quarantine_valid")  # fmt: skip


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    check_specs=[manifest_check_spec("segmented_clips"), _balance_spec("segmented_clips")],
    description="Clips of <= max_clip_s holding one or more consecutive shots (shot boundaries kept), written as mp4; short remnants dropped.",
)
def segmented_clips(context: dg.AssetExecutionContext, shots: dict[str, Any], params: ParamsResource,
                    store: ArtifactStore, executor: CurationExecutor):  # fmt: skip
    s = _settings(params)
    videos = read_manifest(store, shots["videos"])
    wd = _workdir()
    try:
        out = stages.run_segmented(store, videos, s, executor, wd)
    finally:
        stages.remove_dir(wd)
    refs = _store_tables(store, out, "curation/segmented", {"clips": schemas.CLIPS, "dropped": schemas.DROPPED, "quarantine": schemas.QUARANTINE})
    md = {**_counts_md(out.counts), "drop_reasons": _reasons_md(out.reasons), "max_clip_s": s.max_clip_s,
          **_preview(store, out.tables["clips"], "segmented clips", "curation")}  # fmt: skip
    yield manifest_output(refs, md)
    yield check_manifest(store, refs["clips"], asset_key="segmented_clips", suite_name="curation_segmented", build_suite=_clips_suite)
    # Every planned clip is written or dropped; every shot frame is in a clip or a dropped remnant.
    shot_frames = int(np.sum(read_manifest(store, shots["shots"]).column("n_frames").to_numpy())) if shots["shots"]["rows"] else 0
    clip_frames = int(np.sum(out.tables["clips"].column("n_frames").to_numpy())) if out.tables["clips"].num_rows else 0
    drop = out.tables["dropped"].to_pylist()
    drop_frames = sum(d["end_frame"] - d["start_frame"] for d in drop)
    overlap = shot_frames - sum(v["n_frames"] for v in videos.to_pylist())  # dissolve overlaps counted twice in shots
    yield dg.AssetCheckResult(
        check_name="counts_add_up", asset_key=dg.AssetKey("segmented_clips"), severity=dg.AssetCheckSeverity.ERROR,
        passed=clip_frames + drop_frames == shot_frames - overlap,
        metadata={"clip_frames": clip_frames, "dropped_frames": drop_frames, "video_frames": shot_frames - overlap},
    )  # fmt: skip


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    check_specs=[manifest_check_spec("clip_analysis")],
    description="Per clip, summed from the cached single-pass analysis (no decoding): sharpness, jitter, motion, luminance, persistent overlays and the best crop.",
)
def clip_analysis(context: dg.AssetExecutionContext, segmented_clips: dict[str, Any], params: ParamsResource, store: ArtifactStore):
    s = _settings(params)
    out = stages.run_clip_analysis(store, read_manifest(store, segmented_clips["clips"]), s)
    refs = _store_tables(store, out, "curation/clip_analysis", {"analysis": schemas.CLIP_ANALYSIS})
    yield manifest_output(refs, {**_counts_md(out.counts), "overlay_kinds": _reasons_md(out.reasons)})
    yield check_manifest(store, refs["analysis"], asset_key="clip_analysis", suite_name="curation_clip_analysis", build_suite=_analysis_suite)


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    check_specs=[manifest_check_spec("rectified_clips"), _balance_spec("rectified_clips")],
    description="Clips with overlays cropped to the largest overlay-free region at a valid aspect ratio; no good crop -> dropped.",
)
def rectified_clips(context: dg.AssetExecutionContext, segmented_clips: dict[str, Any], clip_analysis: dict[str, Any],
                    params: ParamsResource, store: ArtifactStore, executor: CurationExecutor):  # fmt: skip
    s = _settings(params)
    clips_in = read_manifest(store, segmented_clips["clips"])
    wd = _workdir()
    try:
        out = stages.run_rectified(store, clips_in, read_manifest(store, clip_analysis["analysis"]), s, executor, wd)
    finally:
        stages.remove_dir(wd)
    refs = _store_tables(store, out, "curation/rectified", {"clips": schemas.CLIPS, "dropped": schemas.DROPPED})
    rect = out.tables["clips"].filter(pa.compute.greater(out.tables["clips"].column("n_overlays"), 0))
    md = {**_counts_md(out.counts), "drop_reasons": _reasons_md(out.reasons),
          **_preview(store, rect if rect.num_rows else out.tables["clips"], "rectified clips", "curation")}  # fmt: skip
    yield manifest_output(refs, md)
    yield check_manifest(store, refs["clips"], asset_key="rectified_clips", suite_name="curation_rectified", build_suite=_clips_suite)
    yield _balance("rectified_clips", clips_in.num_rows, out.tables["clips"].num_rows, out.tables["dropped"].num_rows)


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    deps=[],
    description="Trains the aesthetic scorer and the safety classifier (Lightning, MLflow) on thumbnails of labelled shots rendered by the world generator under a separate seed.",
)
def curation_scorers(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore) -> dg.Output:
    import torch

    from assets.curation.training import labelled_set
    from assets.sourcing.world.settings import WorldSettings
    from models.curation.scorers import ThumbClassifierConfig, save_classifier, train_thumb_classifier

    torch.set_num_threads(1)
    s = _settings(params)
    world = params.section("world", WorldSettings)
    tracking = getattr(context.resources, "tracking", None)
    lab = labelled_set(s, world, seed=s.seed + 1_000_003)
    thumbs = lab.thumbs
    value: dict[str, Any] = {}
    md: dict[str, Any] = {"train_thumbnails": int(len(thumbs)), "train_shots": int(len(np.unique(lab.groups)))}
    for task, labels in (("aesthetic", lab.good), ("safety", lab.unsafe)):
        cfg = ThumbClassifierConfig(size=s.thumb_size, task=task)
        # Validation holds out whole shots (a shot and its unsafe twin together): a split by thumbnail
        # would validate on near-copies of training frames and overstate the metrics.
        kwargs = dict(epochs=s.train_epochs, lr=s.train_lr, batch_size=s.train_batch, seed=s.seed, groups=lab.groups)
        if tracking is not None:
            with tracking.start_run(context, run_name=f"curation_{task}", params={"curation": s.model_dump(), "task": task}) as run:
                model, metrics = train_thumb_classifier(thumbs, labels, cfg, logger=run.lightning_logger(), **kwargs)
                run.log_metrics(metrics)
                md[f"{task}_mlflow_run"] = dg.MetadataValue.url(run.url)
        else:
            model, metrics = train_thumb_classifier(thumbs, labels, cfg, **kwargs)
        with tempfile.TemporaryDirectory() as d:
            files = store.put_dir(save_classifier(model, d), namespace=f"curation/models/{task}")
        value[task] = {k: v.path for k, v in files.items()}
        md.update({f"{task}/{k}": float(v) for k, v in metrics.items()})
    return dg.Output(value, data_version=dg.DataVersion(value_version(value)), metadata=md)


def _scorers(s: CurationSettings, store: ArtifactStore, value: dict[str, Any]):
    from models.curation.scorers import LaionAestheticScorer, PretrainedSafetyClassifier, TrainedThumbScorer, load_classifier

    def trained(task: str) -> TrainedThumbScorer:
        with tempfile.TemporaryDirectory() as d:
            return TrainedThumbScorer(load_classifier(store.materialize_dir(value[task], d)))

    aesthetic = LaionAestheticScorer(s.aesthetic_path) if s.aesthetic_backend == "laion" else trained("aesthetic")
    if s.safety_backend == "none":
        safety = None
    elif s.safety_backend == "pretrained":
        safety = PretrainedSafetyClassifier(s.safety_path)
    else:
        safety = trained("safety")
    return aesthetic, safety


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    check_specs=[manifest_check_spec("filtered_clips"), _balance_spec("filtered_clips")],
    description="Quality (blur, jitter, static, low light, low aesthetic) and safety filtering; every drop carries its scores and reasons.",
)
def filtered_clips(context: dg.AssetExecutionContext, rectified_clips: dict[str, Any], curation_scorers: dict[str, Any],
                   params: ParamsResource, store: ArtifactStore, executor: CurationExecutor):  # fmt: skip
    s = _settings(params)
    clips_in = read_manifest(store, rectified_clips["clips"])
    aesthetic, safety = _scorers(s, store, curation_scorers)
    wd = _workdir()
    try:
        out = stages.run_filtered(store, clips_in, s, aesthetic, safety, executor, wd)
    finally:
        stages.remove_dir(wd)
    refs = _store_tables(store, out, "curation/filtered", {"clips": schemas.CLIPS, "dropped": schemas.DROPPED})
    md = {
        **_counts_md(out.counts), "drop_reasons": _reasons_md(out.reasons),
        "aesthetic_backend": aesthetic.backend,
        "safety_backend": safety.backend if safety is not None else "NONE",
        "thresholds": dg.MetadataValue.json({k: getattr(s, k) for k in ("blur_threshold", "jitter_threshold", "static_threshold", "low_light_threshold", "aesthetic_threshold", "safety_threshold")}),
        **_preview(store, out.tables["clips"], "filtered clips (kept)", "curation"),
    }  # fmt: skip
    if safety is None:
        msg = "NO SAFETY MODEL CONFIGURED (safety_backend: none): clips were NOT screened for unsafe content."
        context.log.warning(msg)
        md["SAFETY_WARNING"] = dg.MetadataValue.md(f"# ⚠ {msg}")
    yield manifest_output(refs, md)
    yield check_manifest(store, refs["clips"], asset_key="filtered_clips", suite_name="curation_filtered", build_suite=_scored_suite)
    yield _frame_balance("filtered_clips", clips_in, out.tables["clips"], out.tables["dropped"])


@dg.asset(
    group_name=GROUP,
    code_version=CODE_VERSION,
    check_specs=[manifest_check_spec("deduplicated_clips"), _balance_spec("deduplicated_clips"),
                 manifest_check_spec("deduplicated_clips", "dropped_valid")],  # fmt: skip
    description="Semantic dedup: shot embeddings, k-means then pairwise similarity inside clusters; each near-duplicate group keeps its best-quality clip. Read by captioning and the VAE.",
)
def deduplicated_clips(context: dg.AssetExecutionContext, filtered_clips: dict[str, Any], segmented_clips: dict[str, Any],
                       rectified_clips: dict[str, Any], params: ParamsResource, store: ArtifactStore):  # fmt: skip
    s = _settings(params)
    clips_in = read_manifest(store, filtered_clips["clips"])
    out = stages.run_dedup(store, clips_in, s)
    refs = _store_tables(store, out, "curation/deduplicated", {"clips": schemas.CLIPS, "dropped": schemas.DROPPED})
    # The whole funnel's drops in one table, so nothing is lost between raw clips and training data.
    all_dropped = pa.concat_tables([read_manifest(store, v["dropped"]) for v in (segmented_clips, rectified_clips, filtered_clips)] + [out.tables["dropped"]])
    refs["all_dropped"] = write_manifest(store, "curation/deduplicated/all_dropped", all_dropped, schemas.DROPPED)
    md = {**_counts_md(out.counts), "drop_reasons": _reasons_md(out.reasons), "embedder": "fallback:descriptor" if s.embedder == "descriptor" else f"pretrained:{Path(s.embedder_path).name}",
          "funnel_drop_reasons": _reasons_md(dict(Counter(all_dropped.column("reason").to_pylist()))),
          **_preview(store, out.tables["clips"], "deduplicated clips", "curation")}  # fmt: skip
    yield manifest_output(refs, md)
    yield check_manifest(store, refs["clips"], asset_key="deduplicated_clips", suite_name="curation_deduplicated", build_suite=_scored_suite)
    yield _balance("deduplicated_clips", clips_in.num_rows, out.tables["clips"].num_rows, out.tables["dropped"].num_rows)
    yield check_manifest(store, refs["all_dropped"], asset_key="deduplicated_clips", suite_name="curation_all_dropped",
                         build_suite=_dropped_suite, check_name="dropped_valid")  # fmt: skip


defs = dg.Definitions(
    assets=[shots, segmented_clips, clip_analysis, rectified_clips, curation_scorers, filtered_clips, deduplicated_clips]
)
