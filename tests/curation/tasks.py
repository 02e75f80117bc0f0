"""Module-level task functions for executor tests (workers import them by name)."""

from __future__ import annotations

import os
from pathlib import Path


def square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad input")
    if x == 5:
        os._exit(11)  # a worker crash (like a segfault in a decoder)
    return x * x


def flaky(arg: tuple[int, str]) -> int:
    """Fails with a transient error the first time it sees `x` (a marker file counts attempts)."""
    x, marker_dir = arg
    marker = Path(marker_dir) / f"seen_{x}"
    if not marker.exists():
        marker.write_text("1")
        raise OSError("transient: storage hiccup")
    return x
