"""Shot frames for the captioner: decode a clip once, sample frames evenly inside each shot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import cv2
import numpy as np
import torch


def sample_indices(start: int, end: int, count: int) -> np.ndarray:
    """`count` frame indices spread evenly over [start, end) (repeats when the shot is shorter)."""
    length = max(end - start, 1)
    return start + np.minimum(((np.arange(count) + 0.5) * length / count).astype(np.int64), length - 1)


def to_tensor(frames: np.ndarray, size: int | tuple[int, int]) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, h, w) float in [0, 1]. `size` S: S x S (aspect squashed); (h, w): the
    captioner's native-aspect view, which its subject detector reads (a subject stays round and bigger)."""
    h, w = (size, size) if isinstance(size, int) else size
    out = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])  # (T, h, w, 3)
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


def decode_clip(path: str | Path) -> np.ndarray:
    """All frames of a clip as (N, H, W, 3) uint8 RGB (clips are <= 12 s, small at these scales)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "NONE"  # one thread: byte-identical decodes
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    if not frames:
        raise ValueError(f"clip {path} has no decodable frames")
    return np.stack(frames)


def shot_frames(path: str | Path, ranges: Sequence[tuple[int, int]], count: int,
                size: int | tuple[int, int]) -> torch.Tensor:
    """(n_shots, count, 3, h, w) for the given clip-local [start, end) shot ranges (`size`: see `to_tensor`)."""
    video = decode_clip(path)
    n = video.shape[0]
    out = []
    for a, b in ranges:
        a, b = min(a, n - 1), min(max(b, a + 1), n)
        out.append(to_tensor(video[sample_indices(a, b, count)], size))
    return torch.stack(out)
