"""Shared fixtures: an isolated data root, a tiny params file with overrides, a local store."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

torch.set_num_threads(1)
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PYTHONHASHSEED", "0")


def _deep_update(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_update(out[k], v)
        else:
            out[k] = v
    return out


@pytest.fixture(autouse=True)
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data root, so nothing touches the repo's data/ folder."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("SEEDFLOW_DATA", str(root))
    return root


@pytest.fixture
def params_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write the tiny preset with `overrides` (nested dict) and point SEEDFLOW_PARAMS at it."""

    def make(overrides: dict[str, Any] | None = None, preset: str = "tiny") -> Path:
        from orchestration.presets import render_preset

        data = _deep_update(render_preset(preset), overrides or {})
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        monkeypatch.setenv("SEEDFLOW_PARAMS", str(path))
        return path

    return make


@pytest.fixture
def store(data_root: Path) -> Iterator[Any]:
    from resources.store import ArtifactStore

    yield ArtifactStore(root=str(data_root / "store"))


@pytest.fixture
def dagster_instance() -> Iterator[Any]:
    import dagster as dg

    with dg.instance_for_test() as instance:
        yield instance
