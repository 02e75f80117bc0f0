"""The benchmarking group materializes end to end on tiny data (references only: no DiT checkpoint here)."""

from pathlib import Path

import dagster as dg
import numpy as np

from assets.benchmarking import defs as B

FAST = {
    "benchmarking": {
        "t2v_prompts": 6, "i2v_prompts": 2, "open_world_fraction": 0.17, "height": 32, "width": 32,
        "frames_per_shot": 8, "judge_train_shots": 32, "judge_val_shots": 16, "judge_epochs": 1,
        "judge_size": 32, "judge_width": 8, "shot_val_videos": 4, "bootstrap": 20, "export_pairs": 4,
        "judge_floors": {k: 0.0 for k in ("subject", "colour", "count", "motion", "camera", "style", "scene", "shots")},
    }
}


def _resources(store):
    from resources.io_manager import RefIOManager
    from resources.params import ParamsResource
    from resources.tracking import MlflowTracking

    return {"store": store, "io_manager": RefIOManager(store=store), "params": ParamsResource(),
            "tracking": MlflowTracking()}


def test_benchmarking_group_materializes(params_file, store, dagster_instance, monkeypatch):
    """Suite, judges, references, one model partition, scores, arena and report, in three runs.

    The model partition goes through the real adapter (`checkpoint_generator`: store ref -> load_model ->
    generate); only the DiT's `load_model` / `generate` are replaced by a stand-in that draws a grey
    square moving right, because no DiT checkpoint is trained in this unit test."""
    import assets.pretraining.generate as G
    from resources.io_manager import ref_name

    def stand_in_generate(model, prompts, seed, *, frames=3, steps=20, conditions=(), **_):
        t = 4 * frames
        video = np.full((t, 32, 32, 3), 90, np.uint8)
        for i in range(t):
            video[i, 12:20, 4 + i : 12 + i] = 200
        return [video]

    monkeypatch.setattr(G, "load_model", lambda store, value: object())
    monkeypatch.setattr(G, "generate", stand_in_generate)
    params_file(FAST)
    res = _resources(store)
    store.put_ref(ref_name(dg.AssetKey("dit_t2i"), None), {"model_files": {}})  # a "materialized" dit_t2i
    first = dg.materialize([B.benchmark_suite, B.judges, B.benchmark_references, B.suite_check, B.judges_above_floor],
                           instance=dagster_instance, resources=res)
    assert first.success
    gen = dg.materialize([B.benchmark_suite, B.benchmark_generations], selection=[B.benchmark_generations],
                         partition_key="dit_t2i", instance=dagster_instance, resources=res)
    assert gen.success and gen.output_for_node("benchmark_generations")["rows"] == 8
    result = dg.materialize([B.benchmark_suite, B.judges, B.benchmark_references, B.benchmark_scores, B.arena,
                             B.benchmark_report], selection=[B.benchmark_scores, B.arena, B.benchmark_report],
                            instance=dagster_instance, resources=res)
    assert result.success
    assert result.output_for_node("benchmark_scores")["models"] == ["dit_t2i"]
    # every model asset of the curriculum became a partition of benchmark_generations
    parts = dagster_instance.get_dynamic_partitions("benchmark_models")
    assert parts[:5] == ["dit_t2i", "dit_joint_low", "dit_joint_high", "dit_joint_24fps", "dit_continue_training"]
    assert "merged_model" in parts and any(p.startswith("sft_specialists.") for p in parts)
    checks = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert checks == {"manifest_valid": True, "judges_above_floor": True}

    report = result.output_for_node("benchmark_report")
    page = store.read_bytes(report["html"]["path"]).decode()
    for section in ("Did each training stage improve", "Arena leaderboard", "Absolute scores", "Multi-shot",
                    "Judges", "reference:world_truth", "data:image/png;base64"):
        assert section in page
    assert {"dimensions.png", "categories.png", "elo.png", "gsb_matrix.png", "samples.png"} <= set(report["plots"])
    md = store.read_bytes(report["markdown"]["path"]).decode()
    assert "dit_t2i" in md and "## Multi-shot: requested vs produced shots" in md
    arena = result.output_for_node("arena")
    # (the 1-epoch judge here is no judge: ranking quality is tested in test_judges.py)
    assert {r["model"] for r in arena["leaderboard"]} == {"dit_t2i", "reference:world_truth", "reference:degraded_truth",
                                                          "reference:random_content"}
    assert Path(store.local_path(arena["export"]["html"])).read_text(encoding="utf-8").count("<video") == 8


def test_missing_model_checkpoint_gives_an_empty_partition_that_says_why(params_file, store, dagster_instance):
    params_file(FAST)
    dg.materialize([B.benchmark_suite], instance=dagster_instance, resources=_resources(store))
    result = dg.materialize([B.benchmark_suite, B.benchmark_generations], selection=[B.benchmark_generations],
                            partition_key="dit_t2i", instance=dagster_instance, resources=_resources(store))
    assert result.success
    value = result.output_for_node("benchmark_generations")
    assert value["rows"] == 0
    mat = result.asset_materializations_for_node("benchmark_generations")[0]
    assert "dit_t2i is not materialized" in mat.metadata["status"].value


def test_judge_floor_result_fails_below_floor():
    ok = B.judge_floor_result({"accuracy": {"style": 0.9, "shots": 0.6}, "floors": {"style": 0.7, "shots": 0.5}})
    assert ok.passed
    bad = B.judge_floor_result({"accuracy": {"style": 0.9, "shots": 0.2}, "floors": {"style": 0.7, "shots": 0.5}})
    assert not bad.passed and "shots" in bad.metadata["failed"].value
    nan = B.judge_floor_result({"accuracy": {"style": float("nan")}, "floors": {"style": 0.7}})
    assert not nan.passed
