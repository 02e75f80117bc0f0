"""mp4 in and out for benchmark videos (PyAV, H.264, yuv420p, one encoder thread so bytes are reproducible)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_mp4(frames: np.ndarray, path: str | Path, fps: int, crf: int = 18) -> Path:
    """Write uint8 [T, H, W, 3] RGB frames (H, W even) as H.264 mp4."""
    v = np.asarray(frames, dtype=np.uint8)
    if v.ndim != 4 or v.shape[-1] != 3 or v.shape[1] % 2 or v.shape[2] % 2:
        raise ValueError(f"frames must be [T, H, W, 3] with even H and W, got {v.shape}")
    path = Path(path)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(int(fps), 1))
        stream.width, stream.height = int(v.shape[2]), int(v.shape[1])
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1
        stream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
        for f in v:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def read_mp4(path: str | Path) -> np.ndarray:
    """Decode every frame as uint8 [T, H, W, 3] RGB."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f"{path} has no decodable video frames")
    return np.stack(frames)
