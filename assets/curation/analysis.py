"""The single decode pass: one streaming decode per video computing every per-frame signal.

Public pipelines open a video once per detector (scene detection, blur, flow, OCR, embeddings).
Here each frame is decoded once, scaled once to the analysis resolution (by swscale inside PyAV) and
fed to every consumer: PySceneDetect's detectors through their `process_frame` API, Laplacian
sharpness, luminance, Farneback optical flow at low resolution, edge/colour persistence maps for
overlay detection, and a thumbnail reservoir for the learned scorers and dedup embeddings.

Memory stays flat in video length: frames are folded into additive per-**segment** accumulators
(a segment is a shot, or a <= max-clip-length piece of a long shot) after a short delay ring buffer,
so a cut that a detector reports a few frames late still splits the accumulators at the right frame.
Only O(#segments) state survives the pass.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detectors import AdaptiveDetector, ContentDetector, ThresholdDetector

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import this module; settings pull in Dagster via resources.params
    from assets.curation.settings import CurationSettings

ANALYSIS_VERSION = "analysis-v3"


class DecodeError(RuntimeError):
    """The container or its video stream cannot be decoded (the video is quarantined)."""


@dataclass
class SegmentStats:
    """Additive accumulators over frames [start, end) of one segment; clips sum their segments."""

    start: int
    shot_index: int
    h: int
    w: int
    end: int = 0
    n: int = 0
    sharp_sum: float = 0.0  # sum of per-frame sharpness (normalised Laplacian response)
    lapvar_sum: float = 0.0  # sum of Laplacian variance (reported, scale-dependent)
    luma_sum: float = 0.0
    flow_n: int = 0  # frames with a valid flow (not the first frame of the segment)
    flow_mag_sum: float = 0.0  # mean |flow| per frame, summed
    diff_sum: float = 0.0  # median |frame difference| per frame (flow res), summed: 0 when frozen
    jitter_n: int = 0
    jitter_sum: float = 0.0  # squared high-pass of global motion, summed
    edge_count: np.ndarray = field(default=None)  # (H, W) float32: frames where the pixel is an edge
    col_sum: np.ndarray = field(default=None)  # (H, W, 3) float32
    col_sq: np.ndarray = field(default=None)  # (H, W, 3) float32
    thumbs: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (frame, (T, T, 3) uint8 RGB)
    thumb_stride: int = 1

    def __post_init__(self) -> None:
        self.end = self.start
        if self.edge_count is None:
            self.edge_count = np.zeros((self.h, self.w), np.float32)
            self.col_sum = np.zeros((self.h, self.w, 3), np.float32)
            self.col_sq = np.zeros((self.h, self.w, 3), np.float32)


@dataclass
class VideoAnalysis:
    """Everything later stages need from a video, without decoding it again."""

    n_frames: int
    fps: float
    width: int  # source (display) size
    height: int
    analysis_w: int
    analysis_h: int
    cuts: list[int]  # frames where a new shot starts (excluding 0)
    cut_kinds: list[str]  # detector that found each cut ("content", "adaptive", "threshold")
    segments: list[SegmentStats]


@dataclass
class _FrameRec:
    idx: int
    sharp: float
    lapvar: float
    luma: float
    gflow: np.ndarray  # (2,) median flow vs previous frame (global motion), px at flow res
    flow_mag: float
    diff: float
    edges: np.ndarray  # (H, W) bool
    bgr: np.ndarray  # (H, W, 3) uint8
    thumb: np.ndarray  # (T, T, 3) uint8 RGB


def frame_bgr(frame: av.VideoFrame, aw: int, ah: int) -> np.ndarray:
    """(ah, aw, 3) uint8 BGR of a decoded frame at the analysis size.

    Measured on the world's 256x144 H.264: asking PyAV for scaled bgr24 (swscale) runs at ~550
    frames/s, taking the planar YUV and converting + area-resizing in OpenCV at ~2100 frames/s.
    Odd-sized or non-4:2:0 sources take the swscale path.
    """
    if frame.format.name in ("yuv420p", "yuvj420p") and frame.width % 2 == 0 and frame.height % 2 == 0:
        bgr = cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)  # (H, W, 3)
        if bgr.shape[1] != aw or bgr.shape[0] != ah:
            bgr = cv2.resize(bgr, (aw, ah), interpolation=cv2.INTER_AREA)
        return bgr
    return frame.to_ndarray(width=aw, height=ah, format="bgr24")


def analysis_size(width: int, height: int, target_w: int) -> tuple[int, int]:
    """Analysis size keeping the aspect ratio, even sides, never upscaling."""
    w = min(target_w, width)
    h = max(2, int(round(height * w / width / 2)) * 2)
    return max(2, w - w % 2), h


def _make_detectors(s: CurationSettings, fps: float) -> list[tuple[str, object]]:
    min_len = max(1, int(round(s.min_shot_s * fps)))
    out = []
    for name in s.detectors:
        if name == "content":
            out.append((name, ContentDetector(threshold=s.content_threshold, min_scene_len=min_len)))
        elif name == "adaptive":
            out.append(
                (
                    name,
                    AdaptiveDetector(
                        adaptive_threshold=s.adaptive_threshold,
                        min_scene_len=min_len,
                        min_content_val=s.adaptive_min_content,
                    ),
                )
            )
        elif name == "threshold":
            out.append((name, ThresholdDetector(threshold=s.fade_threshold, min_scene_len=min_len)))
    return out


_K7 = np.ones((7, 7), np.uint8)


def sharpness(gray: np.ndarray) -> tuple[float, float]:
    """(edge acuity, Laplacian variance) of a uint8 frame.

    Laplacian variance alone grows with the amount of texture and with sensor noise, so a flat sky
    looks "blurry" and a noisy dark frame looks "sharp". Edge acuity looks only at strong edges:
    the steepest gradient divided by the local contrast (max - min in a 7x7 window). A step edge
    blurred by sigma has acuity ~ 1 / (sigma * sqrt(2 pi)), whatever its contrast or how many edges
    the frame holds. The 90th percentile over edge pixels is the frame's acuity.
    """
    lap = cv2.Laplacian(gray, cv2.CV_16S, ksize=1)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)  # scale: Sobel 3x3 sums 8 px
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    grad = cv2.magnitude(gx, gy)
    contrast = (cv2.dilate(gray, _K7).astype(np.int16) - cv2.erode(gray, _K7)).astype(np.float32)
    mask = contrast >= 40.0
    if mask.sum() < 8:
        acuity = 0.0
    else:
        acuity = float(np.percentile(grad[mask] / contrast[mask], 90))
    # Rounded: OpenCV's threaded float kernels differ in the last bits between runs, and the cached
    # analysis must be byte-identical for the same video and settings.
    return round(acuity, 6), round(float(lap.var()), 3)


class _Accumulator:
    """Folds delayed frames into segments; holds the high-pass state for jitter."""

    def __init__(self, s: CurationSettings, h: int, w: int, max_seg: int):
        self.s, self.h, self.w, self.max_seg = s, h, w, max_seg
        self.segments: list[SegmentStats] = []
        self.cur: SegmentStats | None = None
        self.shot_index = -1
        self.prev_g: np.ndarray | None = None  # global motion of the previous folded frame (same segment)

    def fold(self, rec: _FrameRec, new_shot: bool, next_g: np.ndarray | None) -> None:
        cur = self.cur
        if cur is None or new_shot or (rec.idx - cur.start) >= self.max_seg:
            if new_shot or cur is None:
                self.shot_index += 1
            cur = self.cur = SegmentStats(rec.idx, self.shot_index, self.h, self.w)
            self.segments.append(cur)
            self.prev_g = None
        first = rec.idx == cur.start
        cur.end = rec.idx + 1
        cur.n += 1
        cur.sharp_sum += rec.sharp
        cur.lapvar_sum += rec.lapvar
        cur.luma_sum += rec.luma
        if not first:  # the flow into a segment's first frame crosses a cut or a split
            cur.flow_n += 1
            cur.flow_mag_sum += rec.flow_mag
            cur.diff_sum += rec.diff
            if self.prev_g is not None and next_g is not None:
                hp = rec.gflow - 0.5 * (self.prev_g + next_g)  # second difference of the camera path
                cur.jitter_n += 1
                cur.jitter_sum += float(hp @ hp)
            self.prev_g = rec.gflow
        else:
            self.prev_g = None
        cur.edge_count += rec.edges
        f = rec.bgr.astype(np.float32)
        cur.col_sum += f
        cur.col_sq += f * f
        # Thumbnail reservoir: keep every `stride`-th frame; when full, halve and double the stride.
        off = rec.idx - cur.start
        if off % cur.thumb_stride == 0:
            cur.thumbs.append((rec.idx, rec.thumb))
            if len(cur.thumbs) > self.s.thumbs_per_segment:
                cur.thumb_stride *= 2
                cur.thumbs = [t for t in cur.thumbs if (t[0] - cur.start) % cur.thumb_stride == 0]


def _add_cut(cuts: dict[int, str], frame: int, kind: str, merge: int) -> None:
    """Union of the detectors' cuts: a cut within `merge` frames of a known one is the same cut."""
    if frame <= 0 or any(abs(frame - c) <= merge for c in cuts):
        return
    cuts[frame] = kind


