from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from badfiles import build_bad_corpus, write_video  # noqa: E402

from assets.common.manifest import rows_to_table  # noqa: E402
from assets.sourcing.ingest import ingest_batch  # noqa: E402
from assets.sourcing.probe import Rejection, VideoFacts, probe_file  # noqa: E402
from assets.sourcing.schemas import QUARANTINE, RAW_CLIPS  # noqa: E402
from assets.sourcing.settings import SourceSpec, SourcingSettings  # noqa: E402
from resources.params import ParamsError, validate_section  # noqa: E402


def test_probe_reads_facts_of_a_good_video(tmp_path: Path) -> None:
    facts = probe_file(write_video(tmp_path / "a.mp4", n=30, w=96, h=64), SourcingSettings())
    assert isinstance(facts, VideoFacts)
    assert (facts.n_frames, facts.width, facts.height, facts.codec) == (30, 96, 64, "h264")
    assert facts.fps == pytest.approx(12.0)
    assert facts.duration_s == pytest.approx(2.5, abs=0.1)
    assert facts.has_audio is False


def test_probe_sees_audio_next_to_video(tmp_path: Path) -> None:
    facts = probe_file(write_video(tmp_path / "av.mp4", audio=True), SourcingSettings())
    assert isinstance(facts, VideoFacts) and facts.has_audio


def test_every_bad_file_kind_is_quarantined_with_its_reason(tmp_path: Path, store) -> None:
    batch = tmp_path / "src" / "batch-1"
    expected = build_bad_corpus(batch, tmp_path / "outside.mp4")
    spec = SourceSpec(name="src", kind="folder", uri=str(tmp_path / "src"))
    result = ingest_batch(spec, "batch-1", "src.batch-1", SourcingSettings(), store, progress=False)
    got = {q["source_relpath"]: q["reason"] for q in result.quarantine}
    assert got == expected
    assert [c["source_relpath"] for c in result.clips] == ["good.mp4"]
    assert len(result.clips) + len(result.quarantine) == result.files_seen == len(expected) + 1
    # The good file was copied into the store under its hash; the link target was never read.
    clip = result.clips[0]
    assert store.verify(clip["path"], clip["sha256"]) and clip["video_id"] == clip["sha256"][:16]
    # Both tables fit their schemas.
    assert rows_to_table(result.clips, RAW_CLIPS).num_rows == 1
    assert rows_to_table(result.quarantine, QUARANTINE).num_rows == len(expected)


def test_probe_never_raises_on_a_directory_or_missing_file(tmp_path: Path) -> None:
    out = probe_file(tmp_path / "missing.mp4", SourcingSettings())
    assert isinstance(out, Rejection) and out.reason == "probe_crashed"


def test_sourcing_settings_reject_unknown_and_out_of_range_keys() -> None:
    with pytest.raises(ParamsError, match=r"sourcing\.min_sid"):
        validate_section({"sourcing": {"min_sid": 3}}, "sourcing", SourcingSettings)
    with pytest.raises(ParamsError, match=r"sourcing\.max_aspect"):
        validate_section({"sourcing": {"max_aspect": 0.5}}, "sourcing", SourcingSettings)
    with pytest.raises(ParamsError, match="unique"):
        validate_section(
            {"sourcing": {"sources": [{"name": "a", "kind": "world"}, {"name": "a", "kind": "world"}]}},
            "sourcing",
            SourcingSettings,
        )
