"""Write generated frames as a playable H.264 mp4 with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_mp4(frames: np.ndarray, path: str | Path, fps: float = 12.0) -> Path:
    """frames (T, H, W, 3) uint8 -> mp4 (H.264, yuv420p; odd sizes padded to even by edge repeat)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t, h, w, _ = frames.shape
    ph, pw = h % 2, w % 2
    if ph or pw:
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
