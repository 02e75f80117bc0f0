"""The process-pool backend of the curation executor, free of Dagster imports.

Spawned workers import this module (not `resources.executor`), so a worker starts in well under a
second instead of paying for importing Dagster. See `resources.executor` for the interface.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any


class TransientError(RuntimeError):
    """Raise from a task to ask for a retry (e.g. a flaky read from object storage)."""


TRANSIENT = (TransientError, OSError, TimeoutError, ConnectionError)


@dataclass
class Result:
    index: int
    ok: bool
    value: Any = None
    error: str = ""  # "<ExceptionType>: message" or "worker_crash: exit code N"
    kind: str = ""  # "" | "error" | "crash"
    attempts: int = 1


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) and not isinstance(exc, (FileNotFoundError, PermissionError))


def _run_once(fn: Callable[[Any], Any], item: Any) -> tuple[bool, Any, str, bool]:
    try:
        return True, fn(item), "", False
    except Exception as exc:  # noqa: BLE001 - every task failure becomes a record
        msg = f"{type(exc).__name__}: {exc}"
        return False, None, msg + "\n" + traceback.format_exc(limit=4), _is_transient(exc)


def _worker_main(conn, fn) -> None:  # runs in the child process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import cv2

        cv2.setNumThreads(1)  # one core per worker; the pool is the parallelism
    except Exception:  # noqa: BLE001
        pass
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        idx, item = msg
        conn.send((idx, *_run_once(fn, item)))


class _Pool:
    """Persistent spawn workers with per-item crash attribution."""

    def __init__(self, fn, n: int):
        self.fn, self.n = fn, n
        self.ctx = mp.get_context("spawn")
        self.workers: list[tuple[Any, Any]] = []

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker_main, args=(child, self.fn), daemon=True)
        p.start()
        child.close()
        return p, parent

    def run(self, items: Sequence[Any], retries: int, crash_retries: int, backoff_s: float) -> list[Result]:
        results: list[Result | None] = [None] * len(items)
        attempts = [0] * len(items)
        crashes = [0] * len(items)
        queue = list(range(len(items)))
        busy: dict[int, tuple[Any, Any, int]] = {}  # slot -> (process, conn, item index)
        idle = [self._spawn() for _ in range(min(self.n, max(1, len(items))))]
        try:
            while queue or busy:
                while queue and idle:
                    p, conn = idle.pop()
                    i = queue.pop(0)
                    attempts[i] += 1
                    conn.send((i, items[i]))
                    busy[id(conn)] = (p, conn, i)
                ready = wait([c for _, c, _ in busy.values()] + [p.sentinel for p, _, _ in busy.values()])
                for key, (p, conn, i) in list(busy.items()):
                    if conn in ready or (conn.poll() if p.is_alive() else False):
                        try:
                            _, ok, value, err, transient = conn.recv()
                        except (EOFError, OSError):
                            ok = None  # died while answering: a crash
                        if ok is not None:
                            del busy[key]
                            idle.append((p, conn))
                            if ok:
                                results[i] = Result(i, True, value, attempts=attempts[i])
                            elif transient and attempts[i] <= retries:
                                time.sleep(backoff_s * attempts[i])
                                queue.append(i)
                            else:
                                results[i] = Result(i, False, None, err, "error", attempts[i])
                            continue
                    if p.sentinel in ready or not p.is_alive():
                        p.join(timeout=1)
                        del busy[key]
                        conn.close()
                        crashes[i] += 1
                        idle.append(self._spawn())
                        if crashes[i] <= crash_retries:
                            queue.append(i)
                        else:
                            results[i] = Result(
                                i, False, None, f"worker_crash: exit code {p.exitcode}", "crash", attempts[i]
                            )
        finally:
            for p, conn in idle + [(p, c) for p, c, _ in busy.values()]:
                try:
                    conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            for p, conn in idle + [(p, c) for p, c, _ in busy.values()]:
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()
                conn.close()
        return [r for r in results if r is not None]
