"""`make demo` runs each asset with its asset checks, so a failing blocking check stops the demo."""

from __future__ import annotations

from types import SimpleNamespace

import dagster as dg
import pytest

from orchestration import demo


def test_demo_materializes_assets_together_with_their_checks(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    calls = []

    def fake_materialize(defs_list, selection, **kw):
        calls.append((defs_list, selection))
        return SimpleNamespace(success=True)

    monkeypatch.setattr(demo.dg, "materialize", fake_materialize)
    assert demo.run_demo(only=["pretraining"], summary_table=False) == 0
    assert calls, "the pretraining group has assets"
    checks = [d for d in calls[0][0] if isinstance(d, dg.AssetChecksDefinition)]
    checked = {k.asset_key.to_user_string() for c in checks for k in c.check_keys}
    assert "dit_t2i" in checked  # the DiT loss check is a separately defined @asset_check


def test_a_failing_blocking_check_fails_the_run() -> None:
    @dg.asset
    def upstream() -> int:
        return 1

    @dg.asset_check(asset=upstream, blocking=True)
    def upstream_ok(upstream: int) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=upstream > 1)

    result = dg.materialize([upstream, upstream_ok], selection=[upstream.key], raise_on_error=False)
    assert not result.success


def test_summary_lists_every_check_that_did_not_pass() -> None:
    @dg.asset
    def upstream() -> int:
        return 1

    @dg.asset_check(asset=upstream)
    def looks_fine(upstream: int) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    @dg.asset_check(asset=upstream)
    def warns(upstream: int) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, description="two is more")

    result = dg.materialize([upstream, looks_fine, warns], selection=[upstream.key], raise_on_error=False)
    assert result.success  # a WARN check does not stop the run ...
    outcomes = demo.check_outcomes(result, "upstream")
    assert sorted((c.check, c.passed, c.error) for c in outcomes) == [
        ("upstream:looks_fine", True, True), ("upstream:warns", False, False)]
    lines = demo.check_lines(outcomes)  # ... but the demo's summary names it
    assert "2 evaluated, 1 passed, 1 warnings, 0 errors" in lines[1]
    assert lines[2].startswith("  WARN   upstream:warns (upstream): two is more")
