"""The active preset: `params.yaml`, one source of truth read by Dagster and tracked by DVC.

`params.yaml` holds `preset: <name>` plus one mapping per section (`world`, `curation`, ...). Each
section is validated by the typed model its group declares (a `Section` subclass), so an unknown key
or an out-of-range value fails with a message naming `section.key`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PARAMS = REPO_ROOT / "params.yaml"

S = TypeVar("S", bound="Section")


class Section(BaseModel):
    """Base of every preset section: unknown keys are errors, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamsError(ValueError):
    """A preset file or section is invalid; the message names the offending key."""


def params_path() -> Path:
    """`SEEDFLOW_PARAMS` overrides the repo's params.yaml (tests and DVC use it)."""
    return Path(os.environ.get("SEEDFLOW_PARAMS", DEFAULT_PARAMS))


def read_params(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    p = Path(path) if path else params_path()
    if not p.exists():
        raise ParamsError(f"params file {p} not found; create it with `seedflow preset tiny`")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ParamsError(f"{p} must hold a mapping of sections, got {type(data).__name__}")
    return data


def validate_section(data: dict[str, Any], name: str, model: type[S]) -> S:
    if name not in data:
        raise ParamsError(f"params file has no section {name!r}; sections: {sorted(data)}")
    try:
        return model.model_validate(data[name] or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in (name, *err["loc"]))
            problems.append(f"{key}: {err['msg']}")
        raise ParamsError("invalid preset values:\n  " + "\n  ".join(problems)) from None


def load_section(path: str | os.PathLike[str] | None, name: str, model: type[S]) -> S:
    return validate_section(read_params(path), name, model)


class ParamsResource(dg.ConfigurableResource):
    """Reads one validated section of the active preset for an asset."""

    path: str = ""  # empty: $SEEDFLOW_PARAMS or the repo's params.yaml

    def data(self) -> dict[str, Any]:
        return read_params(self.path or None)

    @property
    def preset(self) -> str:
        return str(self.data().get("preset", "unknown"))

    @property
    def seed(self) -> int:
        return int(self.data().get("seed", 0))

    def section(self, name: str, model: type[S]) -> S:
        return validate_section(self.data(), name, model)
