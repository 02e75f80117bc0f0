"""DVC round trip on the sourcing stage: repro, push, fresh clone + pull gives identical bytes,
and a second repro with nothing changed re-runs nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestration.presets import render_preset

BIN = Path(sys.executable).parent
MICRO = {"n_videos": 3, "min_duration_s": 2.0, "max_duration_s": 3.0, "height": 64, "width": 96,
         "min_shot_s": 1.0, "max_shot_s": 1.5}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".tmp" not in p.parts and not p.name.startswith(".")
    }


@pytest.mark.timeout(900)
def test_dvc_roundtrip(tmp_path: Path) -> None:
    from orchestration.definitions import defs
    from orchestration.dvc_stages import build_stages

    repo, clone, remote = tmp_path / "repo", tmp_path / "clone", tmp_path / "remote"
    repo.mkdir()
    params = render_preset("tiny")
    params["world"].update(MICRO)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))
    stages = build_stages(defs, groups=("sourcing",))
    stages["stages"]["sourcing"]["deps"] = []  # the code lives in the seedflow checkout, not this repo
    (repo / "dvc.yaml").write_text(yaml.safe_dump(stages, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER")}
    env.update({"PATH": f"{BIN}:{env['PATH']}", "SEEDFLOW_DATA": str(repo / "data"), "SEEDFLOW_PARAMS": str(repo / "params.yaml"),
                "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                "DVC_NO_ANALYTICS": "1"})
    (repo / ".gitignore").write_text("/data/dagster\n/data/mlflow\n/data/cache\n")
    _run(["git", "init", "-q"], repo, env)
    _run([str(BIN / "dvc"), "init", "-q"], repo, env)
    _run([str(BIN / "dvc"), "remote", "add", "-d", "local", str(remote)], repo, env)
    _run([str(BIN / "dvc"), "repro"], repo, env)
    built = _tree_hashes(repo / "data" / "store")
    assert any(k.startswith("sourcing/raw/") for k in built) and any(k.startswith("refs/raw_clips/") for k in built)
    _run([str(BIN / "dvc"), "push"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "build"], repo, env)

    again = _run([str(BIN / "dvc"), "repro"], repo, env)
    assert "didn't change, skipping" in again and "Running stage" not in again

    _run(["git", "clone", "-q", str(repo), str(clone)], tmp_path, env)
    env_clone = {**env, "SEEDFLOW_DATA": str(clone / "data"), "SEEDFLOW_PARAMS": str(clone / "params.yaml")}
    _run([str(BIN / "dvc"), "pull"], clone, env_clone)
    assert _tree_hashes(clone / "data" / "store") == built
    status = _run([str(BIN / "dvc"), "status"], clone, env_clone)
    assert "up to date" in status
    shutil.rmtree(remote)
