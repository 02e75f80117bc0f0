"""Blocking Great Expectations checks on manifests.

Two forms: `manifest_check(...)` builds a separate blocking `@asset_check` that reads the asset's
current value from the store (for unpartitioned assets), and `check_manifest(...)` runs a suite
inside an asset that declared `check_specs=[manifest_check_spec(...)]` (works for partitions too).
"""


from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from assets.common.manifest import read_manifest
from resources.io_manager import ref_name
from resources.store import ArtifactStore
from resources.validation import validate_frame

SuiteBuilder = Callable[[], list[Any]]


def check_manifest(
    store: ArtifactStore,
    ref: Mapping[str, Any],
    *,
    asset_key: dg.AssetKey | str,
    suite_name: str,
    build_suite: SuiteBuilder,
    check_name: str = "manifest_valid",
) -> dg.AssetCheckResult:
    df = read_manifest(store, ref).to_pandas()
    summary = validate_frame(df, suite_name, build_suite())
    return dg.AssetCheckResult(
        passed=summary.success,
        asset_key=dg.AssetKey.from_coercible(asset_key),
        check_name=check_name,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "suite": suite_name,
            "expectations": summary.evaluated,
            "failed": len(summary.failed),
            "rows": int(ref.get("rows", len(df))),
            "report": dg.MetadataValue.md(summary.markdown()),
        },
    )


def manifest_check_spec(asset_key: dg.AssetKey | str, name: str = "manifest_valid") -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=name,
        asset=dg.AssetKey.from_coercible(asset_key),
        blocking=True,
        description="Great Expectations suite over the asset's manifest (blocks downstream on failure).",
    )


def manifest_check(
    asset_key: dg.AssetKey | str,
    build_suite: SuiteBuilder,
    *,
    manifest_key: str | None = None,
    name: str = "manifest_valid",
) -> dg.AssetChecksDefinition:
    """A blocking asset check validating the manifest (or `value[manifest_key]`) of an asset."""
    key = dg.AssetKey.from_coercible(asset_key)
    suite_name = "_".join(key.path) + (f"_{manifest_key}" if manifest_key else "")

    @dg.asset_check(
        asset=key,
        name=name,
        blocking=True,
        required_resource_keys={"store"},
        description=f"Great Expectations suite `{suite_name}` over the asset's manifest.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        store: ArtifactStore = context.resources.store
        value = store.get_ref(ref_name(key, None))
        ref = value[manifest_key] if manifest_key else value
        return check_manifest(
            store, ref, asset_key=key, suite_name=suite_name, build_suite=build_suite, check_name=name
        )

    return _check
