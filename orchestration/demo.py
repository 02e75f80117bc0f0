"""`make demo`: materialize the whole asset graph on the active preset, then say where to look.

Runs go through the persistent Dagster instance under $DAGSTER_HOME, so every materialization,
its metadata and its checks show up in the Dagster UI afterwards (`make ui`). Assets run in
topological order, one run per asset (per partition for partitioned assets), so a failure names
the asset that failed and everything upstream of it stays materialized.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from resources.paths import data_root


def ensure_dagster_home() -> None:
    """A persistent instance under the data root, so runs show up in the UI afterwards."""
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(data_root() / "dagster")
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(Path(__file__).parent / "dagster.yaml", home / "dagster.yaml")


def _ordered_assets(defs: dg.Definitions) -> list[tuple[dg.AssetKey, dg.AssetsDefinition]]:
    graph = defs.resolve_asset_graph()
    order = graph.toposorted_asset_keys
    by_key = {}
    for a in defs.assets or []:
        if isinstance(a, dg.AssetsDefinition):
            for k in a.keys:
                by_key[k] = a
    return [(k, by_key[k]) for k in order if k in by_key]


def _partition_keys(assets_def: dg.AssetsDefinition, instance: dg.DagsterInstance) -> list[str | None]:
    pdef = assets_def.partitions_def
    if pdef is None:
        return [None]
    if isinstance(pdef, dg.DynamicPartitionsDefinition):
        return list(instance.get_dynamic_partitions(pdef.name or ""))
    return list(pdef.get_partition_keys())


def run_demo(only: list[str] | None = None, summary_table: bool = True, start_at: str | None = None) -> int:
    ensure_dagster_home()
    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get()
    all_assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    # Asset checks defined on their own (@asset_check) run only if they are passed in: with them, a
    # selected asset's checks run in its run, and a failed blocking check fails the run, as in the UI.
    all_assets += [c for c in defs.asset_checks or [] if isinstance(c, dg.AssetChecksDefinition)]
    resources = defs.resources or {}
    started = time.time()
    timings: list[tuple[str, float, int]] = []
    checks: list[CheckOutcome] = []
    done: set[str] = set()
    ordered = _ordered_assets(defs)
    if start_at:  # resume after a failure: skip what comes before `start_at` in topological order
        names = [k.to_user_string() for k, _ in ordered]
        if start_at not in names:
            print(f"no asset {start_at!r}; assets: {names}")
            return 2
        ordered = ordered[names.index(start_at) :]
    for key, assets_def in ordered:
        group = assets_def.group_names_by_key.get(key, "default")
        if only and group not in only:
            continue
        name = key.to_user_string()
        if name in done:
            continue
        t0 = time.time()
        partitions = _partition_keys(assets_def, instance)
        failed: list[str] = []
        for pk in partitions:
            label = f"{name}[{pk}]" if pk else name
            print(f"==> materializing {label} ({group})", flush=True)
            result = dg.materialize(
                all_assets,
                selection=[key],
                instance=instance,
                resources=resources,
                partition_key=pk,
                raise_on_error=False,
                tags={"seedflow/demo": "1"},
                # The console shows INFO and up; every DEBUG event is still in the run's log in the UI.
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
            checks += check_outcomes(result, label)
            if not result.success:
                print(f"\n!! {label} failed; see the run in the Dagster UI (make ui) or the log above.")
                if pk is None:
                    return 1
                failed.append(pk)  # one bad partition does not stop its siblings
        if partitions and len(failed) == len(partitions):
            print(f"!! every partition of {name} failed; stopping")
            return 1
        if failed:
            print(f"!! {name}: partitions {failed} failed; continuing with the {len(partitions) - len(failed)} that succeeded")
        done.add(name)
        timings.append((name, time.time() - t0, len(partitions)))
    if summary_table:
        print(summary(instance, timings, time.time() - started, checks))
    return 0


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check evaluated in a demo run (a failed WARN check does not stop the demo: it is listed)."""

    run: str  # the asset (and partition) whose run evaluated it
    check: str  # asset:check_name
    passed: bool
    error: bool  # severity ERROR (a failed WARN-severity check is a warning)
    description: str


def check_outcomes(result: Any, label: str) -> list[CheckOutcome]:
    """The asset checks a `dg.materialize` result evaluated."""
    get = getattr(result, "get_asset_check_evaluations", None)
    out = []
    for ev in get() if get else []:
        out.append(CheckOutcome(label, f"{ev.asset_key.to_user_string()}:{ev.check_name}", bool(ev.passed),
                                ev.severity == dg.AssetCheckSeverity.ERROR, str(ev.description or "")))  # fmt: skip
    return out


def check_lines(checks: list[CheckOutcome]) -> list[str]:
    """The summary's account of the asset checks: counts, then every one that did not pass."""
    if not checks:
        return []
    failed = [c for c in checks if not c.passed]
    lines = ["", f"asset checks: {len(checks)} evaluated, {len(checks) - len(failed)} passed, "
                 f"{sum(not c.error for c in failed)} warnings, {sum(c.error for c in failed)} errors"]  # fmt: skip
    for c in failed:
        lines.append(f"  {'ERROR ' if c.error else 'WARN  '} {c.check} ({c.run}): {c.description[:160]}")
    return lines


def summary(instance: dg.DagsterInstance, timings: list[tuple[str, float, int]], total: float,
            checks: list[CheckOutcome] | None = None) -> str:
    lines = ["", "seedflow demo: done in %.0f s" % total, "", f"{'asset':32s} {'time':>7s}  key figures"]
    for name, secs, n_parts in timings:
        figures = _figures(instance, dg.AssetKey.from_user_string(name))
        parts = f" x{n_parts}" if n_parts > 1 else ""
        lines.append(f"{name + parts:32s} {secs:6.1f}s  {figures}")
    lines += check_lines(checks or [])
    root = data_root()
    lines += [
        "",
        "Where to look:",
        "  make ui                 Dagster UI http://127.0.0.1:3000 (assets, lineage, checks, metadata)",
        "                          MLflow UI  http://127.0.0.1:5000 (training runs, curves, samples)",
        f"  artifact store          {root / 'store'}",
        f"  MLflow runs             {root / 'mlflow'}",
        f"  Dagster instance        {os.environ.get('DAGSTER_HOME', '(DAGSTER_HOME unset)')}",
    ]
    report = _latest_path(instance, "benchmark_report", "report")
    if report:
        lines.append(f"  benchmark report        {report}  (open it in a browser)")
    return "\n".join(lines)


def _latest_path(instance: dg.DagsterInstance, asset: str, key: str) -> str:
    ev = instance.get_latest_materialization_event(dg.AssetKey(asset))
    if ev is None or ev.asset_materialization is None or key not in ev.asset_materialization.metadata:
        return ""
    return str(ev.asset_materialization.metadata[key].value)


def _figures(instance: dg.DagsterInstance, key: dg.AssetKey) -> str:
    """The first few numeric figures of the asset's latest materialization (its counts and scores)."""
    ev = instance.get_latest_materialization_event(key)
    if ev is None or ev.asset_materialization is None:
        return ""
    out = []
    for k, v in ev.asset_materialization.metadata.items():
        value = v.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out.append(f"{k}={value:.4g}" if isinstance(value, float) else f"{k}={value}")
        if len(out) == 4:
            break
    return ", ".join(out)
