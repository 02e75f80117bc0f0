"""Per-video work items run by the curation executor (process pool or Ray).

Plain module-level functions over plain data (paths, dicts), importable without Dagster, so
workers start fast and Ray can ship them. Each returns plain data; failures raise and the executor
turns them into quarantine records.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from assets.curation.analysis import analyse_video, worker_threads
from assets.curation.cache import analysis_to_bytes
from assets.curation.clipio import ClipRange, write_clips


def analyse_task(item: dict[str, Any]) -> bytes:
    """The single decode pass of one video -> serialised analysis (npz bytes)."""
    # A namespace, not CurationSettings: validated by the parent, and importing the settings model
    # would import Dagster (via resources.params) in every worker.
    s = SimpleNamespace(**item["settings"])
    # One video per worker, every core busy: OpenCV and the decoder single-threaded in the worker
    # (cheaper in CPU than their thread pools at these frame sizes; the output is the same).
    with worker_threads():
        return analysis_to_bytes(analyse_video(item["path"], s, rotation=int(item.get("rotation", 0)), decoder_threads=1))


def write_task(item: dict[str, Any]) -> list[int]:
    """Cut (and crop) every clip of one source in one decode; returns frames written per clip."""
    ranges = [
        ClipRange(int(r["start"]), int(r["end"]), Path(r["out"]), tuple(r["crop"]) if r.get("crop") else None)
        for r in item["ranges"]
    ]
    for r in ranges:
        r.out.parent.mkdir(parents=True, exist_ok=True)
    return write_clips(
        item["src"],
        ranges,
        rotation=int(item.get("rotation", 0)),
        crf=int(item["crf"]),
        preset=str(item["preset"]),
        deterministic=bool(item.get("deterministic", True)),
    )