def analyse_video(path: str | Path, s: CurationSettings, rotation: int = 0) -> VideoAnalysis:
    """Decode `path` once and return its shots and per-segment statistics."""
    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - every container error means the same: quarantine
        raise DecodeError(f"cannot open {path}: {exc}") from exc
    with container:
        if not container.streams.video:
            raise DecodeError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or 24
        fps = float(rate)
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        if not src_w or not src_h:
            raise DecodeError(f"{path}: video stream has no size")
        rot = int(rotation) % 360
        disp_w, disp_h = (src_h, src_w) if rot in (90, 270) else (src_w, src_h)
        aw, ah = analysis_size(src_w, src_h, s.analysis_width)
        fw = fh = 0  # flow size, set from the first (upright) frame
        T = s.thumb_size

        detectors = _make_detectors(s, fps)
        delay = max([int(getattr(d, "event_buffer_length", 0)) for _, d in detectors] + [0]) + 2
        if any(n == "threshold" for n, _ in detectors):
            delay = max(delay, int(math.ceil(s.fade_lookback_s * fps)) + 2)
        max_seg = max(1, int(math.floor(s.max_clip_s * fps + 1e-6)))

        found: list[tuple[int, str]] = []
        cut_set: dict[int, str] = {}
        ring: deque[_FrameRec] = deque()
        acc: _Accumulator | None = None
        prev_small: np.ndarray | None = None
        idx = 0
        last_folded = -1

        def fold_oldest(next_g: np.ndarray | None) -> None:
            nonlocal last_folded
            rec = ring.popleft()
            # A cut reported too late for the buffer is clamped to the oldest unfolded frame.
            new_shot = any(last_folded < c <= rec.idx for c in cut_set) and rec.idx > 0
            acc.fold(rec, new_shot, next_g)
            last_folded = rec.idx

        try:
            for frame in container.decode(stream):
                bgr = frame_bgr(frame, aw, ah)  # (ah, aw, 3)
                if rot:
                    bgr = np.ascontiguousarray(np.rot90(bgr, k=-(rot // 90)))
                if acc is None:
                    acc = _Accumulator(s, bgr.shape[0], bgr.shape[1], max_seg)
                    fw = min(s.flow_width, bgr.shape[1])
                    fh = max(8, int(round(bgr.shape[0] * fw / bgr.shape[1])))
                tc = FrameTimecode(idx, fps=fps)
                for name, det in detectors:
                    for c in det.process_frame(tc, bgr):
                        found.append((c.frame_num, name))
                while found:
                    _add_cut(cut_set, *found.pop(), s.merge_cut_frames)
                gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
                sharp, lapvar = sharpness(gray)
                small = cv2.resize(gray, (fw, fh), interpolation=cv2.INTER_AREA)
                if prev_small is not None and prev_small.shape == small.shape:
                    flow = cv2.calcOpticalFlowFarneback(prev_small, small, None, 0.5, 2, 9, 2, 5, 1.1, 0)
                    # flow: (fh, fw, 2) per-pixel displacement; the median is the camera's motion.
                    g = np.round(np.median(flow.reshape(-1, 2), axis=0).astype(np.float64), 5)
                    mag = round(float(np.sqrt((flow * flow).sum(-1)).mean()), 5)
                    # Trimmed mean of |frame difference| (lowest 90 %), so a scrolling ticker or a
                    # small moving subject does not count; frozen content gives ~0, live sensor
                    # noise and any camera or scene motion do not.
                    ad = cv2.absdiff(prev_small, small).reshape(-1)
                    k = int(ad.size * 0.9)
                    diff = round(float(np.partition(ad, k)[:k].mean()), 5)
                else:
                    g, mag, diff = np.zeros(2), 0.0, 0.0
                prev_small = small
                edges = cv2.Canny(gray, s.edge_low, s.edge_high) > 0
                thumb = cv2.cvtColor(cv2.resize(bgr, (T, T), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
                ring.append(_FrameRec(idx, sharp, lapvar, float(gray.mean()), g, mag, diff, edges, bgr, thumb))
                if len(ring) > delay:
                    fold_oldest(ring[1].gflow)
                idx += 1
        except av.error.FFmpegError as exc:
            if idx == 0:
                raise DecodeError(f"{path}: no decodable frame ({exc})") from exc
            # A truncated tail: keep what decoded (the frame count says how much).
        if idx == 0 or acc is None:
            raise DecodeError(f"{path}: no decodable frame")
        end_tc = FrameTimecode(idx - 1, fps=fps)
        for name, det in detectors:
            for c in det.post_process(end_tc):
                found.append((c.frame_num, name))
        while found:
            _add_cut(cut_set, *found.pop(), s.merge_cut_frames)
        cut_set = {c: k for c, k in cut_set.items() if c < idx}
        while ring:
            fold_oldest(ring[1].gflow if len(ring) > 1 else None)

    # The cuts actually applied: a shot index changes exactly where a segment starts a new shot.
    cuts, kinds = [], []
    prev_shot = 0
    for seg in acc.segments:
        if seg.shot_index != prev_shot:
            cuts.append(seg.start)
            nearest = min(cut_set, key=lambda c: abs(c - seg.start)) if cut_set else seg.start
            kinds.append(cut_set.get(nearest, "content"))
            prev_shot = seg.shot_index
    return VideoAnalysis(
        n_frames=idx,
        fps=fps,
        width=disp_w,
        height=disp_h,
        analysis_w=acc.w,
        analysis_h=acc.h,
        cuts=cuts,
        cut_kinds=kinds,
        segments=acc.segments,
    )


def decode_only(path: str | Path, width: int | None = None) -> int:
    """Bare decode pass (the throughput baseline): decode and scale, compute nothing. Returns frames."""
    n = 0
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        aw, ah = analysis_size(st.codec_context.width, st.codec_context.height, width or st.codec_context.width)
        for frame in c.decode(st):
            frame_bgr(frame, aw, ah)
            n += 1
    return n
