"""The one Definitions object loads, every group is present, and dvc.yaml matches the graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from resources.paths import REPO_ROOT

EXPECTED = {
    "sourcing": {"synthetic_world", "raw_clips"},
    "curation": {"shots", "segmented_clips", "clip_analysis", "rectified_clips", "filtered_clips", "deduplicated_clips"},
    "captioning": {"caption_annotations", "captioner", "captions", "training_dataset"},
    "encoding": {"text_encoder", "vae", "thin_vae_decoder", "packed_latents"},
    "prompting": {"prompt_engineer_sft", "prompt_engineer"},
    "pretraining": {"dit_t2i", "dit_joint_low", "dit_joint_high", "dit_joint_24fps", "dit_continue_training"},
    "finetuning": {"sft_specialists", "merged_model"},
    "benchmarking": {"benchmark_suite", "judges", "benchmark_generations", "benchmark_scores", "arena", "benchmark_report"},
}


def test_every_group_has_its_assets() -> None:
    from orchestration.definitions import defs

    groups: dict[str, set[str]] = {}
    for a in defs.assets or []:
        for key, group in a.group_names_by_key.items():
            groups.setdefault(group, set()).add(key.to_user_string())
    for group, names in EXPECTED.items():
        assert names <= groups.get(group, set()), f"group {group} lacks {names - groups.get(group, set())}"
    graph = defs.resolve_asset_graph()
    assert graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "merged_model")).parent_keys


def test_dagster_cli_validates_the_workspace(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_committed_dvc_yaml_matches_the_asset_graph() -> None:
    from orchestration.definitions import defs
    from orchestration.dvc_stages import build_stages

    committed = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())
    assert committed == build_stages(defs), "dvc.yaml is stale: run `seedflow dvc`"
