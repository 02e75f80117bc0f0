"""Dagster definitions of the captioning group: caption_annotations -> captioner -> captions -> training_dataset.

Report 3.1 (distribution rebalancing) and 3.2 (video captioning). The stage logic lives in the plain
modules next to this file; here it is adapted to Dagster (config, metadata, data versions, checks,
the rebalancing schedule).
"""


import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import great_expectations.expectations as gxe
import pandas as pd

from assets.captioning.settings import CaptioningSettings
from assets.common.checks import manifest_check
from assets.common.manifest import read_manifest, rows_to_table, write_manifest
from assets.common.outputs import manifest_output, markdown_table
from assets.common.seeding import stable_seed
from resources.compute import ComputeResource
from resources.io_manager import ref_name
from resources.params import ParamsResource, load_section
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "captioning"


def _settings(params: ParamsResource) -> tuple[CaptioningSettings, int]:
    return params.section("captioning", CaptioningSettings), params.seed


def _clips_table(store: ArtifactStore, value: dict[str, Any]) -> pd.DataFrame:
    ref = value if "path" in value else value["clips"]
    return read_manifest(store, ref).to_pandas()


@dg.asset(
    group_name=GROUP,
    code_version="caption-annotations-v1",
    ins={"deduplicated_clips": dg.AssetIn()},
    deps=[dg.AssetKey("synthetic_world")],
    description="The 'manually annotated' subset: ground truth on the world, or imported human annotations.",
)
def caption_annotations(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
                        deduplicated_clips: dict[str, Any]) -> dg.Output:
    from assets.captioning import schemas, stages
    from assets.captioning.annotation_import import import_annotations
    from assets.captioning.ground_truth import gt_shots_from_rows

    s, seed = _settings(params)
    clips = _clips_table(store, deduplicated_clips)
    quarantine: list[dict[str, Any]] = []
    if s.annotation_source == "ground_truth":
        world = store.get_ref(ref_name(dg.AssetKey("synthetic_world"), None))
        gt = gt_shots_from_rows(read_manifest(store, world["shots_gt"]).to_pylist())
        rows = stages.annotation_rows_from_truth(clips, gt, stable_seed(seed, s.seed, "annotations"),
                                                 s.annotated_fraction, s.heldout_fraction)
    else:
        imported = import_annotations(s.annotation_path, known_clips=set(clips.clip_id.astype(str)))
        quarantine = imported.quarantine
        rows = stages.annotation_rows_from_import(clips, imported.annotations, stable_seed(seed, s.seed, "annotations"),
                                                  s.heldout_fraction)
    if not rows:
        raise dg.Failure("no annotated clips: check captioning.annotated_fraction or the annotation file")
    ann = write_manifest(store, "captioning/annotations", rows_to_table(rows, schemas.CAPTION_ANNOTATIONS),
                         schema=schemas.CAPTION_ANNOTATIONS)
    quar = write_manifest(store, "captioning/annotations_quarantine",
                          rows_to_table(quarantine, schemas.ANNOTATION_QUARANTINE), schema=schemas.ANNOTATION_QUARANTINE)
    n_train = sum(r["split"] == "train" for r in rows)
    return manifest_output({"annotations": ann, "quarantine": quar}, {
        "source": s.annotation_source,
        "annotated_clips": len(rows), "train_clips": n_train, "heldout_clips": len(rows) - n_train,
        "quarantined_rows": len(quarantine),
        "examples": dg.MetadataValue.md(markdown_table(
            [{"clip_id": r["clip_id"], "split": r["split"], "caption_long_en": r["caption_long_en"][:200],
              "caption_long_zh": r["caption_long_zh"][:120]} for r in rows[:8]])),
        "quarantine": dg.MetadataValue.md(markdown_table(quarantine[:20], ["line", "clip_id", "reason"])),
    })


