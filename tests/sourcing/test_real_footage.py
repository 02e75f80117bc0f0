"""Real photographs filmed by a simulated camera (benchmarks/real_footage.py): the phone-style rotation flag
is read with the right sign and clips come out upright; cuts between real pictures are found."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("skimage")

from assets.curation.settings import CurationSettings  # noqa: E402
from assets.sourcing.probe import VideoFacts, probe_file  # noqa: E402
from assets.sourcing.settings import SourcingSettings  # noqa: E402
from benchmarks.real_footage import FootageSpec, evaluate, match_cuts, write_footage  # noqa: E402
from orchestration.presets import render_preset  # noqa: E402


@pytest.fixture(scope="module")
def settings() -> tuple[CurationSettings, SourcingSettings]:
    p = render_preset("tiny")
    return CurationSettings(**p["curation"]), SourcingSettings(**p["sourcing"])


@pytest.mark.parametrize("degrees", [90, 270])
def test_rotation_flag_is_clockwise_and_clips_are_upright(tmp_path: Path, settings, degrees: int) -> None:
    spec = FootageSpec(f"rot{degrees}", rotation=degrees, width=160, height=96, shot_frames=(12, 12), seed=3)
    footage = write_footage(spec, tmp_path)
    facts = probe_file(footage.path, settings[1])
    assert isinstance(facts, VideoFacts) and facts.rotation == degrees
    # stored sideways: the coded size is portrait, the display (and every clip) landscape
    assert (facts.width, facts.height) == (96, 160)
    row = evaluate(footage, *settings, tmp_path)
    assert row["orientation"]["upright"], row["orientation"]
    assert row["analysis_size"][0] > row["analysis_size"][1]


def test_hard_cuts_between_real_photographs_across_codecs(tmp_path: Path, settings) -> None:
    # colour photographs with handheld camera motion; three cuts per video, one frame tolerance
    frames = (20, 28, 16, 24)
    for spec in (FootageSpec("h264", shot_frames=frames, seed=11, width=192, height=108),
                 FootageSpec("vfr", vfr=True, shot_frames=frames, seed=12, width=192, height=108),
                 FootageSpec("vp9", codec="libvpx-vp9", suffix=".webm", shot_frames=frames, seed=13, width=192,
                             height=108)):
        footage = write_footage(spec, tmp_path)
        row = evaluate(footage, *settings, tmp_path)
        # cuts are matched in seconds: on the VFR file, counting decoded frames would drift off the clock
        assert row["recall"] == 1.0, (spec.name, row["cut_times_true_s"], row["cut_times_found_s"])
        if spec.vfr:  # the constant-rate view spans the clock: last timestamp x fps + 1 frames
            assert abs(row["frames_decoded"] - (footage.pts_s[-1] * row["probe"]["fps"] + 1)) <= 1.5
        else:
            assert row["frames_decoded"] == sum(frames)


def test_match_cuts_counts_each_true_cut_once() -> None:
    m = match_cuts([10, 11, 30], [10, 30, 50])
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 1)
