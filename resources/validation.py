"""Data validation with Great Expectations (GX Core 1.x): one ephemeral context, suites as code.

Each manifest has one suite: a list of expectations its stage declares. `validate_frame` runs it
against a pandas frame and returns a compact summary fit for Dagster check metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd


@dataclass
class ValidationSummary:
    suite: str
    success: bool
    evaluated: int
    failed: list[dict[str, Any]] = field(default_factory=list)

    def markdown(self) -> str:
        if self.success:
            return f"All {self.evaluated} expectations of `{self.suite}` passed."
        lines = [f"{len(self.failed)} of {self.evaluated} expectations of `{self.suite}` failed:", ""]
        lines += ["| expectation | column | observed |", "| --- | --- | --- |"]
        for f in self.failed:
            lines.append(f"| {f['type']} | {f.get('column', '')} | {str(f.get('observed', ''))[:120]} |")
        return "\n".join(lines)


@lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx

    # GX logs usage-statistics chatter at INFO; keep Dagster logs readable.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx.get_context(mode="ephemeral")


def validate_frame(df: pd.DataFrame, suite_name: str, expectations: list[Any]) -> ValidationSummary:
    """Run `expectations` (instances from `great_expectations.expectations`) against `df`."""
    import great_expectations as gx

    ctx = _context()
    source_name = f"seedflow_{suite_name}"
    try:
        source = ctx.data_sources.get(source_name)
    except (KeyError, ValueError, LookupError):
        source = ctx.data_sources.add_pandas(name=source_name)
    try:
        asset = source.get_asset(suite_name)
    except (KeyError, ValueError, LookupError):
        asset = source.add_dataframe_asset(name=suite_name)
    try:
        batch_def = asset.get_batch_definition("whole")
    except (KeyError, ValueError, LookupError):
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name=suite_name, expectations=[e.copy() for e in expectations])
    result = batch.validate(suite)
    failed = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            observed = (r.result or {}).get("observed_value", (r.result or {}).get("partial_unexpected_list"))
            failed.append({"type": cfg.type, "column": cfg.kwargs.get("column", ""), "observed": observed})
    return ValidationSummary(suite_name, bool(result.success), len(result.results), failed)