@dg.asset(
    group_name=GROUP,
    code_version="captioner-v1",
    description="Caption model: frozen (pre-trained) visual encoder + trained bilingual decoder (report 3.2).",
)
def captioner(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
              tracking: MlflowTracking, compute: ComputeResource, caption_annotations: dict[str, Any]) -> dg.Output:
    import torch

    from assets.captioning import stages
    from assets.captioning.captioner import CaptionerData, render_augmentation, train_captioner
    from assets.captioning.schema import ShotCaption

    s, seed = _settings(params)
    if s.backend == "hf":
        # a real checkpoint is used as is; its files are referenced, not copied
        return manifest_output({"backend": f"hf:{s.hf_path}", "checkpoint": {}},
                               {"backend": f"hf:{s.hf_path} (pretrained transformers VLM, not trained here)"})
    compute.apply_threads()
    ann = read_manifest(store, caption_annotations["annotations"]).to_pandas()
    train = ann[ann.split == "train"].to_dict("records")
    frames, _ = stages.load_clip_shots(train, store.local_path, s.frames_per_shot, s.view_shape)
    shots = [ShotCaption.from_dict(d) for r in train for d in json.loads(r["shot_labels_json"])]
    aug_frames, aug_shots = render_augmentation(s.augment_shots, stable_seed(seed, s.seed, "augment"),
                                                s.frames_per_shot, s.view_shape)
    # rendered shots come as uint8; the decoded clip shots are [0, 1] floats: one dtype for both
    clip_u8 = frames.mul(255).round().to(torch.uint8)
    data = CaptionerData(torch.cat([clip_u8, aug_frames]), shots + aug_shots, len(shots))
    with tracking.start_run(context, run_name="captioner", params=s.model_dump()) as run:
        model, report, _ = train_captioner(s, data, stable_seed(seed, s.seed, "captioner") % 2**31,
                                           logger=run.lightning_logger())
        for i, v in enumerate(report.encoder_loss):
            run.log_metrics({"train/encoder_loss": v}, step=i)
        for i, v in enumerate(report.decoder_loss):
            run.log_metrics({"train/decoder_loss": v}, step=i)
        # sample captions beside their clips
        n = min(s.n_samples, len(train))
        samples = []
        for r in train[:n]:
            f, _ = stages.load_clip_shots([r], store.local_path, s.frames_per_shot, s.view_shape)
            samples.append({"clip": r["clip_id"], "truth": r["caption_long_en"],
                            "en": " | ".join(model.caption(f, "en", "long")),
                            "zh": " | ".join(model.caption(f, "zh", "long"))})
            run.log_artifact(store.local_path(r["path"]), "samples")
        run.log_text(json.dumps(samples, ensure_ascii=False, indent=1), "samples/captions.json")
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp)
            files = {name: ref.path for name, ref in store.put_dir(tmp, namespace="captioning/captioner").items()}
            tracking.register_model(run, tmp, "captioner", "captioning")
        url = run.url
    return manifest_output({"backend": "embedded", "checkpoint": files}, {
        "backend": "embedded (pipeline-trained; frozen visual encoder + trained decoder)",
        "encoder_cpu_s": report.encoder_cpu_s, "decoder_cpu_s": report.decoder_cpu_s,
        "train_shots": len(shots), "augment_shots": len(aug_shots),
        "encoder_params": report.encoder_params, "decoder_params": report.decoder_params,
        "frozen_encoder": report.frozen_encoder,
        "final_encoder_loss": report.encoder_loss[-1] if report.encoder_loss else float("nan"),
        "final_decoder_loss": report.decoder_loss[-1] if report.decoder_loss else float("nan"),
        "samples": dg.MetadataValue.md(markdown_table(samples)),
        "mlflow_run": dg.MetadataValue.url(url),
    })


