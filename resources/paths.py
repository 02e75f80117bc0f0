"""Where seedflow keeps its local state: one data root for the store, MLflow and Dagster."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """`SEEDFLOW_DATA`, else `<repo>/data` (git-ignored; DVC tracks the store's group folders)."""
    root = Path(os.environ.get("SEEDFLOW_DATA", REPO_ROOT / "data")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root
