"""Writing the world: real H.264 files, byte-determinism, ground truth consistent with the decoded video."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from assets.sourcing.world.schemas import SHOTS, VIDEOS
from assets.sourcing.world.settings import WorldSettings
from assets.sourcing.world.writer import SHOTS_TABLE, VIDEOS_TABLE, write_world

PRESETS = Path(__file__).resolve().parents[2] / "orchestration" / "presets"


def preset_world(preset: str = "tiny", **overrides) -> WorldSettings:
    data = yaml.safe_load((PRESETS / preset / "world.yaml").read_text(encoding="utf-8"))
    data.update(overrides)
    return WorldSettings(**data)


def small_world(**overrides) -> WorldSettings:
    """A very small world: 4 videos of 2-3 s at 64x64 that exercises every transition and overlay."""
    base = dict(
        n_videos=4, fps=12, height=64, width=64, min_duration_s=2.0, max_duration_s=3.0,
        min_shot_s=0.5, max_shot_s=1.2, dissolve_rate=0.3, fade_rate=0.3, transition_s=0.25,
        watermark_rate=0.2, subtitle_rate=0.2, ticker_rate=0.2, duplicate_rate=0.5, workers=1,
    )
    base.update(overrides)
    return preset_world("tiny", **base)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    result = write_world(small_world(), out, progress=False)
    return result


def _decode(path: Path) -> tuple[np.ndarray, dict]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        info = {"codec": s.codec_context.name, "fps": float(s.average_rate), "pix_fmt": s.codec_context.pix_fmt}
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    return frames, info


def test_same_seed_same_bytes_other_seed_other_bytes(world, tmp_path):
    first = _files(world.out_dir)
    assert {"videos/w0000.mp4", VIDEOS_TABLE, SHOTS_TABLE} <= set(first)
    again = tmp_path / "again"
    write_world(small_world(workers=2), again, progress=False)  # two processes, same bytes
    assert _files(again) == first
    other = tmp_path / "other"
    write_world(small_world(seed=8), other, progress=False)
    other_files = _files(other)
    assert other_files["videos/w0000.mp4"] != first["videos/w0000.mp4"]
    assert other_files[SHOTS_TABLE] != first[SHOTS_TABLE]


def test_tables_follow_their_schemas(world):
    videos, shots = pq.read_table(world.videos_table), pq.read_table(world.shots_table)
    assert videos.schema.equals(VIDEOS, check_metadata=False)
    assert shots.schema.equals(SHOTS, check_metadata=False)
    assert videos.num_rows == 4 and shots.num_rows == sum(len(v.shots) for v in world.videos)


def test_ground_truth_matches_the_decoded_videos(world):
    videos = pq.read_table(world.videos_table).to_pylist()
    shots = pq.read_table(world.shots_table).to_pylist()
    cut_jumps, inner_steps = [], []
    for v in videos:
        frames, info = _decode(world.out_dir / v["file"])
        assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["fps"] == v["fps"]
        assert frames.shape == (v["n_frames"], v["height"], v["width"], 3)
        assert v["duration_s"] == pytest.approx(v["n_frames"] / v["fps"])
        rows = sorted((r for r in shots if r["video_id"] == v["video_id"]), key=lambda r: r["shot_index"])
        assert len(rows) == v["n_shots"] and [r["shot_index"] for r in rows] == list(range(len(rows)))
        assert rows[0]["start_frame"] == 0 and rows[0]["transition_in"] == "none"
        assert rows[-1]["end_frame"] == v["n_frames"]
        for prev, r in zip(rows, rows[1:]):
            # shots overlap by exactly the transition's frames (0 for a hard cut)
            assert r["start_frame"] == prev["end_frame"] - r["transition_frames"]
            assert (r["transition_in"] == "cut") == (r["transition_frames"] == 0)
        f = frames.astype(np.float32)
        step = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))  # step[i]: frame i -> i + 1
        for r in rows:
            if r["transition_in"] == "cut":
                cut_jumps.append(step[r["start_frame"] - 1])
            inner_steps.extend(step[r["start_frame"] + r["transition_frames"] : r["end_frame"] - 2])
        for r in rows:
            assert r["count"] == len(r["subjects"]) == len(r["colours"]) == len(r["motions"])
            assert r["unsafe"] == ("unsafe" in r["defects"])
            if r["overlay"] == "none":
                assert r["overlay_x0"] is None
            else:
                assert 0 <= r["overlay_x0"] < r["overlay_x1"] <= v["width"]
                assert 0 <= r["overlay_y0"] < r["overlay_y1"] <= v["height"]
            assert r["caption_en"] and re.search(r"[\u4e00-\u9fff]", r["caption_zh"])
    assert cut_jumps, "the small world should contain hard cuts"
    assert np.median(cut_jumps) > 4 * np.median(inner_steps)


def test_duplicate_groups_in_the_table(world):
    shots = pq.read_table(world.shots_table).to_pylist()
    groups: dict[int, list[dict]] = {}
    for r in shots:
        if r["dup_group"] is not None:
            groups.setdefault(r["dup_group"], []).append(r)
    assert groups, "the small world is set up with duplicates"
    for members in groups.values():
        assert len(members) >= 2
        assert len({r["shot_seed"] for r in members}) == 1
        assert sorted(r["dup_variant"] == "original" for r in members).count(True) == 1


def test_captions_come_from_the_dense_caption_schema(world):
    from assets.captioning.schema import parse_caption

    shots = pq.read_table(world.shots_table).to_pylist()
    for r in shots[:6]:
        caption = parse_caption(r["caption_en"], "en")
        assert caption.shots[0].scene == r["scene"] and caption.shots[0].camera == r["camera"]
        assert parse_caption(r["caption_zh"], "zh") == caption
