"""H.264 encoding of one planned video through PyAV (libx264, yuv420p), byte-deterministic.

Determinism: one encoder thread, the rate-control lookahead off, fixed CRF / preset / GOP, frame
timestamps 0..n-1 in the codec's 1/fps time base and no wall-clock metadata, so the same plan gives the same
bytes. This module imports no Dagster, so generation worker processes start fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import av

from assets.sourcing.world.plan import VideoSpec
from assets.sourcing.world.render import render_video


def encode_video(video: VideoSpec, path: Path, x264_preset: str = "veryfast", gop: int = 24) -> int:
    """Render and encode `video` to `path` (written to a temp name, then renamed); returns frames written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=video.fps)
        stream.width, stream.height = video.width, video.height
        stream.pix_fmt = "yuv420p"
        stream.options = {
            "crf": str(video.crf),
            "preset": x264_preset,
            "g": str(max(1, gop)),
            "threads": "1",
            # rc-lookahead=0: with x264's lookahead (and mbtree) on, identical input gave different
            # bytes now and then in this build (measured: 2-3 variants in 6 encodes); without it every
            # encode was identical. Costs a little compression, which the synthetic world can spare.
            "x264-params": "threads=1:rc-lookahead=0",
        }
        for frame in render_video(video):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = n  # in the codec's 1/fps time base
            container.mux(stream.encode(vf))
            n += 1
        container.mux(stream.encode(None))
    os.replace(tmp, path)
    if n != video.n_frames:
        raise RuntimeError(f"{video.video_id}: rendered {n} frames, the plan says {video.n_frames}")
    return n


def encode_job(args: tuple[VideoSpec, str, str, int]) -> tuple[str, int]:
    """Pool entry point: (video, path, preset, gop) -> (video_id, frames)."""
    video, path, preset, gop = args
    return video.video_id, encode_video(video, Path(path), preset, gop)
