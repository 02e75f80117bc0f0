"""Turn a stage's manifests into a Dagster output with a content-derived data version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import dagster as dg


def value_version(value: Mapping[str, Any]) -> str:
    """Data version of an asset value: the hash of every manifest hash it holds."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


def manifest_output(value: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> dg.Output:
    """`value` is a ManifestRef or a dict of them (plus plain JSON fields such as checkpoint paths)."""
    md = dict(metadata or {})
    if "path" in value and "rows" in value:
        md.setdefault("rows", dg.MetadataValue.int(int(value["rows"])))
        md.setdefault("manifest", dg.MetadataValue.path(str(value["path"])))
    else:
        for k, v in value.items():
            if isinstance(v, Mapping) and "path" in v and "rows" in v:
                md.setdefault(f"{k}_rows", dg.MetadataValue.int(int(v["rows"])))
    return dg.Output(value=dict(value), data_version=dg.DataVersion(value_version(value)), metadata=md)


def markdown_table(rows: list[Mapping[str, Any]], columns: list[str] | None = None, limit: int = 50) -> str:
    """A small Markdown table for Dagster metadata (first `limit` rows)."""
    if not rows:
        return "_(none)_"
    cols = columns or list(rows[0].keys())
    out = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for r in rows[:limit]:
        out.append("| " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    if len(rows) > limit:
        out.append(f"\n_{len(rows) - limit} more rows not shown_")
    return "\n".join(out)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")[:80]
