"""Video in and out for the encoding stage: decode clips with PyAV, resample, resize, write previews."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import torch


def decode_frames(path: str | Path, max_frames: int = 0, fps: float = 0.0) -> tuple[np.ndarray, float]:
    """Decode an mp4 to (T, H, W, 3) uint8 RGB and its source fps.

    fps > 0 resamples by picking, for each output time k / fps, the latest source frame at or before
    it (no interpolation, so every frame is a real frame). max_frames > 0 stops early.
    """
    frames: list[np.ndarray] = []
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        src_fps = float(st.average_rate or st.guessed_rate or 24)
        step = src_fps / fps if fps > 0 else 1.0
        next_pick = 0.0
        for idx, frame in enumerate(c.decode(st)):
            if idx + 1e-6 < next_pick:
                continue
            frames.append(frame.to_ndarray(format="rgb24"))
            next_pick += step
            if max_frames and len(frames) >= max_frames:
                break
    if not frames:
        raise ValueError(f"{path}: no decodable video frames")
    return np.stack(frames), src_fps


def source_index_to_output(index: int, src_fps: float, fps: float) -> int:
    """Map a source frame index (e.g. a shot boundary) to the resampled frame index."""
    if fps <= 0:
        return index
    step = src_fps / fps
    return int(np.ceil(index / step - 1e-6))


def resize_short_side(frames: np.ndarray, short: int, multiple: int) -> np.ndarray:
    """Resize (T, H, W, 3) so the short side is `short`, then centre-crop both sides to `multiple`."""
    t, h, w, _ = frames.shape
    scale = short / min(h, w)
    nh, nw = max(multiple, round(h * scale)), max(multiple, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.stack([cv2.resize(f, (nw, nh), interpolation=interp) for f in frames]) if (nh, nw) != (h, w) else frames
    ch, cw = nh - nh % multiple, nw - nw % multiple
    top, left = (nh - ch) // 2, (nw - cw) // 2
    return np.ascontiguousarray(out[:, top : top + ch, left : left + cw])


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float in [-1, 1]."""
    return torch.from_numpy(frames).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3, T, H, W) in [-1, 1] -> (T, H, W, 3) uint8."""
    return ((x.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0).cpu().numpy()


def write_side_by_side(original: np.ndarray, recon: np.ndarray, path: str | Path, fps: float = 12.0) -> Path:
    """An mp4 with the original on the left and the reconstruction on the right (H.264, yuv420p)."""
    both = np.concatenate([original, recon], axis=2)  # (T, H, 2W, 3)
    t, h, w, _ = both.shape
    h2, w2 = h - h % 2, w - w % 2
    path = Path(path)
    with av.open(str(path), mode="w") as c:
        st = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        st.width, st.height, st.pix_fmt = w2, h2, "yuv420p"
        st.options = {"crf": "18", "preset": "veryfast"}
        for f in both:
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:h2, :w2]), format="rgb24")):
                c.mux(pkt)
        for pkt in st.encode():
            c.mux(pkt)
    return path
