"""filtered_clips judges every shot: a clip with failing shots is cut to its runs of passing shots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from assets.curation import stages
from assets.curation.clipio import probe_frames
from assets.curation.settings import CurationSettings
from assets.curation.trimming import ShotVerdict, shot_reasons, stretches, union_reasons
from resources.executor import CurationExecutor


class ConstantScorer:
    """Test double for the trained scorers: one probability for every thumbnail, so only the
    technical signals (blur, jitter, static, low light) decide which shots fail here."""

    backend = "test:constant"

    def __init__(self, p: float) -> None:
        self.p = p

    def score(self, thumbs: np.ndarray) -> np.ndarray:
        return np.full(len(thumbs), self.p, np.float32)


def _v(pos: int, start: int, end: int, *reasons: str) -> ShotVerdict:
    return ShotVerdict(pos, start, end, tuple(reasons))


def test_stretches_cover_every_frame_once_and_keep_long_passing_runs() -> None:
    vs = [_v(0, 0, 30), _v(1, 30, 50, "blur"), _v(2, 50, 70), _v(3, 70, 100)]
    got = stretches(vs, min_frames=24)
    assert [(p.first, p.last, p.start, p.end, p.reasons) for p in got] == [
        (0, 0, 0, 30, ()), (1, 1, 30, 50, ("blur",)), (2, 3, 50, 100, ()),
    ]  # fmt: skip
    # a passing remnant shorter than a clip is dropped as segmentation drops one
    got = stretches([_v(0, 0, 40, "jitter", "low_light"), _v(1, 40, 50)], min_frames=24)
    assert [(p.start, p.end, p.reasons) for p in got] == [(0, 40, ("jitter", "low_light")), (40, 50, ("too_short",))]
    assert not any(p.kept for p in got)
    assert union_reasons([_v(0, 0, 5, "unsafe"), _v(1, 5, 9, "blur", "unsafe")]) == ["blur", "unsafe"]


def test_flash_shots_fail_only_on_safety() -> None:
    s = CurationSettings()
    bad = {"blur": 0.0, "jitter": 99.0, "change": 0.0, "luminance": 0.0, "aesthetic": 0.0, "safety": 0.0}
    assert shot_reasons(bad, weighty=True, s=s, safety_configured=True) == ("blur", "jitter", "static", "low_light", "low_aesthetic")
    assert shot_reasons(bad, weighty=False, s=s, safety_configured=True) == ()
    assert shot_reasons(bad | {"safety": 1.0}, weighty=False, s=s, safety_configured=True) == ("unsafe",)
    assert shot_reasons(bad | {"safety": 1.0}, weighty=False, s=s, safety_configured=False) == ()


def _segmented(store, video: Path, s: CurationSettings, ex, tmp_path: Path) -> pa.Table:
    ref = store.put_file(video, namespace="sourcing/raw", suffix=".mp4")
    raw = pa.Table.from_pylist([{"video_id": "v", "batch": "b", "source_relpath": "v.mp4", "path": ref.path,
                                 "sha256": ref.sha256, "rotation": 0}])  # fmt: skip
    shots = stages.run_shots(store, raw, s, ex)
    return stages.run_segmented(store, shots.tables["videos"], s, ex, tmp_path / "seg").tables["clips"]


def test_clip_is_cut_to_its_passing_shots_and_nothing_is_lost(store, defect_video, tmp_path: Path) -> None:
    # defects.mp4 at 12 fps: [clean 30, blur 24, jitter 30] [static 20, dark 30, overlay 40]
    s = CurationSettings(analysis_width=128, max_shots_per_clip=3, min_clip_s=1.0)
    ex = CurationExecutor(backend="process", max_workers=1)
    clips = _segmented(store, defect_video[0], s, ex, tmp_path)  # uncropped: the overlay shot is judged whole
    assert clips.num_rows == 2 and clips.column("n_shots").to_pylist() == [3, 3]
    out = stages.run_filtered(store, clips, s, ConstantScorer(0.9), ConstantScorer(0.0), ex, tmp_path / "filt")
    kept = {r["clip_id"]: r for r in out.tables["clips"].to_pylist()}
    dropped = {r["clip_id"]: r for r in out.tables["dropped"].to_pylist()}

    first = kept["v-c000-s0"]  # the clean shot, cut out of a clip with a blurred and a shaky shot
    assert (first["start_frame"], first["end_frame"], first["n_shots"], first["shot_boundaries"]) == (0, 30, 1, [0])
    assert probe_frames(store.local_path(first["path"]))[0] == 30  # the file holds exactly the run
    assert first["blur"] >= s.blur_threshold and first["jitter"] <= s.jitter_threshold
    assert dropped["v-c000-s1"]["reasons"] == ["blur"] and dropped["v-c000-s2"]["reasons"] == ["jitter"]
    assert "v-c000" not in kept and "v-c000" not in dropped
    # the static and the dark shot go with their own reasons; the (uncropped) overlay shot is clean
    assert dropped["v-c001-s0"]["reason"] == "static" and "low_light" in dropped["v-c001-s1"]["reasons"]
    assert "v-c001-s2" in kept and kept["v-c001-s2"]["n_frames"] == 40
    # nothing is lost: every input frame is in exactly one kept clip or dropped piece
    frames_in = sum(clips.column("n_frames").to_pylist())
    assert frames_in == sum(r["n_frames"] for r in kept.values()) + sum(d["end_frame"] - d["start_frame"] for d in dropped.values())
    assert out.counts["clips_cut_to_passing_shots"] == 2 and out.counts["shots_cut_away"] == 4

    # with trimming off, the worst shot decides and both clips go whole, with every shot's reasons
    whole = stages.run_filtered(store, clips, s.model_copy(update={"trim_failing_shots": False}), ConstantScorer(0.9),
                                ConstantScorer(0.0), ex, tmp_path / "filt2")  # fmt: skip
    assert whole.tables["clips"].num_rows == 0
    assert [d["reasons"][:2] for d in whole.tables["dropped"].to_pylist()] == [["blur", "jitter"], ["static", "low_light"]]
