"""Dagster definitions of the benchmarking group (report section 7).

benchmark_suite -> judges -> benchmark_references ->
benchmark_generations[model] -> benchmark_scores -> arena -> benchmark_report

`benchmark_generations` has one dynamic partition per model asset ("dit_t2i", ..., "sft_specialists.<category>",
"merged_model"); `benchmark_suite` registers them from the preset's `models` list, so adding a model is
adding a partition. Logic lives in the plain modules next to this file and in `evaluations/`.
"""


import base64
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import great_expectations.expectations as gxe
import numpy as np
import pyarrow as pa

from assets.benchmarking import taxonomy as TX
from assets.benchmarking.settings import BenchmarkingSettings
from assets.common.checks import check_manifest
from assets.common.manifest import read_manifest, write_manifest
from assets.common.outputs import manifest_output, markdown_table
from assets.common.seeding import stable_seed
from resources.io_manager import ref_name
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "benchmarking"
model_partitions = dg.DynamicPartitionsDefinition(name="benchmark_models")

# Every checkpoint asset of the curriculum so far. Later stages (RLHF, distilled students) join by being
# listed in the preset's `benchmarking.models` (a new partition); their asset key joins MODEL_ASSETS.
MODEL_ASSETS = ("dit_t2i", "dit_joint_low", "dit_joint_high", "dit_joint_24fps", "dit_continue_training",
                "sft_specialists", "merged_model", "dit_temporal_text_ablation")
PARTITIONED_MODEL_ASSETS = {"sft_specialists"}


def _settings(params: ParamsResource) -> BenchmarkingSettings:
    return params.section(GROUP, BenchmarkingSettings)


def _seed(params: ParamsResource, settings: BenchmarkingSettings) -> int:
    return stable_seed(params.seed, GROUP, settings.seed) % (2**31)


def model_partition_keys(settings: BenchmarkingSettings, params: ParamsResource) -> tuple[list[str], list[str]]:
    """The partitions to benchmark, in curriculum order, and notes on what was skipped.

    A partitioned model asset (`sft_specialists`) expands to one partition per preset category."""
    keys, notes = [], []
    for m in settings.models:
        if m in PARTITIONED_MODEL_ASSETS:
            try:
                from assets.finetuning.settings import FinetuningSettings

                cats = params.section("finetuning", FinetuningSettings).categories
                keys += [f"{m}.{c}" for c in cats]
            except Exception as exc:  # noqa: BLE001 - the finetuning section may not exist yet
                notes.append(f"{m}: no finetuning categories in the preset ({type(exc).__name__}); skipped")
        else:
            keys.append(m)
    if settings.temporal_text_variant and settings.temporal_text_variant not in keys:
        keys.append(settings.temporal_text_variant)
    return keys, notes


def model_ref(partition: str) -> tuple[dg.AssetKey, str | None]:
    asset, _, part = partition.partition(".")
    return dg.AssetKey(asset), (part or None)


# ----------------------------------------------------------------------------------------------- suite
def _suite_expectations() -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="prompt_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="text"),
        gxe.ExpectColumnValuesToBeInSet(column="task", value_set=["t2v", "i2v"]),
        gxe.ExpectColumnValuesToBeInSet(column="part", value_set=["synthetic", "open"]),
        gxe.ExpectColumnValuesToBeInSet(column="category", value_set=list(TX.CATEGORIES)),
        gxe.ExpectColumnValuesToBeInSet(column="lang", value_set=["en", "zh"]),
        gxe.ExpectColumnValuesToBeBetween(column="n_shots", min_value=1, max_value=4),
    ]


@dg.asset(group_name=GROUP, code_version="suite-v1",
          description="SeedVideoBench-style T2V + I2V prompt suite over the report's taxonomy (7.2.1).")
