"""The curation executor: one interface for per-video work, two backends (process pool, Ray).

`CurationExecutor.map(fn, items)` runs `fn(item)` for every item and returns one `Result` per item,
in input order. A failing item never kills the batch: it becomes a quarantine record
(`Result.ok == False` with the error). Transient failures (`TransientError`, `OSError`,
`TimeoutError`) are retried up to `retries` times; a worker that dies under an item (segfault,
`os._exit`, OOM kill) is retried at most `crash_retries` times and then quarantined, never forever.

- backend "process": persistent worker processes (spawn context) fed one task at a time through
  pipes; the parent knows which item each worker holds, so a dead worker is attributed to exactly
  that item and replaced. `max_workers` processes.
- backend "ray": `ray.remote` tasks on a local Ray (`ray.init(num_cpus=max_workers)`) or a cluster
  (`ray_address="ray://head:10001"` or `"auto"`). Ray retries worker crashes itself
  (`max_retries=crash_retries`); application errors are retried here the same way as the pool.

`fn` and the items must be importable/serialisable (a module-level function, plain data).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import dagster as dg
from pydantic import Field

from resources.executor_pool import TRANSIENT, Result, TransientError, _Pool, _run_once

__all__ = ["TRANSIENT", "CurationExecutor", "Result", "TransientError"]


class CurationExecutor(dg.ConfigurableResource):
    """Runs per-video curation work on a local process pool or on Ray."""

    backend: Literal["process", "ray"] = "process"
    max_workers: int = Field(2, ge=1, description="processes (pool) or CPUs requested (local Ray)")
    ray_address: str = Field("", description="empty: start a local Ray; 'auto' or 'ray://host:10001': a cluster")
    retries: int = Field(2, ge=0, le=10, description="retries of transient errors per item")
    crash_retries: int = Field(1, ge=0, le=5, description="re-runs of an item whose worker died")
    backoff_s: float = Field(0.2, ge=0.0, description="linear backoff between transient retries")
    inline: bool = Field(False, description="run in this process (debugging, tiny inputs; no crash isolation)")

    def describe(self) -> str:
        if self.inline:
            return "inline"
        if self.backend == "ray":
            return f"ray({self.ray_address or 'local'}, cpus={self.max_workers})"
        return f"process(workers={self.max_workers})"

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Result]:
        items = list(items)
        if not items:
            return []
        if self.inline:
            return self._map_inline(fn, items)
        if self.backend == "ray":
            return self._map_ray(fn, items)
        return _Pool(fn, self.max_workers).run(items, self.retries, self.crash_retries, self.backoff_s)

    def _map_inline(self, fn, items) -> list[Result]:
        out = []
        for i, item in enumerate(items):
            for attempt in range(1, self.retries + 2):
                ok, value, err, transient = _run_once(fn, item)
                if ok or not transient or attempt > self.retries:
                    break
                time.sleep(self.backoff_s * attempt)
            out.append(Result(i, ok, value, err, "" if ok else "error", attempt))
        return out

    def _map_ray(self, fn, items) -> list[Result]:
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "ignore_reinit_error": True, "log_to_driver": False}
            if self.ray_address:
                ray.init(address=self.ray_address, **kwargs)
            else:
                # Workers must import the project: ship the working dir's python path.
                ray.init(num_cpus=self.max_workers, runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(_pythonpath())}}, **kwargs)
        remote = ray.remote(num_cpus=1, max_retries=self.crash_retries, retry_exceptions=False)(_run_once)
        results: list[Result | None] = [None] * len(items)
        attempts = [1] * len(items)
        pending = {remote.remote(fn, item): i for i, item in enumerate(items)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            i = pending.pop(ref)
            try:
                ok, value, err, transient = ray.get(ref)
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.RayTaskError, ray.exceptions.RayError) as exc:
                results[i] = Result(i, False, None, f"worker_crash: {type(exc).__name__}", "crash", attempts[i])
                continue
            if ok:
                results[i] = Result(i, True, value, attempts=attempts[i])
            elif transient and attempts[i] <= self.retries:
                time.sleep(self.backoff_s * attempts[i])
                attempts[i] += 1
                pending[remote.remote(fn, items[i])] = i
            else:
                results[i] = Result(i, False, None, err, "error", attempts[i])
        return [r for r in results if r is not None]


def _pythonpath() -> list[str]:
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [root] + [p for p in sys.path if p and os.path.isdir(p) and "site-packages" not in p][:4]
