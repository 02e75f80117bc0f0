"""Ingestion speed: files/s and MB/s of `raw_clips` on the tiny world, plus world generation speed.

Both measured in this run on this machine; writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from assets.sourcing.ingest import ingest_batch
from assets.sourcing.settings import SourceSpec, SourcingSettings
from assets.sourcing.world.settings import WorldSettings
from assets.sourcing.world.writer import write_world
from benchmarks._machine import describe
from orchestration.presets import render_preset
from resources.store import ArtifactStore

OUT = Path(__file__).resolve().parent / "results" / "ingest.json"


def main() -> dict:
    preset = render_preset("tiny")
    world = WorldSettings.model_validate(preset["world"])
    sourcing = SourcingSettings.model_validate(preset["sourcing"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        write_world(world, tmp_path / "world")
        gen_s = time.perf_counter() - t0
        videos = sorted((tmp_path / "world" / "videos").glob("*.mp4"))
        src = tmp_path / "src"
        (src / "batch").mkdir(parents=True)
        for v in videos:  # real copies: links out of the source root would be quarantined
            (src / "batch" / v.name).write_bytes(v.read_bytes())
        total_bytes = sum(v.stat().st_size for v in videos)
        store = ArtifactStore(root=str(tmp_path / "store"))
        spec = SourceSpec(name="bench", kind="folder", uri=str(src))
        t0 = time.perf_counter()
        result = ingest_batch(spec, "batch", "bench.batch", sourcing, store, progress=False)
        ingest_s = time.perf_counter() - t0
    n_frames = sum(r["n_frames"] for r in result.clips)
    figures = {
        "world": {
            "videos": len(videos),
            "frames": n_frames,
            "seconds": round(gen_s, 2),
            "videos_per_s": round(len(videos) / gen_s, 2),
            "frames_per_s": round(n_frames / gen_s, 1),
        },
        "ingest": {
            "files": result.files_seen,
            "ingested": len(result.clips),
            "quarantined": len(result.quarantine),
            "megabytes": round(total_bytes / 1e6, 2),
            "seconds": round(ingest_s, 2),
            "files_per_s": round(result.files_seen / ingest_s, 2),
            "mb_per_s": round(total_bytes / 1e6 / ingest_s, 2),
            "frames_decoded_per_s": round(n_frames / ingest_s, 1),
            "verify_decode": sourcing.verify_decode,
            "workers": sourcing.workers,
        },
        "machine": describe(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=2))
    return figures


if __name__ == "__main__":
    main()
