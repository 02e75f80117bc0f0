"""Curation speed and memory -> results/curation_throughput.json.

- frames/s of a bare decode pass (decode + scale to the analysis size, nothing computed) and of the
  single curation decode pass (every detector signal) on the same videos; the ratio is the headline
  (target >= 0.6). `every_frame_*`: the same pass measuring the appearance signals on every frame
  (`appearance_stride` 1, the pass before analysis-v9), interleaved with the others in the same run.
  Clip writing (a re-encode) is reported separately, per written frame.
- `breakdown_us_per_frame`: the curation pass per component (`analysis.PassClock`), measured in
  extra passes over the same videos (default and every-frame, interleaved): wall time and the main
  thread's CPU time per frame; `other_threads` is the process CPU time the main thread did not use
  (PyAV decodes ahead in its own threads; OpenCV's worker threads).
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

        # 1) bare decode vs the single curation pass, same videos. The machine is shared and loaded:
        # the passes run interleaved, round by round, and each keeps its best of 3 (wall and CPU
        # separately). "every_frame" is the pass measuring the appearance signals on every frame
        # (appearance_stride 1, as before analysis-v9), for the before / after comparison.
        passes = {
            "decode": lambda v: decode_only(v, s.analysis_width),
            "full": lambda v: analyse_video(v, s).n_frames,
            "every_frame": lambda v: analyse_video(v, s, appearance_stride=1).n_frames,
        }
        wall: dict[str, float] = {k: float("inf") for k in passes}
        cpu: dict[str, float] = {k: float("inf") for k in passes}
        frames: dict[str, int] = {}
        for _ in range(3):
            for key, fn in passes.items():
                t, c = time.perf_counter(), time.process_time()
                frames[key] = sum(fn(v) for v in videos)
                wall[key] = min(wall[key], time.perf_counter() - t)
                cpu[key] = min(cpu[key], time.process_time() - c)
        n_dec, t_dec, n_full, t_full = frames["decode"], wall["decode"], frames["full"], wall["full"]
        t = time.perf_counter()
        n_src = sum(decode_only(v, None) for v in videos)
        t_src = time.perf_counter() - t
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
            "curation_over_decode_cpu": cpu["decode"] / cpu["full"],  # process CPU time: less noisy on a shared machine
            "appearance_stride": s.appearance_stride,
            "every_frame_fps": frames["every_frame"] / wall["every_frame"],
            "every_frame_over_decode": (frames["every_frame"] / wall["every_frame"]) / (n_dec / t_dec),
            "every_frame_over_decode_cpu": cpu["decode"] / cpu["every_frame"],
            "cpu_us_per_frame": {k: round(v * 1e6 / frames[k], 1) for k, v in cpu.items()},
            "target_ratio": 0.6,
            "clip_write_fps": written / max(t_write, 1e-9),
        }  # fmt: skip

        # 1a) where the time goes: per component (wall and main-thread CPU, us/frame), the default
        # pass and the every-frame one interleaved, each keeping its lowest-CPU of 2 passes
        def breakdown(stride: int | None) -> dict:
            laps: dict[str, list[int]] = {}
            t, c = time.perf_counter(), time.process_time()
            n_b = sum(analyse_video(v, s, timings=laps, appearance_stride=stride).n_frames for v in videos)
            t_b, c_b = time.perf_counter() - t, time.process_time() - c
            main_cpu = sum(x[1] for x in laps.values()) / 1e9
            return {
                "frames": n_b,
                "cpu": {k: round(v[1] / 1e3 / n_b, 1) for k, v in sorted(laps.items(), key=lambda kv: -kv[1][1])}
                | {"other_threads": round((c_b - main_cpu) * 1e6 / n_b, 1)},
                "wall": {k: round(v[0] / 1e3 / n_b, 1) for k, v in sorted(laps.items(), key=lambda kv: -kv[1][0])},
                "total_wall": round(t_b * 1e6 / n_b, 1),
                "total_cpu": round(c_b * 1e6 / n_b, 1),
                "main_thread_cpu": round(main_cpu * 1e6 / n_b, 1),
            }

        kept: dict[str, dict] = {}
        for _ in range(2):
            for key, stride in (("default", None), ("every_frame", 1)):
                b = breakdown(stride)
                if key not in kept or b["total_cpu"] < kept[key]["total_cpu"]:
                    kept[key] = b
        res["breakdown_us_per_frame"] = {
            **kept["default"],
            "every_frame": kept["every_frame"],
            "decode_only_wall": round(t_dec * 1e6 / n_dec, 1),
            "decode_only_cpu": round(cpu["decode"] * 1e6 / n_dec, 1),
            "components": {
                "decode": "PyAV decode + CFR resampling, main thread (the decoder threads are `decoder_threads`)",
                "scale": "planar YUV -> BGR and area resize to the analysis size (also in decode_only)",
                "hsv_content_score": "BGR -> HSV and the mean |HSV difference| shared by the content and adaptive detectors",
                "scenedetect_logic": "PySceneDetect's process_frame logic (Python), FrameTimecode, the threshold detector, cut union",
                "gray": "BGR -> grey conversion (every frame: flow, change and the appearance signals read it)",
                "crisp_edges": "noise sigma, Sobel, local contrast, crisp / edge cell counts, Laplacian variance (blur), measured frames only",
                "cell_peak": "per-cell peak luma (low light), measured frames only",
                "flow": "resize to flow width + DIS optical flow + median camera motion + mean magnitude (jitter, motion level)",
                "cell_change": "gain-compensated per-cell frame change + trimmed mean difference (static)",
                "canny": "Canny edges of the overlay persistence maps, measured frames only",
                "other_threads": "process CPU outside the main thread: PyAV's decoder threads, OpenCV's worker threads",
                "fold": "Python bookkeeping: frame records, delay ring, folding into segment accumulators",
                "thumbnails": "thumbnails of the frames the reservoir keeps",
            },
        }  # fmt: skip

        # 1b) the same at 720p: the tiny world's frames are so small that decoding is nearly free,
        # so the ratio there is dominated by per-frame Python overhead; real footage is bigger.
        hd = WorldSettings(n_videos=2, seed=12, workers=2, height=720, width=1280, min_duration_s=4, max_duration_s=5,
                           portrait_rate=0.0, square_rate=0.0)  # fmt: skip
        write_world(hd, d / "hd")
        hd_videos = sorted((d / "hd" / "videos").glob("*.mp4"))
        s_hd = s.model_copy(update={"analysis_width": 320})
        # interleaved, best of 3 as above (a single cold pass each once read 1.16: the first pass paid
        # for reading the files)
        hd_passes = {"decode": lambda v: decode_only(v, s_hd.analysis_width), "full": lambda v: analyse_video(v, s_hd).n_frames}
        hd_wall = {k: float("inf") for k in hd_passes}
        hd_cpu = {k: float("inf") for k in hd_passes}
        n_hd = 0
        for _ in range(3):
            for key, fn in hd_passes.items():
                t, c = time.perf_counter(), time.process_time()
                n_hd = sum(fn(v) for v in hd_videos)
                hd_wall[key] = min(hd_wall[key], time.perf_counter() - t)
                hd_cpu[key] = min(hd_cpu[key], time.process_time() - c)
        res["throughput_720p"] = {"frames": n_hd, "analysis_width": 320, "decode_only_fps": n_hd / hd_wall["decode"],
                                  "curation_pass_fps": n_hd / hd_wall["full"],
                                  "curation_over_decode": hd_wall["decode"] / hd_wall["full"],
                                  "curation_over_decode_cpu": hd_cpu["decode"] / hd_cpu["full"]}  # fmt: skip

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
