"""Synthetic clips for encoding tests: moving coloured squares written as real H.264 mp4s."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa

from resources.store import ArtifactStore


def moving_square(n_frames: int, h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 255, size=3)
    fg = rng.integers(0, 255, size=3)
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    size = max(4, h // 4)
    for t in range(n_frames):
        f = np.empty((h, w, 3), np.uint8)
        f[:] = bg
        y = (t * 2 + seed * 3) % (h - size)
        x = (t * 3 + seed * 5) % (w - size)
        f[y : y + size, x : x + size] = fg
        frames[t] = f
    return frames


def write_mp4(frames: np.ndarray, path: Path, fps: int = 12) -> Path:
    t, h, w, _ = frames.shape
    with av.open(str(path), mode="w") as c:
        st = c.add_stream("libx264", rate=Fraction(fps))
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"crf": "12", "preset": "veryfast"}
        for f in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in st.encode():
            c.mux(pkt)
    return path


def clip_table(store: ArtifactStore, tmp: Path, n: int = 3, n_frames: int = 14, h: int = 48, w: int = 80, seed: int = 0) -> pa.Table:
    """A training_dataset-like table (captions included) of n stored clips."""
    rows = []
    for i in range(n):
        frames = moving_square(n_frames + i, h, w, seed + i)
        ref = store.put_file(write_mp4(frames, tmp / f"clip{i}.mp4"), namespace="curation/clips", suffix=".mp4")
        rows.append({
            "clip_id": f"clip{i:02d}", "path": ref.path, "sha256": ref.sha256, "n_frames": n_frames + i,
            "fps": 12.0, "width": w, "height": h, "shot_boundaries": [6] if i == 0 else [],
            "n_shots": 2 if i == 0 else 1,
            "caption_long_en": f"a square {i} moves right", "caption_short_en": f"moves right {i}",
            "caption_long_zh": f"方块{i}向右移动", "caption_short_zh": "向右移动",
            "sampling_weight": float(1 + i), "split": "train" if i else "val",
        })
    return pa.Table.from_pylist(rows)


class ByteTextEncoder:
    """Test double for the text encoder interface: deterministic embedding of UTF-8 bytes."""

    def __init__(self, dim: int = 8) -> None:
        import torch

        g = torch.Generator().manual_seed(0)
        self.table = torch.randn(256, dim, generator=g)
        self.calls = 0

    def encode(self, texts, max_tokens):
        import torch

        self.calls += 1
        ids = [list(t.encode())[:max_tokens] for t in texts]
        length = max(1, max(len(x) for x in ids))
        hidden = torch.zeros(len(texts), length, self.table.shape[1])
        mask = torch.zeros(len(texts), length, dtype=torch.long)
        for i, x in enumerate(ids):
            if x:
                hidden[i, : len(x)] = self.table[torch.tensor(x)]
                mask[i, : len(x)] = 1
        return hidden, mask
