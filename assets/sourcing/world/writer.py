"""Writing the synthetic world to disk: H.264 videos plus the ground-truth tables.

Public API
- `write_world(settings, out_dir) -> WorldResult` writes `out_dir/videos/<video_id>.mp4` and
  `out_dir/ground_truth_videos.parquet`, `out_dir/ground_truth_shots.parquet` (schemas in
  `schemas.py`). Same settings give the same bytes. At most `settings.workers` (<= 2) processes.
- `ground_truth_tables(videos) -> (videos_table, shots_table)`: the tables from a plan alone (no pixels).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from assets.captioning.ground_truth import shot_caption_from_spec
from assets.captioning.schema import DenseCaption, render_caption
from assets.sourcing.world.encode import encode_job
from assets.sourcing.world.plan import NO_OVERLAY, VideoSpec, plan_world
from assets.sourcing.world.schemas import SHOTS, VIDEOS
from assets.sourcing.world.settings import WorldSettings

VIDEOS_TABLE = "ground_truth_videos.parquet"
SHOTS_TABLE = "ground_truth_shots.parquet"


@dataclass(frozen=True)
class WorldResult:
    out_dir: Path
    videos: list[VideoSpec]
    video_files: list[Path]
    videos_table: Path
    shots_table: Path
    n_frames: int
    seconds: float

    @property
    def frames_per_s(self) -> float:
        return self.n_frames / max(self.seconds, 1e-9)


def reference_captions(shot) -> tuple[str, str]:
    """EN and ZH long reference captions of one shot's content (the dense caption schema's grammar)."""
    caption = DenseCaption((shot_caption_from_spec(shot, None),))
    return render_caption(caption, "en", "long"), render_caption(caption, "zh", "long")


def ground_truth_tables(videos: list[VideoSpec]) -> tuple[pa.Table, pa.Table]:
    vrows, srows = [], []
    for v in videos:
        vrows.append({
            "video_id": v.video_id, "file": f"videos/{v.video_id}.mp4", "fps": v.fps, "width": v.width,
            "height": v.height, "n_frames": v.n_frames, "n_shots": len(v.shots),
            "duration_s": v.duration_s, "crf": v.crf,
        })
        for k, (shot, (a, b)) in enumerate(zip(v.shots, v.shot_spans(), strict=True)):
            t = v.transitions[k - 1] if k > 0 else None
            box = shot.overlay_pixels(v.height, v.width) if shot.overlay != NO_OVERLAY else None
            en, zh = reference_captions(shot)
            srows.append({
                "video_id": v.video_id, "shot_index": k, "start_frame": a, "end_frame": b,
                "transition_in": t.kind if t else "none", "transition_frames": t.n_frames if t else 0,
                "subjects": [{"subject": s.subject, "colour": s.colour, "motion": s.motion} for s in shot.subjects],
                "subject_keys": [s.subject for s in shot.subjects],
                "colours": [s.colour for s in shot.subjects],
                "motions": [s.motion for s in shot.subjects],
                "count": shot.count, "camera": shot.camera, "scene": shot.scene, "style": shot.style,
                "defects": list(shot.defects), "static_content": shot.static_content, "overlay": shot.overlay,
                "overlay_x0": box[0] if box else None, "overlay_y0": box[1] if box else None,
                "overlay_x1": box[2] if box else None, "overlay_y1": box[3] if box else None,
                "unsafe": shot.unsafe, "dup_group": shot.dup_group, "dup_variant": shot.dup_variant,
                "shot_seed": shot.seed, "caption_en": en, "caption_zh": zh,
            })
    return pa.Table.from_pylist(vrows, schema=VIDEOS), pa.Table.from_pylist(srows, schema=SHOTS)


def write_world(settings: WorldSettings, out_dir: Path, progress: bool = True) -> WorldResult:
    """Plan, render and encode the whole world into `out_dir`."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    videos = plan_world(settings)
    gop = max(1, int(round(settings.gop_s * settings.fps)))
    files = [out_dir / "videos" / f"{v.video_id}.mp4" for v in videos]
    jobs = [(v, str(f), settings.x264_preset, gop) for v, f in zip(videos, files, strict=True)]
    # Longest first so two workers finish together; results are keyed by video, order is irrelevant.
    jobs.sort(key=lambda j: -j[0].n_frames * j[0].height * j[0].width)
    bar = tqdm(total=len(jobs), desc="synthetic world", unit="video", disable=not progress)
    frames = 0
    if settings.workers > 1 and len(jobs) > 1:
        # spawn, not fork: the caller may be a threaded Dagster process. The pool is closed and joined, not
        # left to `with Pool` (terminate): terminate signals SIGTERM, which a parent that ignores SIGTERM
        # (nohup-style launchers, some CI runners) passes on to spawned workers, and the join then hangs.
        pool = mp.get_context("spawn").Pool(min(settings.workers, 2))
        try:
            for _, n in pool.imap_unordered(encode_job, jobs):
                frames += n
                bar.update(1)
        except BaseException:
            for proc in getattr(pool, "_pool", []):  # SIGKILL cannot be ignored
                proc.kill()
            pool.terminate()
            raise
        pool.close()
        pool.join()
    else:
        for job in jobs:
            frames += encode_job(job)[1]
            bar.update(1)
    bar.close()
    vt, st = ground_truth_tables(videos)
    pq.write_table(vt, out_dir / VIDEOS_TABLE)
    pq.write_table(st, out_dir / SHOTS_TABLE)
    return WorldResult(out_dir, videos, files, out_dir / VIDEOS_TABLE, out_dir / SHOTS_TABLE, frames,
                       time.perf_counter() - start)
