"""The world plan (no pixels): determinism, spans, long tail, defect coverage, duplicate groups."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from assets.sourcing.world import vocabulary as V
from assets.sourcing.world.plan import DUP_VARIANTS, ShotSpec, make_shot, plan_world, shot_rows
from assets.sourcing.world.settings import WorldSettings

PRESETS = Path(__file__).resolve().parents[2] / "orchestration" / "presets"


def preset_world(preset: str = "tiny", **overrides) -> WorldSettings:
    data = yaml.safe_load((PRESETS / preset / "world.yaml").read_text(encoding="utf-8"))
    data.update(overrides)
    return WorldSettings(**data)


@pytest.fixture(scope="module")
def tiny_plan():
    return plan_world(preset_world("tiny"))


def test_plan_is_deterministic_and_seeded(tiny_plan):
    assert plan_world(preset_world("tiny")) == tiny_plan
    other = plan_world(preset_world("tiny", seed=8))
    assert other != tiny_plan
    # Each video has its own stream: more videos never change the earlier ones.
    fewer = plan_world(preset_world("tiny", n_videos=10, duplicate_rate=0.0))
    more = plan_world(preset_world("tiny", n_videos=20, duplicate_rate=0.0))
    assert more[:10] == fewer


def test_tiny_preset_size(tiny_plan):
    s = preset_world("tiny")
    assert 30 <= len(tiny_plan) <= 60
    minutes = sum(v.duration_s for v in tiny_plan) / 60
    assert 2 <= minutes <= 10
    for v in tiny_plan:
        # a near-duplicate copy keeps its original's length, so a video may drift by one shot
        slack = s.max_shot_s if any(x.dup_variant != "original" for x in v.shots) else 1 / s.fps
        assert s.min_duration_s - slack <= v.duration_s <= s.max_duration_s + slack
        assert 128 <= min(v.height, v.width) and max(v.height, v.width) <= 256
        assert v.height % 2 == 0 and v.width % 2 == 0


def test_shot_spans_are_consistent(tiny_plan):
    for v in tiny_plan:
        spans = v.shot_spans()
        assert spans[0][0] == 0 and spans[-1][1] == v.n_frames
        for k, t in enumerate(v.transitions):
            assert spans[k + 1][0] == spans[k][1] - t.n_frames
            assert t.n_frames <= min(v.shots[k].n_frames, v.shots[k + 1].n_frames) // 2
        assert v.n_frames == sum(s.n_frames for s in v.shots) - sum(t.n_frames for t in v.transitions)
    kinds = Counter(t.kind for v in tiny_plan for t in v.transitions)
    assert kinds["cut"] > kinds["dissolve"] > 0 and kinds["fade"] > 0
    assert sum(len(v.shots) >= 2 for v in tiny_plan) >= len(tiny_plan) // 2


def test_long_tail(tiny_plan):
    subjects = Counter(s.subject for _, _, shot, _, _ in shot_rows(tiny_plan) for s in shot.subjects)
    assert set(subjects) == set(V.keys("subject")), "every subject appears at least once"
    assert max(subjects.values()) / min(subjects.values()) >= 10
    # Uniform sampling (long_tail=0) removes the skew: the ratio collapses.
    flat = Counter(
        s.subject for _, _, shot, _, _ in shot_rows(plan_world(preset_world("tiny", long_tail=0.0)))
        for s in shot.subjects
    )
    assert max(flat.values()) / min(flat.values()) < 3


def test_every_defect_overlay_and_duplicate_appears(tiny_plan):
    shots = [shot for _, _, shot, _, _ in shot_rows(tiny_plan)]
    defects = Counter(d for s in shots for d in s.defects)
    assert set(defects) == set(V.DEFECTS)
    assert set(V.OVERLAYS) <= {s.overlay for s in shots}
    assert any(s.dup_group is not None for s in shots)
    assert {s.dup_variant for s in shots} - {"original"} <= set(DUP_VARIANTS)
    for s in shots:
        assert s.unsafe == ("unsafe" in s.defects)
        if "static" in s.defects:
            assert s.camera == "static" and all(x.motion == "still" for x in s.subjects)
            assert "jitter" not in s.defects


def test_duplicate_groups(tiny_plan):
    groups = defaultdict(list)
    for v, k, shot, _, _ in shot_rows(tiny_plan):
        if shot.dup_group is not None:
            groups[shot.dup_group].append((v, shot))
    assert groups
    for members in groups.values():
        assert len(members) >= 2
        originals = [s for _, s in members if s.dup_variant == "original"]
        assert len(originals) == 1
        o = originals[0]
        for v, s in members:
            # the same content (seed, subjects, scene ...) re-rendered with other noise/crop/resolution
            assert (s.seed, s.subjects, s.scene, s.camera, s.style, s.n_frames) == (
                o.seed, o.subjects, o.scene, o.camera, o.style, o.n_frames)
            if s is not o:
                assert s.noise_seed != o.noise_seed
                assert s.crop < 1 or s.resample < 1 or s.noise_sigma != o.noise_sigma or s.dup_variant == "noise"
        assert len({v.video_id for v, _ in members}) == len(members), "copies live in other videos"


def test_overlay_boxes_inside_frame(tiny_plan):
    seen = 0
    for v, _, shot, _, _ in shot_rows(tiny_plan):
        box = shot.overlay_pixels(v.height, v.width)
        if shot.overlay == "none":
            assert box is None
            continue
        x0, y0, x1, y1 = box
        assert 0 <= x0 < x1 <= v.width and 0 <= y0 < y1 <= v.height
        area = (x1 - x0) * (y1 - y0) / (v.width * v.height)
        assert 0.01 < area < 0.25
        seen += 1
    assert seen > 0


def test_presets_share_keys_and_validate():
    keys = {}
    for preset in ("tiny", "small", "paper"):
        data = yaml.safe_load((PRESETS / preset / "world.yaml").read_text(encoding="utf-8"))
        WorldSettings(**data)
        keys[preset] = set(data)
    assert keys["tiny"] == keys["small"] == keys["paper"] == set(WorldSettings.model_fields)
    small = preset_world("small")
    assert 256 <= min(small.height, small.width) <= 480 and small.fps == 24


@pytest.mark.parametrize(
    "bad", [{"height": 31}, {"height": 145}, {"fps": 0}, {"unknown_key": 1}, {"blur_rate": 1.5},
            {"min_duration_s": 9, "max_duration_s": 3}, {"workers": 3}],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        preset_world("tiny", **bad)


def test_make_shot_defaults_and_validation():
    shot = make_shot(subject="fish", colour="red", motion="left", camera="pan_right")
    assert isinstance(shot, ShotSpec) and shot.count == 1 and shot.subjects[0].subject == "fish"
    assert make_shot(count=3).count == 3
    static = make_shot(motion="left", camera="zoom_in", defects=("static",))
    assert static.camera == "static" and static.subjects[0].motion == "still"
    assert make_shot(unsafe=True).defects == ("unsafe",)
    with_overlay = make_shot(overlay="subtitle")
    assert with_overlay.overlay_pixels(64, 64) is not None and with_overlay.overlay_text
    with pytest.raises(KeyError):
        make_shot(subject="dragon")
    with pytest.raises(ValueError):
        make_shot(subjects=[("circle", "red", "left")] * 4)
    with pytest.raises(ValueError):
        make_shot(defects=("scratches",))
