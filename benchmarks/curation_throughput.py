"""Curation speed and memory -> results/curation_throughput.json.

- frames/s of a bare decode pass (decode + scale to the analysis size, nothing computed) and of the
  single curation decode pass (every detector signal) on the same videos; the ratio is the headline
  (target >= 0.6). Each pass runs in several thread configurations (`CONFIGS`: the libraries'
  threaded defaults, a pool worker's single-threaded one, and single-threaded libraries with the
  pass decoding the next blocks in a second thread) and the headline compares each pass in its own
  best configuration, in wall time and in process CPU time (what governs throughput when the
  executor keeps every core busy); `per_configuration` has both. `every_frame_*`: the same pass
  measuring the appearance signals on every frame (`appearance_stride` and `edge_stride` 1, the pass
  before analysis-v9); `frame_by_frame_*`: the default pass with blocks of one frame
  (`analysis.BLOCK_FRAMES` 1: every OpenCV / numpy call per frame, as before blocks; same bytes);
  both single-threaded, interleaved with the others in the same run.
  Clip writing (a re-encode) is reported separately, per written frame.
- `breakdown_us_per_frame`: the curation pass per component (`analysis.PassClock`), measured in
  extra passes over the same videos (default and every-frame, interleaved, single-threaded): wall
  time and the main thread's CPU time per frame; `other_threads` is the process CPU time the main
  thread did not use.
- `by_resolution`: the same two world videos rendered at 144p ... 1080p, each analysed with the
  preset that would analyse it (tiny: 192 px; small: 320 px; paper: 480 px), single-threaded: the
  bare decode grows with the source, the analysis stays at the analysis width, so the ratio shows from
  which source size the pass is decode-bound (`--by-resolution` re-measures only this part).
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

import cv2

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Thread configurations a pass is measured in: (OpenCV threads, 0 = its default; FFmpeg decoder
# threads, 0 = frame + slice threads, one per core; whether the pass decodes ahead in a second
# thread). The bare decode has nothing to decode ahead of, so it runs in the first two only
# ("decode_ahead" passes are compared with the single-thread one).
CONFIGS = {"threaded": (0, 0, False), "single_thread": (1, 1, False), "decode_ahead": (1, 1, True)}
DECODE_CONFIGS = ("threaded", "single_thread")
CONFIG_NOTES = {
    "threaded": "the libraries' defaults: OpenCV's worker pool (one thread per core), FFmpeg frame + slice decoder threads",
    "single_thread": "a pool worker's (analysis.worker_threads): OpenCV on 1 thread, decoding in the calling thread",
    "decode_ahead": "OpenCV and FFmpeg on 1 thread, the pass decoding the next blocks in a second thread (analyse_video(decode_ahead=True))",
}

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


_CV_DEFAULT = cv2.getNumThreads()  # OpenCV's own thread count, restored after every pass


def run_in(config: str, fn, v) -> int:
    """`fn(video, decoder_threads, decode_ahead)` in thread configuration `config` (`CONFIGS`)."""
    cv_n, dec_n, ahead = CONFIGS[config]
    cv2.setNumThreads(cv_n if cv_n else _CV_DEFAULT)
    try:
        return fn(v, dec_n, ahead)
    finally:
        cv2.setNumThreads(_CV_DEFAULT)


def _interleaved(passes: list, run_pass, rounds: int = 3) -> tuple[dict, dict, dict]:
    """(wall s, process CPU s, frames) of each pass, each its best of `rounds`. The machine is shared
    and has slow periods of seconds: the passes run round by round, interleaved, so a slow period
    costs every pass one round instead of one pass all of its."""
    wall = {p: float("inf") for p in passes}
    cpu = dict(wall)
    frames: dict = {}
    for _ in range(rounds):
        for p in passes:
            t, c = time.perf_counter(), time.process_time()
            frames[p] = run_pass(p)
            wall[p] = min(wall[p], time.perf_counter() - t)
            cpu[p] = min(cpu[p], time.process_time() - c)
    return wall, cpu, frames


# (name, width, height, preset whose curation settings analyse it). The tiny world is 256x144; the
# small preset analyses real footage at 320 px, the paper preset at 480 px.
RESOLUTIONS = [("144p", 256, 144, "tiny"), ("360p", 640, 360, "small"), ("480p", 848, 480, "small"),
               ("720p", 1280, 720, "small"), ("1080p", 1920, 1080, "small"), ("1080p", 1920, 1080, "paper")]  # fmt: skip


def _preset_curation(name: str):
    import yaml

    from assets.curation.settings import CurationSettings
    from resources.params import validate_section

    text = (ROOT / "orchestration" / "presets" / name / "curation.yaml").read_text(encoding="utf-8")
    return validate_section({"curation": yaml.safe_load(text)}, "curation", CurationSettings)


def _by_resolution(d: Path) -> list[dict]:
    from assets.curation.analysis import analyse_video, decode_only
    from assets.sourcing.world.settings import WorldSettings
    from assets.sourcing.world.writer import write_world

    out = []
    for name, w, h, preset in RESOLUTIONS:
        folder = d / f"res_{w}x{h}"
        if not folder.exists():  # the same two videos (seed 12) at every size
            write_world(WorldSettings(n_videos=2, seed=12, workers=2, width=w, height=h, min_duration_s=4, max_duration_s=5,
                                      portrait_rate=0.0, square_rate=0.0), folder)  # fmt: skip
        videos = sorted((folder / "videos").glob("*.mp4"))
        s = _preset_curation(preset)
        kinds = {"decode": lambda v, dec, ahead, s=s: decode_only(v, s.analysis_width, decoder_threads=dec),
                 "full": lambda v, dec, ahead, s=s: analyse_video(v, s, decoder_threads=dec).n_frames}  # fmt: skip
        passes = [("single_thread", "decode"), ("single_thread", "full")]
        wall, cpu, n = _interleaved(passes, lambda p, kinds=kinds, videos=videos: sum(run_in(p[0], kinds[p[1]], v) for v in videos))
        dec_us = cpu[passes[0]] * 1e6 / n[passes[0]]
        full_us = cpu[passes[1]] * 1e6 / n[passes[1]]
        out.append({
            "source": name, "width": w, "height": h, "preset": preset, "analysis_width": s.analysis_width,
            "frames": n[passes[1]], "decode_only_cpu_us_per_frame": round(dec_us, 1), "curation_pass_cpu_us_per_frame": round(full_us, 1),
            "analysis_cpu_us_per_frame": round(full_us - dec_us, 1), "curation_over_decode_cpu": round(dec_us / full_us, 3),
            "curation_over_decode": round(wall[passes[0]] / wall[passes[1]], 3), "meets_target": dec_us / full_us >= 0.6,
        })  # fmt: skip
        print(out[-1], flush=True)
    return out


def main() -> None:
    import torch

    import assets.curation.analysis as analysis_mod
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

        # 1) bare decode vs the single curation pass, same videos, in two thread configurations
        # (`CONFIGS`), each pass in each: "threaded" = the libraries' defaults (OpenCV's worker pool,
        # FFmpeg's frame + slice threads), "single_thread" = a pool worker's (`worker_threads`, decoder
        # in the calling thread). The machine is shared and loaded: the passes run interleaved, round
        # by round, and each keeps its best of 3 (wall and process CPU separately). "every_frame":
        # the pass measuring the appearance signals on every frame (both strides 1, as before
        # analysis-v9); "frame_by_frame": blocks of one frame (as before analysis-v10's blocks); both
        # single-threaded, for the before / after comparison.

        def frame_by_frame(v, dec: int, ahead: bool) -> int:
            block = analysis_mod.BLOCK_FRAMES
            analysis_mod.BLOCK_FRAMES = 1
            try:
                return analyse_video(v, s, decoder_threads=dec, decode_ahead=ahead).n_frames
            finally:
                analysis_mod.BLOCK_FRAMES = block

        kinds = {
            "decode": lambda v, dec, ahead: decode_only(v, s.analysis_width, decoder_threads=dec),
            "full": lambda v, dec, ahead: analyse_video(v, s, decoder_threads=dec, decode_ahead=ahead).n_frames,
            "every_frame": lambda v, dec, ahead: analyse_video(v, s, appearance_stride=1, edge_stride=1, decoder_threads=dec, decode_ahead=ahead).n_frames,
            "frame_by_frame": frame_by_frame,
        }
        passes = [(c, k) for c in CONFIGS for k in kinds
                  if (k == "decode" and c in DECODE_CONFIGS) or k == "full" or (k in ("every_frame", "frame_by_frame") and c == "single_thread")]  # fmt: skip
        wall, cpu, n_of = _interleaved(passes, lambda p: sum(run_in(p[0], kinds[p[1]], v) for v in videos))
        frames: dict[str, int] = {k: n for (_, k), n in n_of.items()}

        def best(kind: str, table: dict) -> tuple[str, float]:
            """The configuration in which `kind` is cheapest, and its time (each pass at its best)."""
            return min(((c, v) for (c, k), v in table.items() if k == kind), key=lambda cv: cv[1])

        (dec_wall_cfg, t_dec), (full_wall_cfg, t_full) = best("decode", wall), best("full", wall)
        (dec_cpu_cfg, c_dec), (full_cpu_cfg, c_full) = best("decode", cpu), best("full", cpu)
        n_dec, n_full = frames["decode"], frames["full"]
        dec_of = {c: c if c in DECODE_CONFIGS else "single_thread" for c in CONFIGS}  # the bare decode each compares with
        per_config = {
            c: {
                "decode_only_fps": n_dec / wall[dec_of[c], "decode"], "curation_pass_fps": n_full / wall[c, "full"],
                "curation_over_decode": (n_full / wall[c, "full"]) / (n_dec / wall[dec_of[c], "decode"]),
                "curation_over_decode_cpu": (cpu[dec_of[c], "decode"] / n_dec) / (cpu[c, "full"] / n_full),
                "cpu_us_per_frame": {k: round(v * 1e6 / frames[k], 1) for (cc, k), v in cpu.items() if cc == c},
            }
            for c in CONFIGS
        }  # fmt: skip
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
        ef_wall, ef_cpu = wall["single_thread", "every_frame"], cpu["single_thread", "every_frame"]
        fb_wall, fb_cpu = wall["single_thread", "frame_by_frame"], cpu["single_thread", "frame_by_frame"]
        res["throughput"] = {
            "videos": len(videos), "frames": n_full,
            # Headline: each pass in its own best configuration (the baseline is never slowed).
            # Wall: frames/s of one video after another; process CPU: what governs throughput when
            # the executor keeps every core busy (one video per worker).
            "decode_only_fps": n_dec / t_dec, "decode_only_fps_configuration": dec_wall_cfg,
            "curation_pass_fps": n_full / t_full, "curation_pass_fps_configuration": full_wall_cfg,
            "curation_over_decode": (n_full / t_full) / (n_dec / t_dec),
            "decode_only_cpu_us_per_frame": round(c_dec * 1e6 / n_dec, 1), "decode_only_cpu_configuration": dec_cpu_cfg,
            "curation_pass_cpu_us_per_frame": round(c_full * 1e6 / n_full, 1), "curation_pass_cpu_configuration": full_cpu_cfg,
            "curation_over_decode_cpu": (c_dec / n_dec) / (c_full / n_full),
            "configurations": CONFIG_NOTES,
            "per_configuration": per_config,
            "decode_source_resolution_fps": n_src / t_src,
            "appearance_stride": s.appearance_stride,
            "edge_stride": s.edge_stride,
            "block_frames": analysis_mod.BLOCK_FRAMES,
            "every_frame_fps": frames["every_frame"] / ef_wall,
            "every_frame_over_decode": (frames["every_frame"] / ef_wall) / (n_dec / t_dec),
            "every_frame_over_decode_cpu": (c_dec / n_dec) / (ef_cpu / frames["every_frame"]),
            "frame_by_frame_fps": frames["frame_by_frame"] / fb_wall,
            "frame_by_frame_over_decode": (frames["frame_by_frame"] / fb_wall) / (n_dec / t_dec),
            "frame_by_frame_over_decode_cpu": (c_dec / n_dec) / (fb_cpu / frames["frame_by_frame"]),
            "target_ratio": 0.6,
            "clip_write_fps": written / max(t_write, 1e-9),
        }  # fmt: skip

        # 1a) where the time goes: per component (wall and main-thread CPU, us/frame), the default
        # pass and the every-frame one interleaved, each keeping its lowest-CPU of 2 passes; in the
        # single-thread configuration, so the main thread's CPU is nearly all of the process's
        def breakdown(stride: int | None) -> dict:
            laps: dict[str, list[int]] = {}
            t, c = time.perf_counter(), time.process_time()
            run = lambda v, dec, ahead: analyse_video(v, s, timings=laps, appearance_stride=stride, edge_stride=stride, decoder_threads=dec, decode_ahead=ahead).n_frames  # noqa: E731
            n_b = sum(run_in("single_thread", run, v) for v in videos)
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
            "configuration": "single_thread",
            "decode_only_wall": round(wall["single_thread", "decode"] * 1e6 / n_dec, 1),
            "decode_only_cpu": round(cpu["single_thread", "decode"] * 1e6 / n_dec, 1),
            "components": {
                "decode": "PyAV decode + CFR resampling (integer clock; in the calling thread: decoder_threads=1)",
                "scale": "planar YUV -> BGR and area resize to the analysis size, into the block buffer (also in decode_only)",
                "hsv_content_score": "BGR -> HSV of the block, the mean |HSV difference| shared by the content and adaptive detectors, the threshold detector's mean level",
                "scenedetect_logic": "PySceneDetect's process_frame logic (Python), FrameTimecode, the threshold detector, cut union",
                "gray": "BGR -> grey conversion of the block (every frame: flow, change and the appearance signals read it)",
                "crisp_edges": "noise sigma, Sobel, local contrast, crisp / edge cell counts, Laplacian variance (blur), measured frames only (appearance_stride)",
                "cell_peak": "per-cell peak luma (low light), measured frames only (appearance_stride)",
                "flow": "resize of the block to flow width + DIS optical flow per frame pair + median camera motion + mean magnitude (jitter, motion level)",
                "cell_change": "gain-compensated per-cell frame change + trimmed mean difference (static), per block",
                "canny": "Canny edges of the overlay persistence maps, measured frames only (edge_stride)",
                "other_threads": "process CPU outside the main thread (none of the pass's work in this configuration: the interpreter's and libraries' housekeeping)",
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
        hd_kinds = {"decode": lambda v, dec, ahead: decode_only(v, s_hd.analysis_width, decoder_threads=dec),
                    "full": lambda v, dec, ahead: analyse_video(v, s_hd, decoder_threads=dec, decode_ahead=ahead).n_frames}  # fmt: skip
        hd_passes = [(c, k) for c in CONFIGS for k in hd_kinds if k == "full" or c in DECODE_CONFIGS]
        hd_wall, hd_cpu, hd_n = _interleaved(hd_passes, lambda p: sum(run_in(p[0], hd_kinds[p[1]], v) for v in hd_videos))
        n_hd = hd_n["single_thread", "full"]
        (hd_dw_cfg, hd_dw), (hd_fw_cfg, hd_fw) = best("decode", hd_wall), best("full", hd_wall)
        (hd_dc_cfg, hd_dc), (hd_fc_cfg, hd_fc) = best("decode", hd_cpu), best("full", hd_cpu)
        res["throughput_720p"] = {"frames": n_hd, "analysis_width": 320,
                                  "decode_only_fps": n_hd / hd_dw, "decode_only_fps_configuration": hd_dw_cfg,
                                  "curation_pass_fps": n_hd / hd_fw, "curation_pass_fps_configuration": hd_fw_cfg,
                                  "curation_over_decode": hd_dw / hd_fw,
                                  "curation_over_decode_cpu": hd_dc / hd_fc,
                                  "cpu_configurations": {"decode": hd_dc_cfg, "full": hd_fc_cfg},
                                  "per_configuration": {c: {"curation_over_decode": hd_wall[dec_of[c], "decode"] / hd_wall[c, "full"],
                                                            "curation_over_decode_cpu": hd_cpu[dec_of[c], "decode"] / hd_cpu[c, "full"]}
                                                        for c in CONFIGS}}  # fmt: skip

        # 1c) by source resolution: the same single pass on the world rendered at 144p (the tiny
        # preset, analysis at 192 px) up to 1080p (the small preset, analysis at 320 px; the paper
        # preset, 480 px), in a pool worker's configuration (single-threaded: what governs throughput
        # when the executor keeps every core busy). The analysis costs about the same at every source
        # size (it runs at the analysis width), the decode grows with the source: the ratio says from
        # which source size the pass is decode-bound.
        res["by_resolution"] = _by_resolution(d)

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


def by_resolution_only() -> None:
    """`--by-resolution`: re-measure only the resolution sweep and update that part of the results."""
    from benchmarks._machine import describe

    out = ROOT / "benchmarks" / "results" / "curation_throughput.json"
    res = json.loads(out.read_text()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as d:
        res["by_resolution"] = _by_resolution(Path(d))
    res["by_resolution_machine"] = describe()
    out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    by_resolution_only() if "--by-resolution" in sys.argv[1:] else main()
