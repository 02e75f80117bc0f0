"""Write generated frames as a playable H.264 mp4 with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluations.video_io import write_mp4 as _write_even_mp4


def write_mp4(frames: np.ndarray, path: str | Path, fps: float = 12.0) -> Path:
    """frames (T, H, W, 3) uint8 -> mp4 (H.264, yuv420p; odd sizes padded to even by edge repeat).

    The encoding itself is the benchmark's writer (one encoder thread, fixed options), so a seeded
    generation gives the same bytes every time.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _, h, w, _ = frames.shape
    ph, pw = h % 2, w % 2
    if ph or pw:  # yuv420p needs even sizes
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    return _write_even_mp4(frames, path, fps=max(1, int(round(fps))))
