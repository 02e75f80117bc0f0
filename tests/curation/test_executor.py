"""The curation executor: failures become records, crashes are quarantined, both backends agree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resources.executor import CurationExecutor
from tests.curation.tasks import flaky, square_or_fail


def test_process_pool_quarantines_errors_and_crashes(tmp_path: Path) -> None:
    ex = CurationExecutor(backend="process", max_workers=2, crash_retries=1, backoff_s=0.0)
    res = ex.map(square_or_fail, range(7))
    assert [r.index for r in res] == list(range(7))
    assert [r.value for r in res if r.ok] == [0, 1, 4, 16, 36]
    bad, crash = res[3], res[5]
    assert not bad.ok and bad.kind == "error" and "three is bad input" in bad.error and bad.attempts == 1
    assert not crash.ok and crash.kind == "crash" and crash.attempts == 2  # retried once, then quarantined
    # Transient errors are retried.
    res = ex.map(flaky, [(i, str(tmp_path)) for i in range(3)])
    assert all(r.ok and r.attempts == 2 for r in res)


def test_inline_backend_matches_pool() -> None:
    inline = CurationExecutor(inline=True).map(square_or_fail, [0, 1, 2, 3])
    assert [(r.ok, r.value) for r in inline] == [(True, 0), (True, 1), (True, 4), (False, None)]


@pytest.mark.slow
def test_ray_backend_gives_the_same_results() -> None:
    pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    try:
        ray_res = CurationExecutor(backend="ray", max_workers=1, crash_retries=0, backoff_s=0.0).map(square_or_fail, range(7))
    finally:
        ray.shutdown()
    pool_res = CurationExecutor(backend="process", max_workers=1, crash_retries=0).map(square_or_fail, range(7))
    assert [(r.ok, r.value, r.kind) for r in ray_res] == [(r.ok, r.value, r.kind) for r in pool_res]
