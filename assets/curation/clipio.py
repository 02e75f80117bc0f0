"""Writing clips: frame-exact H.264 mp4s cut (and optionally cropped) from a source in one decode.

Clips are real files rather than time-range references because the loaders downstream (VAE
encoding, captioning) then read short, keyframe-started files with no seeking into long sources,
and because a crop must be baked in anyway. All clips of one video are written in a single
sequential decode of the source: each frame goes to the encoder of the clip whose range holds it.
Encoding is single-threaded libx264 so the same input gives the same bytes on every worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from assets.curation.cfr import cfr_frames


@dataclass(frozen=True)
class ClipRange:
    start: int  # first source frame (inclusive)
    end: int  # last source frame (exclusive)
    out: Path
    crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 in (upright) source pixels


def _even(v: int) -> int:
    return v - (v % 2)


def write_clips(
    src: str | Path,
    ranges: list[ClipRange],
    *,
    rotation: int = 0,
    crf: int = 18,
    preset: str = "veryfast",
    deterministic: bool = True,
) -> list[int]:
    """Write every range of `src` to its mp4; returns the frames written per range.

    Ranges must not overlap. Frames are upright (rotation metadata applied) and cropped to even
    sizes, as yuv420p requires.
    """
    order = sorted(range(len(ranges)), key=lambda i: ranges[i].start)
    written = [0] * len(ranges)
    if not ranges:
        return written
    outs: dict[int, tuple[av.container.OutputContainer, av.video.stream.VideoStream]] = {}
    k = 0  # position in `order` of the next range to open
    active: int | None = None
    rot = int(rotation) % 360
    with av.open(str(src)) as inp:
        st = inp.streams.video[0]
        st.thread_type = "AUTO"
        rate = Fraction(st.average_rate or st.guessed_rate or 24).limit_denominator(1001)
        last_end = max(r.end for r in ranges)
        # the same constant-rate view as the analysis pass, so source frame indices mean the same frames
        for idx, (frame, _) in enumerate(cfr_frames(inp.decode(st), st.average_rate or st.guessed_rate or 24)):
            if idx >= last_end:
                break
            if active is not None and idx >= ranges[active].end:
                _close(outs.pop(active))
                active = None
            while active is None and k < len(order) and ranges[order[k]].end <= idx:
                k += 1  # an empty or already passed range
            if active is None and k < len(order) and ranges[order[k]].start <= idx:
                active = order[k]
                k += 1
            if active is None:
                continue
            img = frame.to_ndarray(format="rgb24")  # (H, W, 3)
            if rot:
                img = np.rot90(img, k=-(rot // 90))
            r = ranges[active]
            if r.crop is not None:
                x0, y0, x1, y1 = r.crop
                img = img[y0:y1, x0:x1]
            h, w = _even(img.shape[0]), _even(img.shape[1])
            img = np.ascontiguousarray(img[:h, :w])
            if active not in outs:
                outs[active] = _open(r.out, rate, w, h, crf, preset, deterministic)
            container, vs = outs[active]
            vf = _nv12_frame(img)
            vf.pts = written[active]
            for pkt in vs.encode(vf):
                container.mux(pkt)
            written[active] += 1
    for i in list(outs):
        _close(outs.pop(i))
    return written


def _nv12_frame(rgb: np.ndarray) -> av.VideoFrame:
    """An NV12 frame built in numpy from an even-sized RGB image, row padding filled."""
    h, w = rgb.shape[:2]
    flat = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)  # planar: Y (h*w), U, V (h*w/4 each)
    n, q = h * w, (h // 2) * (w // 2)
    y = flat[:n].reshape(h, w)
    u = flat[n : n + q].reshape(h // 2, w // 2)
    v = flat[n + q : n + 2 * q].reshape(h // 2, w // 2)
    uv = np.stack([u, v], axis=-1).reshape(h // 2, w)  # (h/2, w/2, 2) -> interleaved (h/2, w)
    vf = av.VideoFrame(w, h, "nv12")
    for plane, arr in zip(vf.planes, (y, uv), strict=True):
        rows = plane.buffer_size // plane.line_size
        full = np.pad(arr, ((0, rows - arr.shape[0]), (0, plane.line_size - arr.shape[1])), mode="edge")
        plane.update(np.ascontiguousarray(full).tobytes())
    return vf


def _open(path: Path, rate: Fraction, w: int, h: int, crf: int, preset: str, deterministic: bool = True):
    container = av.open(str(path), "w", format="mp4")
    vs = container.add_stream("libx264", rate=rate)
    vs.width, vs.height, vs.pix_fmt = w, h, "nv12"
    vs.time_base = 1 / rate
    vs.codec_context.time_base = 1 / rate
    # Byte-reproducible clips (same bytes on every worker, so both executors give equal
    # manifests): one x264 thread, and no assembly. x264's SIMD kernels read uninitialised padding
    # for most frame sizes (measured: 64x48 and 96x48 clips differed between runs of the same
    # input; only no-asm made them stable). That costs encode speed; real scale can set
    # `clip_deterministic: false` and rely on content checks instead of byte equality.
    params = "threads=1:lookahead-threads=1:sliced-threads=0" + (":no-asm=1" if deterministic else "")
    vs.thread_count = 1
    vs.thread_type = "NONE"
    vs.options = {"crf": str(crf), "preset": preset, "threads": "1", "x264-params": params}
    return container, vs


def _close(pair) -> None:
    container, vs = pair
    for pkt in vs.encode():
        container.mux(pkt)
    container.close()


def probe_frames(path: str | Path) -> tuple[int, float, int, int]:
    """(frames, fps, width, height) by decoding; used by checks and tests."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        n = sum(1 for _ in c.decode(st))
        return n, float(st.average_rate or 0), st.codec_context.width, st.codec_context.height
