"""Fixtures of the curation tests: one hand-made multi-shot video with known cuts and defects."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from videos import Shot, cuts_of, write_video  # noqa: E402

DEFECT_SHOTS = [
    Shot(30, 0),
    Shot(24, 60, blur=True),
    Shot(30, 120, jitter=True),
    Shot(20, 30, static=True),
    Shot(30, 90, dark=True),
    Shot(40, 150, overlay=(90, 56, 124, 68)),
]


@pytest.fixture(scope="session")
def defect_video(tmp_path_factory) -> tuple[Path, list[int]]:
    path = write_video(tmp_path_factory.mktemp("videos") / "defects.mp4", DEFECT_SHOTS)
    return path, cuts_of(DEFECT_SHOTS)
