"""dvc.yaml from the asset graph: one DVC stage per asset group.

Each stage runs its group through Dagster (`seedflow materialize <group>`), lists as outs the group's
folder of the artifact store plus the JSON refs of its assets, as deps the outs of the groups it reads
from and its code, and as params the preset sections it reads. `seedflow dvc` rewrites dvc.yaml;
a test checks the committed file matches the graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import yaml

GROUP_ORDER = (
    "sourcing", "curation", "captioning", "encoding", "prompting", "pretraining", "finetuning", "benchmarking",
)
# Preset sections each group reads (DVC re-runs a stage when one of them changes).
GROUP_PARAMS: dict[str, list[str]] = {
    "sourcing": ["seed", "sourcing", "world"],
    "curation": ["curation"],
    "captioning": ["captioning"],
    "encoding": ["text_encoder", "encoding"],
    "prompting": ["prompting"],
    "pretraining": ["pretraining"],
    "finetuning": ["finetuning"],
    "benchmarking": ["benchmarking"],
}
STORE = "data/store"


def _code_dirs(assets_def: dg.AssetsDefinition) -> set[str]:
    module = assets_def.op.compute_fn.decorated_fn.__module__  # type: ignore[union-attr]
    parts = module.split(".")
    return {"/".join(parts[:2])} if parts[0] == "assets" else set()


def build_stages(defs: dg.Definitions, groups: tuple[str, ...] = GROUP_ORDER) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    group_of: dict[dg.AssetKey, str] = {}
    code: dict[str, set[str]] = {g: set() for g in groups}
    for a in defs.assets or []:
        if not isinstance(a, dg.AssetsDefinition):
            continue
        for key in a.keys:
            group_of[key] = a.group_names_by_key.get(key, "default")
        g = next(iter(a.group_names_by_key.values()), "default")
        if g in code:
            code[g] |= _code_dirs(a)
    stages: dict[str, Any] = {}
    for g in groups:
        keys = sorted((k for k, kg in group_of.items() if kg == g), key=lambda k: k.to_user_string())
        if not keys:
            continue
        upstream_groups = sorted(
            {group_of[p] for k in keys for p in graph.get(k).parent_keys if p in group_of and group_of[p] != g},
            key=groups.index,
        )
        outs = [f"{STORE}/{g}"] + [f"{STORE}/refs/{'__'.join(k.path)}" for k in keys]
        if g == "sourcing":
            outs.append("data/sources")
        deps = sorted(code[g])
        for u in upstream_groups:
            deps += [o for o in stages[u]["outs"]]
        stages[g] = {
            "cmd": f"seedflow materialize {g}",
            "deps": deps,
            "params": list(GROUP_PARAMS.get(g, [])),
            "outs": outs,
        }
    return {"stages": stages}


def write_dvc_yaml(path: str | Path, defs: dg.Definitions) -> Path:
    path = Path(path)
    header = "# Generated from the asset graph by `seedflow dvc` (orchestration/dvc_stages.py). Do not edit by hand.\n"
    path.write_text(header + yaml.safe_dump(build_stages(defs), sort_keys=False), encoding="utf-8")
    return path
