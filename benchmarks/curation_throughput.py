"""Curation speed and memory -> results/curation_throughput.json.

- frames/s of a bare decode pass (decode + scale to the analysis size, nothing computed) and of the
  single curation decode pass (every detector signal) on the same videos; the ratio is the headline
  (target >= 0.6). Clip writing (a re-encode) is reported separately, per written frame.
- peak RSS of the analysis pass on a short video and on one ten times longer (target: flat),
  each in a fresh subprocess.
- process pool vs Ray on the same videos: wall time, Ray's startup cost, and byte-equality of the
  analysis results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_RSS_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from assets.curation.analysis import analyse_video
from assets.curation.settings import CurationSettings
t = time.perf_counter()
a = analyse_video({path!r}, CurationSettings())
print(a.n_frames, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD.format(root=str(ROOT), path=str(path))],
                         capture_output=True, text=True, check=True)  # fmt: skip
    n, secs, rss_kb = out.stdout.strip().splitlines()[-1].split()
    return {"frames": int(n), "seconds": float(secs), "peak_rss_mib": int(rss_kb) / 1024}


def main() -> None:
    import torch

    from assets.curation.analysis import analyse_video, decode_only
    from assets.curation.clipio import ClipRange, write_clips
    from assets.curation.clips import plan_clips
    from assets.curation.settings import CurationSettings
    from assets.curation.tasks import analyse_task
    from assets.sourcing.world.settings import WorldSettings
    from assets.sourcing.world.writer import write_world
    from benchmarks._machine import describe
    from resources.executor import CurationExecutor

    torch.set_num_threads(1)
    s = CurationSettings()
    res: dict = {"settings": {"analysis_width": s.analysis_width, "flow_width": s.flow_width, "detectors": s.detectors}}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        world = WorldSettings(n_videos=8, seed=11, workers=2, portrait_rate=0.0, square_rate=0.0)
        write_world(world, d / "w")
        videos = sorted((d / "w" / "videos").glob("*.mp4"))

        # 1) bare decode vs the single curation pass, same videos, best of 2 (noisy shared machine)
        def timed(fn) -> tuple[int, float]:
            best = None
            for _ in range(2):
                t = time.perf_counter()
                n = sum(fn(v) for v in videos)
                dt = time.perf_counter() - t
                best = dt if best is None else min(best, dt)
            return n, best

        n_dec, t_dec = timed(lambda v: decode_only(v, s.analysis_width))
        n_full, t_full = timed(lambda v: analyse_video(v, s).n_frames)
        n_src, t_src = timed(lambda v: decode_only(v, None))
        # clip writing: one decode + re-encode of every clip of a video
        t = time.perf_counter()
        written = 0
        for v in videos:
            plans, _ = plan_clips(analyse_video(v, s), s)
            written += sum(write_clips(v, [ClipRange(p.start, p.end, d / f"{v.stem}_{p.index}.mp4") for p in plans]))
        t_write = time.perf_counter() - t - t_full / 2  # minus the analysis it needed
        res["throughput"] = {
            "videos": len(videos), "frames": n_full,
            "decode_only_fps": n_dec / t_dec,
            "decode_source_resolution_fps": n_src / t_src,
            "curation_pass_fps": n_full / t_full,
            "curation_over_decode": (n_full / t_full) / (n_dec / t_dec),
            "target_ratio": 0.6,
            "clip_write_fps": written / max(t_write, 1e-9),
        }  # fmt: skip

        # 1b) the same at 720p: the tiny world's frames are so small that decoding is nearly free,
        # so the ratio there is dominated by per-frame Python overhead; real footage is bigger.
        hd = WorldSettings(n_videos=2, seed=12, workers=2, height=720, width=1280, min_duration_s=4, max_duration_s=5,
                           portrait_rate=0.0, square_rate=0.0)  # fmt: skip
        write_world(hd, d / "hd")
        hd_videos = sorted((d / "hd" / "videos").glob("*.mp4"))
        s_hd = s.model_copy(update={"analysis_width": 320})
        t = time.perf_counter()
        n_hd_dec = sum(decode_only(v, s_hd.analysis_width) for v in hd_videos)
        t_hd_dec = time.perf_counter() - t
        t = time.perf_counter()
        n_hd = sum(analyse_video(v, s_hd).n_frames for v in hd_videos)
        t_hd = time.perf_counter() - t
        res["throughput_720p"] = {"frames": n_hd, "analysis_width": 320, "decode_only_fps": n_hd_dec / t_hd_dec,
                                  "curation_pass_fps": n_hd / t_hd, "curation_over_decode": (n_hd / t_hd) / (n_hd_dec / t_hd_dec)}  # fmt: skip

        # 2) peak RSS: short vs ten times longer video
        short = WorldSettings(n_videos=1, seed=3, min_duration_s=8, max_duration_s=8, portrait_rate=0, square_rate=0, workers=1)
        long = short.model_copy(update={"min_duration_s": 80, "max_duration_s": 80})
        write_world(short, d / "short")
        write_world(long, d / "long")
        rs = _peak_rss(next((d / "short" / "videos").glob("*.mp4")))
        rl = _peak_rss(next((d / "long" / "videos").glob("*.mp4")))
        res["memory"] = {"short": rs, "long": rl, "long_over_short_frames": rl["frames"] / rs["frames"],
                         "long_over_short_rss": rl["peak_rss_mib"] / rs["peak_rss_mib"]}  # fmt: skip

        # 3) process pool vs Ray on the same inputs
        items = [{"path": str(v), "rotation": 0, "settings": s.model_dump()} for v in videos]
        t = time.perf_counter()
        pool = CurationExecutor(backend="process", max_workers=2).map(analyse_task, items)
        t_pool = time.perf_counter() - t
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})  # fmt: skip
        t_ray_start = time.perf_counter() - t
        t = time.perf_counter()
        rayr = CurationExecutor(backend="ray", max_workers=2).map(analyse_task, items)
        t_ray = time.perf_counter() - t
        ray.shutdown()
        res["executors"] = {
            "videos": len(items),
            "process_pool_s": t_pool,
            "ray_startup_s": t_ray_start,
            "ray_tasks_s": t_ray,
            "all_ok": all(r.ok for r in pool + rayr),
            "identical_results": [r.value for r in pool] == [r.value for r in rayr],
        }
    res["machine"] = describe()
    out = ROOT / "benchmarks" / "results" / "curation_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
