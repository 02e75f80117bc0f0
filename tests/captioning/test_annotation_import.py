"""Human annotation import: GX-validated rows, bad rows quarantined with reasons."""

from __future__ import annotations

import json

import pytest

from assets.captioning.annotation_import import import_annotations
from assets.captioning.schema import DenseCaption, render_caption


def test_csv_import_quarantines_bad_rows(tmp_path) -> None:
    p = tmp_path / "ann.csv"
    p.write_text(
        "clip_id,shot_index,subjects,scene,style,camera,transition,annotator\n"
        "c1,0,circle|red|2|left,sky,natural,static,,alice\n"
        "c1,1,fish|blue|1|still; star|white|1|up,ocean,neon,zoom_in,dissolve,alice\n"
        "c2,0,circle|red|1|left,moon,natural,static,,bob\n"  # unknown scene
        "c3,0,dragon|red|1|left,sky,natural,static,,bob\n"  # unknown subject (regex ok, vocabulary not)
        "c4,0,circle red left,sky,natural,static,,bob\n"  # malformed subjects
        "c5,0,circle|red|1|left,sky,natural,static,,bob\n"
        "c5,2,circle|red|1|left,sky,natural,static,cut,bob\n",  # shot 1 missing
        encoding="utf-8",
    )
    res = import_annotations(p)
    assert set(res.annotations) == {"c1"}
    cap, who = res.annotations["c1"]
    assert who == "alice" and cap.n_shots == 2 and cap.shots[0].subjects[0].count == 2
    assert cap.shots[1].transition == "dissolve"
    reasons = {q["clip_id"]: q["reason"] for q in res.quarantine}
    assert "scene" in reasons["c2"] and "moon" in reasons["c2"]
    assert "dragon" in reasons["c3"]
    assert "subjects" in reasons["c4"]
    assert "0..n-1" in reasons["c5"]
    assert not res.gx_success


def test_jsonl_import_structured_text_and_bad_lines(tmp_path) -> None:
    good = DenseCaption.from_attributes([dict(subjects=[("bird", "yellow", "up")], scene="city", style="ink",
                                              camera="pan_left")])
    lines = [
        json.dumps({"clip_id": "a", "annotator": "x", **good.to_dict()}),
        json.dumps({"clip_id": "b", "caption_zh": render_caption(good, "zh")}, ensure_ascii=False),
        "{not json",
        json.dumps({"clip_id": "c", "caption_en": "A dragon flies."}),
        json.dumps({"clip_id": "d"}),
        json.dumps({"clip_id": "z", **good.to_dict()}),  # not a curated clip
    ]
    p = tmp_path / "ann.jsonl"
    p.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe bad bytes\n")
    res = import_annotations(p, known_clips={"a", "b", "c", "d"})
    assert res.annotations["a"][0] == good and res.annotations["b"][0] == good
    reasons = [q["reason"] for q in res.quarantine]
    assert any("bad JSON" in r for r in reasons)
    assert any("does not parse" in r for r in reasons)
    assert any("needs 'shots'" in r for r in reasons)
    assert any("invalid UTF-8" in r for r in reasons)
    assert any("unknown clip_id" in r for r in reasons)
    assert len(res.quarantine) == 5


def test_missing_file_and_wrong_extension(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        import_annotations(tmp_path / "nope.csv")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError):
        import_annotations(tmp_path / "a.txt")