def load_captioner(store: ArtifactStore, value: dict[str, Any], s: CaptioningSettings) -> Any:
    if value["backend"].startswith("hf:"):
        # the real backend: a local transformers vision-language checkpoint (Qwen2-VL style)
        from models.captioner.hf import HfCaptioner

        return HfCaptioner.from_pretrained(value["backend"][3:], frames=s.hf_frames,
                                           max_new_tokens=s.hf_max_new_tokens)
    from models.captioner.embedded import EmbeddedCaptioner

    tmp = Path(tempfile.mkdtemp(prefix="captioner-"))
    store.materialize_dir(value["checkpoint"], tmp)
    from assets.captioning.captioner import with_grammar_check

    # beam search keeps the likeliest caption the schema's parser accepts (as the `captioner` asset does)
    return with_grammar_check(EmbeddedCaptioner.from_pretrained(tmp))


@dg.asset(
    group_name=GROUP,
    code_version="captions-v1",
    ins={"deduplicated_clips": dg.AssetIn()},
    description="Every deduplicated clip captioned per shot: long + short, EN + ZH; accuracy on held-out clips.",
)
def captions(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
             deduplicated_clips: dict[str, Any], caption_annotations: dict[str, Any],
             captioner: dict[str, Any]) -> dg.Output:
    from assets.captioning import schemas, stages

    s, _ = _settings(params)
    model = load_captioner(store, captioner, s)
    clips = _clips_table(store, deduplicated_clips).to_dict("records")
    frames, per_clip = stages.load_clip_shots(clips, store.local_path, s.frames_per_shot, s.view_shape)
    generated = {(lang, form): model.caption(frames, lang, form) for lang in ("en", "zh") for form in ("long", "short")}
    rows = stages.caption_rows(clips, per_clip, generated, model.backend)
    table = pd.DataFrame(rows)
    ann = read_manifest(store, caption_annotations["annotations"]).to_pandas()
    acc = stages.heldout_accuracy(ann, table)
    ref = write_manifest(store, "captioning/captions", rows_to_table(rows, schemas.CAPTIONS), schema=schemas.CAPTIONS)
    acc_ref = store.put_bytes(json.dumps(acc, sort_keys=True).encode(), namespace="captioning/accuracy", suffix=".json")
    return manifest_output({"captions": ref, "accuracy": acc_ref.path}, {
        "clips": len(rows), "shots": int(sum(per_clip)), "backend": model.backend,
        "valid_share": float(table.caption_valid.mean()) if len(table) else 0.0,
        "heldout_accuracy": dg.MetadataValue.json(acc),
        "examples": dg.MetadataValue.md(markdown_table(
            [{k: r[k] for k in ("clip_id", "n_shots", "caption_long_en", "caption_short_zh")} for r in rows[:8]])),
    })


@dg.asset(
    group_name=GROUP,
    code_version="training-dataset-v1",
    description="Distribution rebalancing (report 3.1): sampling weights, train/val split, acquisition targets.",
)
def training_dataset(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
                     captions: dict[str, Any]) -> dg.Output:
    from assets.captioning import schemas
    from assets.captioning.rebalancing import plot_distributions, rebalance
    from assets.common.previews import png_metadata

    s, seed = _settings(params)
    df = read_manifest(store, captions["captions"]).to_pandas()
    df = df[df.caption_valid & (df.subject != "")].reset_index(drop=True)
    if df.empty:
        raise dg.Failure("no clip has a valid caption; check the captioner's accuracy metadata")
    df["motion_score"] = df["motion_score"].fillna(0.0)
    result = rebalance(df, s.rebalance_dimensions, s.rebalance_power, s.weight_cap, s.weight_floor,
                       s.acquisition_share)
    df["sampling_weight"] = result.weights
    df["split"] = ["val" if (stable_seed(seed, "split", c) % 10**6) / 10**6 < s.val_fraction else "train"
                   for c in df.clip_id]
    ref = write_manifest(store, "captioning/training_dataset",
                         rows_to_table(df[schemas.TRAINING_DATASET.names].to_dict("records"), schemas.TRAINING_DATASET),
                         schema=schemas.TRAINING_DATASET)
    targets = write_manifest(store, "captioning/acquisition_targets",
                             rows_to_table(result.targets.to_dict("records"), schemas.ACQUISITION_TARGETS),
                             schema=schemas.ACQUISITION_TARGETS)
    md: dict[str, Any] = {
        "clips": len(df), "dropped_invalid_captions": int(len(read_manifest(store, captions["captions"])) - len(df)),
        "entropy_gain_nats": result.entropy_gain,
        "entropy": dg.MetadataValue.json({d: {"before": result.entropy_before[d], "after": result.entropy_after[d]}
                                          for d in result.entropy_before}),
        "max_weight": float(result.weights.max()), "min_weight": float(result.weights.min()),
        "acquisition_targets": dg.MetadataValue.md(markdown_table(result.targets.to_dict("records"), limit=30)),
    }
    md.update(png_metadata(store, plot_distributions(result), "captioning/previews", "before/after distributions"))
    return manifest_output({"dataset": ref, "acquisition_targets": targets}, md)


