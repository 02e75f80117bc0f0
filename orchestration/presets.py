"""Presets: `orchestration/presets/<name>/<section>.yaml` rendered into the active `params.yaml`.

Every section of a preset is validated by the typed model its group declares (SECTION_MODELS), so
a preset file and params.yaml can only hold keys some stage actually reads, within their ranges.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from resources.params import ParamsError, Section, read_params, validate_section

PRESET_DIR = Path(__file__).resolve().parent / "presets"
PRESETS = ("tiny", "small", "paper")
TOP_LEVEL = {"preset", "seed"}

# section name -> "module:Model". Each group owns its section's schema next to its code.
SECTION_MODELS: dict[str, str] = {
    "sourcing": "assets.sourcing.settings:SourcingSettings",
    "world": "assets.sourcing.world.settings:WorldSettings",
    "curation": "assets.curation.settings:CurationSettings",
    "captioning": "assets.captioning.settings:CaptioningSettings",
    "text_encoder": "assets.text_encoding.settings:TextEncoderSettings",
    "prompting": "assets.prompting.settings:PromptingSettings",
    "encoding": "assets.encoding.settings:EncodingSettings",
    "pretraining": "assets.pretraining.settings:PretrainingSettings",
    "finetuning": "assets.finetuning.settings:FinetuningSettings",
    "benchmarking": "assets.benchmarking.settings:BenchmarkingSettings",
}


def section_model(name: str) -> type[Section]:
    if name not in SECTION_MODELS:
        raise ParamsError(f"unknown section {name!r}; known sections: {sorted(SECTION_MODELS)}")
    module, attr = SECTION_MODELS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def render_preset(name: str) -> dict[str, Any]:
    """The full params mapping of a preset: top-level keys plus every section file."""
    folder = PRESET_DIR / name
    if not folder.is_dir():
        raise ParamsError(f"unknown preset {name!r}; presets: {list(PRESETS)}")
    out: dict[str, Any] = {"preset": name}
    top = folder / "_global.yaml"
    if top.exists():
        out.update(yaml.safe_load(top.read_text(encoding="utf-8")) or {})
    for f in sorted(folder.glob("*.yaml")):
        if f.name == "_global.yaml":
            continue
        out[f.stem] = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    validate_params(out)
    return out


def validate_params(data: dict[str, Any]) -> dict[str, Section]:
    """Validate a whole params mapping; every problem names its key."""
    unknown = [k for k in data if k not in TOP_LEVEL and k not in SECTION_MODELS]
    if unknown:
        raise ParamsError(f"unknown top-level keys {unknown}; allowed: {sorted(TOP_LEVEL | set(SECTION_MODELS))}")
    if not isinstance(data.get("seed", 0), int) or int(data.get("seed", 0)) < 0:
        raise ParamsError("seed: must be a non-negative integer")
    return {k: validate_section(data, k, section_model(k)) for k in data if k in SECTION_MODELS}


def validate_file(path: str | Path | None = None) -> dict[str, Section]:
    return validate_params(read_params(path))


def write_params(name: str, path: str | Path) -> Path:
    data = render_preset(name)
    header = (
        f"# The active preset ({name}), rendered from orchestration/presets/{name}/ by `seedflow preset {name}`.\n"
        "# Dagster reads it, DVC tracks it. Edit a value here for one run, or edit the preset files and re-render.\n"
    )
    path = Path(path)
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
