"""Bad videos are quarantined by the shots stage, good ones in the same batch go on; the cache works."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from assets.curation import stages
from assets.curation.settings import CurationSettings
from resources.executor import CurationExecutor


def test_bad_video_quarantined_good_video_analysed_and_cached(store, defect_video, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 4000)  # an mp4 header, then garbage
    rows = []
    for name, p in (("good", defect_video[0]), ("bad", bad)):
        ref = store.put_file(p, namespace="sourcing/raw", suffix=".mp4")
        rows.append({"video_id": name, "batch": "b", "source_relpath": f"{name}.mp4", "path": ref.path,
                     "sha256": ref.sha256, "rotation": 0})  # fmt: skip
    raw = pa.Table.from_pylist(rows)
    s = CurationSettings(analysis_width=128)
    ex = CurationExecutor(backend="process", max_workers=1)
    out = stages.run_shots(store, raw, s, ex)
    q = out.tables["quarantine"].to_pylist()
    assert [(r["video_id"], r["reason"]) for r in q] == [("bad", "decode_error")]
    assert out.counts["videos_analysed"] == 1 and out.tables["shots"].num_rows == 6
    again = stages.run_shots(store, raw.slice(0, 1), s, ex)
    assert again.counts["videos_cached"] == 1 and again.counts["frames_decoded"] == 0
    assert again.tables["shots"].equals(out.tables["shots"])