# -- checks ------------------------------------------------------------------------------------------


def _annotations_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="clip_id"),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=["train", "heldout"]),
        gxe.ExpectColumnValuesToBeBetween(column="n_shots", min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="caption_long_en"),
        gxe.ExpectColumnValuesToNotBeNull(column="caption_long_zh"),
    ]


def _captions_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="clip_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$"),
        gxe.ExpectColumnValuesToBeBetween(column="n_shots", min_value=1),
        *[gxe.ExpectColumnValuesToNotBeNull(column=f"caption_{f}_{l}") for f in ("long", "short") for l in ("en", "zh")],
    ]


def _dataset_suite() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="clip_id"),
        gxe.ExpectColumnValuesToBeBetween(column="sampling_weight", min_value=0, strict_min=True),
        gxe.ExpectColumnMeanToBeBetween(column="sampling_weight", min_value=0.99, max_value=1.01),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=["train", "val"]),
        gxe.ExpectColumnValuesToNotBeNull(column="caption_long_en"),
    ]


checks = [
    manifest_check("caption_annotations", _annotations_suite, manifest_key="annotations"),
    manifest_check("captions", _captions_suite, manifest_key="captions"),
    manifest_check("training_dataset", _dataset_suite, manifest_key="dataset"),
]

# -- rebalancing schedule -------------------------------------------------------------------------------


def _schedule_settings() -> CaptioningSettings:
    try:
        return load_section(None, "captioning", CaptioningSettings)
    except Exception:  # no params file yet (fresh checkout): the typed defaults
        return CaptioningSettings()


rebalance_job = dg.define_asset_job(
    "rebalance_job",
    # Rebalancing and the unpartitioned assets below it (packing, the pretraining curriculum). A job
    # cannot mix partitions definitions, so the partitioned SFT specialists and benchmark generations
    # (and what reads them) are left for their own runs; the UI shows them stale after this job.
    selection=dg.AssetSelection.assets("training_dataset").downstream()
    - dg.AssetSelection.assets("sft_specialists", "benchmark_generations").downstream(),
    description="Re-run distribution rebalancing and the assets that read the training dataset.",
)

_sched = _schedule_settings()
rebalance_schedule = dg.ScheduleDefinition(
    name="rebalance_schedule",
    job=rebalance_job,
    cron_schedule=_sched.schedule_cron,
    default_status=dg.DefaultScheduleStatus.RUNNING if _sched.schedule_enabled else dg.DefaultScheduleStatus.STOPPED,
    description="Periodic distribution rebalancing (cron from captioning.schedule_cron).",
)

defs = dg.Definitions(
    assets=[caption_annotations, captioner, captions, training_dataset],
    asset_checks=checks,
    jobs=[rebalance_job],
    schedules=[rebalance_schedule],
)
