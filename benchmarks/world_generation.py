"""Generation speed of the synthetic world: frames/s and videos/s writing the tiny world.

Writes benchmarks/results/world_generation.json. Run: `.venv/bin/python benchmarks/world_generation.py`
(`--preset small` for the larger world, `--workers 1` for one process). Also reports render-only and
encode shares measured on a few videos in this process, so a slowdown can be located.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assets.sourcing.world.encode import encode_video  # noqa: E402
from assets.sourcing.world.plan import plan_world  # noqa: E402
from assets.sourcing.world.render import render_video  # noqa: E402
from assets.sourcing.world.settings import WorldSettings  # noqa: E402
from assets.sourcing.world.writer import write_world  # noqa: E402


def machine() -> dict:
    try:
        from benchmarks._machine import describe  # the shared description, when it exists

        return describe()
    except Exception:  # noqa: BLE001 - fall back to a plain description
        return {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
                "processor": platform.processor() or platform.machine()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="tiny", choices=["tiny", "small", "paper"])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "world_generation.json"))
    args = ap.parse_args()
    data = yaml.safe_load((ROOT / "orchestration" / "presets" / args.preset / "world.yaml").read_text())
    if args.workers:
        data["workers"] = args.workers
    settings = WorldSettings(**data)

    t0 = time.perf_counter()
    plan = plan_world(settings)
    plan_s = time.perf_counter() - t0

    # Render-only vs render+encode on the first few videos, one process.
    sample = plan[:4]
    n_sample = sum(v.n_frames for v in sample)
    t0, c0 = time.perf_counter(), time.process_time()
    for v in sample:
        for _ in render_video(v):
            pass
    render_cpu = time.process_time() - c0
    with tempfile.TemporaryDirectory() as tmp:
        c0 = time.process_time()
        for v in sample:
            encode_video(v, Path(tmp) / f"{v.video_id}.mp4", settings.x264_preset)
        both_cpu = time.process_time() - c0

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        c0 = os.times()
        result = write_world(settings, Path(tmp))
        wall = time.perf_counter() - t0
        c1 = os.times()
        cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + (
            c1.children_system - c0.children_system)
        size = sum(p.stat().st_size for p in result.video_files)
    footage = sum(v.duration_s for v in plan)
    out = {
        "preset": args.preset,
        "workers": settings.workers,
        "videos": len(plan),
        "shots": sum(len(v.shots) for v in plan),
        "frames": result.n_frames,
        "footage_s": round(footage, 1),
        "resolution": f"{settings.height}x{settings.width}",
        "fps": settings.fps,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "frames_per_s": round(result.n_frames / wall, 1),
        "videos_per_s": round(len(plan) / wall, 3),
        "footage_s_per_wall_s": round(footage / wall, 2),
        "frames_per_cpu_s": round(result.n_frames / max(cpu, 1e-9), 1),
        "plan_s": round(plan_s, 3),
        "render_ms_per_frame": round(1000 * render_cpu / n_sample, 3),
        "encode_ms_per_frame": round(1000 * max(both_cpu - render_cpu, 0.0) / n_sample, 3),
        "video_bytes": size,
        "note": "wall time depends on how busy the shared cores are; cpu_s and frames_per_cpu_s do not",
        "machine": machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