def benchmark_suite(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore) -> dg.Output:
    from assets.benchmarking.suite import SUITE_SCHEMA, build_suite, coverage, suite_table

    s = _settings(params)
    prompts = build_suite(t2v_prompts=s.t2v_prompts, i2v_prompts=s.i2v_prompts,
                          open_world_fraction=s.open_world_fraction, seed=_seed(params, s), languages=tuple(s.languages))
    ref = write_manifest(store, f"{GROUP}/suite", suite_table(prompts), SUITE_SCHEMA)
    keys, notes = model_partition_keys(s, params)
    context.instance.add_dynamic_partitions(model_partitions.name, keys)
    multi = sum(p.n_shots > 1 for p in prompts)
    samples = [{"id": p.prompt_id, "category": f"{p.category}/{p.subcategory}", "lang": p.lang, "text": p.text}
               for p in prompts[:: max(1, len(prompts) // 8)]]
    return manifest_output(ref, {
        "prompts": len(prompts), "multi_shot_prompts": multi,
        "model_partitions": dg.MetadataValue.json(keys),
        "skipped_models": dg.MetadataValue.json(notes),
        "coverage": dg.MetadataValue.md(markdown_table(coverage(prompts))),
        "sample_prompts": dg.MetadataValue.md(markdown_table(samples)),
    })


@dg.asset_check(asset=benchmark_suite, name="manifest_valid", blocking=True,
                description="Great Expectations suite over the prompt manifest (unique ids, taxonomy labels, 1-4 shots).")
def suite_check(store: ArtifactStore, benchmark_suite: dict[str, Any]) -> dg.AssetCheckResult:
    # written here rather than with assets.common.checks.manifest_check, whose `context` annotation is a
    # string under `from __future__ import annotations` and fails Dagster's definition-time validation
    return check_manifest(store, benchmark_suite, asset_key="benchmark_suite", suite_name="benchmarking_suite",
                          build_suite=_suite_expectations)


# ----------------------------------------------------------------------------------------------- judges
@dg.asset(group_name=GROUP, code_version="judges-v2",
          description="Automatic judges trained on the synthetic world's ground truth, validated on held-out shots.")
def judges(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
           tracking: MlflowTracking) -> dg.Output:
    import torch

    from assets.benchmarking.judges import RenderSpec, make_shot_counter, train_and_validate, validate_shot_counter
    from evaluations.judge_net import save_judge

    torch.set_num_threads(1)
    s = _settings(params)
    seed = _seed(params, s)
    spec = RenderSpec(s.height, s.width, s.fps, s.frames_per_shot)
    curation = _curation_settings(params)
    counter, backend = make_shot_counter(curation)
    with tracking.start_run(context, run_name="judges", preset=params.preset,
                            params={"benchmarking": s.model_dump(), "shot_counter": backend}) as run:
        trained = train_and_validate(spec, n_train=s.judge_train_shots, n_val=s.judge_val_shots, epochs=s.judge_epochs,
                                     seed=seed, size=s.judge_size, width=s.judge_width, lr=s.judge_lr, progress=True)
        shots_acc, shot_rows = validate_shot_counter(counter, spec, s.shot_val_videos, seed)
        for i, loss in enumerate(trained.history):
            run.log_metrics({"train/loss": loss}, step=i)
        run.log_metrics({**{f"val/acc_{k}": v for k, v in trained.accuracy.items()}, "val/acc_shots": shots_acc})
        with tempfile.TemporaryDirectory() as tmp:
            files = store.put_dir(save_judge(trained.model, Path(tmp) / "judge"), namespace=f"{GROUP}/judges")
    accuracy = {**trained.accuracy, "shots": shots_acc}
    table = [{"judge": k, "held_out_accuracy": v, "train_accuracy": trained.train_accuracy.get(k, float("nan")),
              "floor": s.judge_floors[k], "chance": _chance(k)} for k, v in accuracy.items()]
    value = {"model_files": {k: {"path": r.path, "sha256": r.sha256} for k, r in files.items()},
             "accuracy": accuracy, "floors": s.judge_floors, "shot_counter": backend,
             "n_train": trained.n_train, "n_val": trained.n_val, "shot_confusion": shot_rows}
    return manifest_output(value, {
        "accuracy": dg.MetadataValue.md(markdown_table(table)),
        "shot_counter": backend,
        "mlflow_run": dg.MetadataValue.url(run.url),
    })


def _chance(head: str) -> float:
    from assets.benchmarking.judges import HEADS

    return 1.0 / len(HEADS[head]) if head in HEADS else 0.25


def _curation_settings(params: ParamsResource):
    try:
        from assets.curation.settings import CurationSettings

        return params.section("curation", CurationSettings)
    except Exception:  # noqa: BLE001 - no curation section: the frame-level fallback is used
        return None


def judge_floor_result(value: dict[str, Any]) -> dg.AssetCheckResult:
    acc, floors = value["accuracy"], value["floors"]
    failed = {k: (acc[k], floors[k]) for k in acc if k in floors and not acc[k] >= floors[k]}
    return dg.AssetCheckResult(
        passed=not failed,
        metadata={"failed": dg.MetadataValue.json({k: {"accuracy": a, "floor": f} for k, (a, f) in failed.items()}),
                  **{f"acc_{k}": float(v) for k, v in acc.items()}},
        description="every judge reaches its held-out accuracy floor (benchmarking.judge_floors)",
    )


@dg.asset_check(asset=judges, name="judges_above_floor", blocking=True)
def judges_above_floor(judges: dict[str, Any]) -> dg.AssetCheckResult:  # noqa: F811 - the asset's value
    return judge_floor_result(judges)


# ----------------------------------------------------------------------------------------------- generations
def _write_videos(store: ArtifactStore, rows: list[dict], tmp: Path, model: str, kind: str, prompt, video: np.ndarray,
                  first: np.ndarray | None, fps: int, seed: int) -> None:
    from PIL import Image

    from evaluations.video_io import write_mp4

    v = video[:, : video.shape[1] // 2 * 2, : video.shape[2] // 2 * 2]  # H.264 needs even sides
    path = write_mp4(v, tmp / f"{prompt.prompt_id}.mp4", fps)
    ref = store.put_file(path, namespace=f"{GROUP}/videos", suffix=".mp4")
    frame_path = ""
    if first is not None:
        png = tmp / f"{prompt.prompt_id}.png"
        Image.fromarray(first).save(png)
        frame_path = store.put_file(png, namespace=f"{GROUP}/input_frames", suffix=".png").path
    rows.append({"model": model, "kind": kind, "prompt_id": prompt.prompt_id, "task": prompt.task, "seed": seed,
                 "video_path": ref.path, "video_sha256": ref.sha256, "input_frame_path": frame_path,
                 "n_frames": int(v.shape[0]), "height": int(v.shape[1]), "width": int(v.shape[2]), "fps": fps})


def _suite(store: ArtifactStore, value: dict[str, Any]):
    from assets.benchmarking.suite import suite_from_table

    return suite_from_table(read_manifest(store, value))


@dg.asset(group_name=GROUP, code_version="references-v1",
          description="World renders of each prompt's ground truth (clean and degraded) and of random content: "
                      "Likert anchors and the judges' separation test. References, never model outputs.")
def benchmark_references(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
                         benchmark_suite: dict[str, Any]) -> dg.Output:
    from assets.benchmarking.generation import GENERATIONS_SCHEMA, reference_generators, request_for

    s = _settings(params)
    prompts = _suite(store, benchmark_suite)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, gen in reference_generators(s.frames_per_shot, s.reference_noise).items():
            for p in prompts:
                req = request_for(p, height=s.height, width=s.width, fps=s.fps, frames_per_shot=s.frames_per_shot)
                _write_videos(store, rows, Path(tmp), name, "reference", p, gen(req), req.first_frame, s.fps, req.seed)
    ref = write_manifest(store, f"{GROUP}/references", pa.Table.from_pylist(rows, schema=GENERATIONS_SCHEMA), GENERATIONS_SCHEMA)
    return manifest_output(ref, {"videos": len(rows), "references": dg.MetadataValue.json(sorted({r["model"] for r in rows}))})


@dg.asset(group_name=GROUP, code_version="generations-v1", partitions_def=model_partitions,
          deps=[dg.AssetDep(m, partition_mapping=dg.AllPartitionMapping()) for m in MODEL_ASSETS],
          description="The suite generated by one model asset (partition) with fixed seeds: mp4 + manifest.")
def benchmark_generations(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
                          benchmark_suite: dict[str, Any]) -> dg.Output:
    from assets.benchmarking.generation import GENERATIONS_SCHEMA, checkpoint_generator, request_for

    s = _settings(params)
    partition = context.partition_key
    key, part = model_ref(partition)
    name = ref_name(key, part)
    if not store.has_ref(name):
        # an empty manifest, not a failure: one missing model (a group not built yet) must not stop the
        # benchmark of the others; the partition turns stale when the model is materialized
        msg = (f"model asset {key.to_user_string()}{'[' + part + ']' if part else ''} is not materialized; "
               f"materialize it, then this partition, or remove {partition!r} from benchmarking.models")
        context.log.warning(msg)
        empty = write_manifest(store, f"{GROUP}/generations", pa.Table.from_pylist([], schema=GENERATIONS_SCHEMA),
                               GENERATIONS_SCHEMA)
        return manifest_output(empty, {"videos": 0, "model": partition, "status": msg})
    gen = checkpoint_generator(store, store.get_ref(name), steps=s.sampling_steps,
                               latent_frames_per_shot=s.latent_frames_per_shot, max_latent_frames=s.max_latent_frames)
    prompts = _suite(store, benchmark_suite)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in prompts:
            req = request_for(p, height=s.height, width=s.width, fps=s.fps, frames_per_shot=s.frames_per_shot)
            _write_videos(store, rows, Path(tmp), partition, "model", p, gen(req), req.first_frame, s.fps, req.seed)
    ref = write_manifest(store, f"{GROUP}/generations", pa.Table.from_pylist(rows, schema=GENERATIONS_SCHEMA), GENERATIONS_SCHEMA)
    return manifest_output(ref, {"videos": len(rows), "model": partition,
                                 "size": f"{rows[0]['n_frames']}x{rows[0]['height']}x{rows[0]['width']}" if rows else ""})


def _generation_rows(context, store: ArtifactStore, references: dict[str, Any]) -> tuple[list[dict], list[str]]:
    """Reference rows plus every materialized model partition (missing partitions are logged, not fatal)."""
    rows = read_manifest(store, references).to_pylist()
    models = []
    for pk in context.instance.get_dynamic_partitions(model_partitions.name):
        name = ref_name(dg.AssetKey("benchmark_generations"), pk)
        if not store.has_ref(name):
            context.log.warning(f"benchmark_generations[{pk}] is not materialized; left out of the scores")
            continue
        part_rows = read_manifest(store, store.get_ref(name)).to_pylist()
        if not part_rows:
            context.log.warning(f"benchmark_generations[{pk}] has no videos (its model was not materialized)")
            continue
        rows += part_rows
        models.append(pk)
    return rows, models


# ----------------------------------------------------------------------------------------------- scores
@dg.asset(group_name=GROUP, code_version="scores-v1",
          deps=[dg.AssetDep("benchmark_generations", partition_mapping=dg.AllPartitionMapping())],
          description="Motion quality, prompt following, aesthetic quality and preservation per video and category, "
                      "with absolute 1-5 scores from the reference calibration (7.2.2).")
def benchmark_scores(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
                     benchmark_suite: dict[str, Any], judges: dict[str, Any],
                     benchmark_references: dict[str, Any]) -> dg.Output:
    import torch
    from PIL import Image

    from assets.benchmarking.scores import (SCORES_SCHEMA, category_summary, fit_calibration, judge_callable,
                                            likert_summary, score_generations, scores_frame)
    from evaluations.judge_net import load_judge
    from evaluations.video_io import read_mp4

    torch.set_num_threads(1)
    s = _settings(params)
    prompts = {p.prompt_id: p for p in _suite(store, benchmark_suite)}
    rows, models = _generation_rows(context, store, benchmark_references)
    with tempfile.TemporaryDirectory() as tmp:
        judge = judge_callable(load_judge(store.materialize_dir(
            {k: v["path"] for k, v in judges["model_files"].items()}, Path(tmp) / "judge")))
    cut_detector = _cut_detector(params, s)
    scored = score_generations(
        rows, prompts, read_video=lambda p: read_mp4(store.local_path(p)),
        read_frame=lambda p: np.asarray(Image.open(store.local_path(p)).convert("RGB")),
        judge=judge, cut_detector=cut_detector, dynamic_threshold=s.dynamic_threshold)
    anchors = fit_calibration(scored)
    df = scores_frame(scored, anchors)
    per_video = write_manifest(store, f"{GROUP}/scores", pa.Table.from_pandas(df, schema=SCORES_SCHEMA, preserve_index=False), SCORES_SCHEMA)
    likert = likert_summary(df)
    cats = category_summary(df)
    summary = write_manifest(store, f"{GROUP}/scores", pa.Table.from_pandas(likert, preserve_index=False))
    categories = write_manifest(store, f"{GROUP}/scores", pa.Table.from_pandas(cats, preserve_index=False))
    calib = [a.to_dict() for a in anchors.values()]
    value = {"videos": per_video, "likert": summary, "categories": categories, "calibration": calib, "models": models,
             "cut_detector": getattr(cut_detector, "backend", "fallback:pyscenedetect_frames")}
    return manifest_output(value, {
        "models": dg.MetadataValue.json(models),
        "absolute_scores": dg.MetadataValue.md(markdown_table(likert.round(3).to_dict("records"))),
        "calibration": dg.MetadataValue.md(markdown_table(calib)),
    })


def _cut_detector(params: ParamsResource, s: BenchmarkingSettings):
    """Cuts of a video: the curation detector (mp4 round trip) when configured, else the frame fallback."""
    from assets.benchmarking.judges import make_shot_counter
    from evaluations.shot_count import detect_cuts

    counter, backend = make_shot_counter(_curation_settings(params))
    if backend == "curation":
        from assets.curation.analysis import analyse_video
        from evaluations.video_io import write_mp4

        cur = _curation_settings(params)
        cur = cur.model_copy(update={"min_shot_s": min(cur.min_shot_s, 0.25)})

        def detect(frames: np.ndarray, fps: int) -> list[int]:
            with tempfile.TemporaryDirectory() as tmp:
                return list(analyse_video(write_mp4(frames, Path(tmp) / "v.mp4", fps), cur).cuts)
    else:

        def detect(frames: np.ndarray, fps: int) -> list[int]:
            return detect_cuts(frames, fps, min_shot_frames=max(2, fps // 3))

    detect.backend = backend  # type: ignore[attr-defined]
    return detect


# ----------------------------------------------------------------------------------------------- arena
@dg.asset(group_name=GROUP, code_version="arena-v1",
          description="GSB between every two models per dimension and a Bradley-Terry / Elo leaderboard with bootstrap "
                      "intervals; pairs exported for human raters, their labels imported and validated.")
def arena(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
          benchmark_scores: dict[str, Any], benchmark_suite: dict[str, Any]) -> dg.Output:
    from assets.benchmarking.arena_io import run_arena

    s = _settings(params)
    value, md = run_arena(store, s, _seed(params, s), benchmark_scores, _suite(store, benchmark_suite),
                          order=_model_order(benchmark_scores), log=context.log)
    return manifest_output(value, md)


def _model_order(scores_value: dict[str, Any]) -> list[str]:
    from assets.benchmarking.scores import REFERENCE_BAD, REFERENCE_GOOD

    refs = [REFERENCE_GOOD, "reference:degraded_truth", REFERENCE_BAD]
    return list(scores_value.get("models", [])) + refs


# ----------------------------------------------------------------------------------------------- report
@dg.asset(group_name=GROUP, code_version="report-v1",
          description="HTML report with PNG plots and a Markdown summary: did each training stage improve on the one "
                      "before it, where, and by how much.")
def benchmark_report(context: dg.AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
                     tracking: MlflowTracking, benchmark_scores: dict[str, Any], arena: dict[str, Any],
                     judges: dict[str, Any], benchmark_suite: dict[str, Any]) -> dg.Output:
    from assets.benchmarking.report_io import build_report

    s = _settings(params)
    rendered, data_notes = build_report(store, s, benchmark_scores, arena, judges, _suite(store, benchmark_suite),
                                        order=_model_order(benchmark_scores))
    html_ref = store.put_bytes(rendered.html.encode("utf-8"), namespace=f"{GROUP}/report", suffix=".html")
    md_ref = store.put_bytes(rendered.markdown.encode("utf-8"), namespace=f"{GROUP}/report", suffix=".md")
    png_refs = {k: store.put_bytes(v, namespace=f"{GROUP}/report", suffix=".png").path for k, v in rendered.pngs.items()}
    with tracking.start_run(context, run_name="benchmark_report", preset=params.preset,
                            params={"benchmarking": s.model_dump()}) as run:
        run.log_text(rendered.markdown, "benchmark_report.md")
        run.log_text(rendered.html, "benchmark_report.html")
        with tempfile.TemporaryDirectory() as tmp:
            for k, v in rendered.pngs.items():
                (Path(tmp) / k).write_bytes(v)
                run.log_artifact(Path(tmp) / k, "plots")
        if not rendered.progress.empty:
            for r in rendered.progress.to_dict("records"):
                name = f"gsb/{r['from']}_to_{r['to']}/{r['dimension']}".replace(":", "_").replace(".", "_")
                run.log_metrics({name: float(r["gsb"])})
    value = {"html": {"path": html_ref.path, "sha256": html_ref.sha256}, "markdown": {"path": md_ref.path, "sha256": md_ref.sha256},
             "plots": png_refs}
    md = {
        "summary": dg.MetadataValue.md(rendered.markdown),
        "report": dg.MetadataValue.path(str(store.local_path(html_ref.path))),
        "mlflow_run": dg.MetadataValue.url(run.url),
    }
    if "elo.png" in rendered.pngs:
        md["elo"] = dg.MetadataValue.md(f"![elo](data:image/png;base64,{base64.b64encode(rendered.pngs['elo.png']).decode()})")
    return dg.Output(value=value, data_version=dg.DataVersion(html_ref.sha256[:32]), metadata=md)


defs = dg.Definitions(
    assets=[benchmark_suite, judges, benchmark_references, benchmark_generations, benchmark_scores, arena, benchmark_report],
    asset_checks=[suite_check, judges_above_floor],
)
