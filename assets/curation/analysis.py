"""The single decode pass: one streaming decode per video computing every per-frame signal.

Public pipelines open a video once per detector (scene detection, blur, flow, OCR, embeddings).
Here each frame is decoded once, scaled once to the analysis resolution (by swscale inside PyAV) and
fed to every consumer: PySceneDetect's detectors through their `process_frame` API,
per-cell edge acuity at two resolutions (blur), per-cell peak luma (low light), per-cell frame
change and Farneback optical flow at low resolution (static, jitter, motion), edge persistence maps
for overlay detection, and a thumbnail reservoir for the learned scorers and dedup embeddings.

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

from assets.curation.cfr import cfr_frames

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import this module; settings pull in Dagster via resources.params
    from assets.curation.settings import CurationSettings

ANALYSIS_VERSION = "analysis-v5"  # v5: frames read through the constant-frame-rate view (VFR sources)


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
    thumbs: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (frame, (T, T, 3) uint8 RGB)
    thumb_stride: int = 1
    # Per-cell signals on a (G, G) grid over the frame, so that a shot's scores can leave out the
    # cells an overlay covers (a sharp burnt-in subtitle must not make a blurred shot look sharp, a
    # scrolling ticker must not make a frozen shot look alive, white text must not light a dark one).
    grid: int = 8
    cell_acuity: np.ndarray = field(default=None)  # (G, G) sum over frames of the cell's max edge acuity
    cell_acuity_half: np.ndarray = field(default=None)  # (G, G) the same, measured at half resolution
    cell_peak: np.ndarray = field(default=None)  # (G, G) sum over frames of the cell's max luma
    cell_change: np.ndarray = field(default=None)  # (G, G) flow frames in which the cell changes

    def __post_init__(self) -> None:
        self.end = self.start
        if self.edge_count is None:
            self.edge_count = np.zeros((self.h, self.w), np.float32)
        if self.cell_acuity is None:
            g = self.grid
            self.cell_acuity = np.zeros((g, g), np.float64)
            self.cell_acuity_half = np.zeros((g, g), np.float64)
            self.cell_peak = np.zeros((g, g), np.float64)
            self.cell_change = np.zeros((g, g), np.float64)


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
    acuity: np.ndarray  # (G, G) max edge acuity per cell
    acuity_half: np.ndarray  # (G, G) the same at half resolution
    peak: np.ndarray  # (G, G) max luma per cell
    change: np.ndarray  # (G, G) 1 where the cell changed since the previous frame, else 0


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


def cell_edges(n: int, g: int) -> np.ndarray:
    """Start offsets of `g` near-equal cells along a side of `n` pixels (for np.*.reduceat)."""
    return np.linspace(0, n, g + 1).astype(np.int64)[:-1]


def cell_max(a: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(G, G) maximum of `a` (H, W) over each grid cell."""
    return np.maximum.reduceat(np.maximum.reduceat(a, ys, axis=0), xs, axis=1)


def _hist_quantile(img: np.ndarray, q: float) -> float:
    """The q-quantile of a uint8 image (the smallest level with a cumulative share >= q)."""
    hist = cv2.calcHist([img], [0], None, [256], [0, 256]).ravel()  # (256,)
    return float(np.searchsorted(np.cumsum(hist), q * img.size))


class AcuityMeter:
    """Per-cell edge acuity of a uint8 luma frame at full and at half resolution.

    Acuity of a pixel = gradient magnitude / local contrast (max - min in a `window` square): a step
    edge blurred by sigma px scores ~ 1 / (sigma * sqrt(2 pi)) whatever its contrast, a crisp one
    ~0.5. Only edges of real contrast count: at least `contrast` x the frame's 90th luma percentile
    (a dark frame is judged on its own, dimmer edges), clamped to [8, 40] grey levels, and at least
    `noise_k` x the frame's noise sigma (sensor noise in a dark frame must not pose as a crisp edge).

    Why two resolutions: the acuity of the sharpest edge alone still depends on the scene (a sky
    with soft clouds has no crisp edge; a blurred window grid or striped emblem keeps a high
    gradient / contrast ratio because it is periodic). Halving the resolution halves a blurred
    edge's sigma in pixels, so its acuity rises ~2x, while a crisp edge, already as steep as pixels
    allow, barely changes. The shot's blur score is the ratio of the two (`clips.segment_scores`):
    the scene normalises itself out. The window is wider than a blurred ramp (11 px at analysis width
    192, for sigma up to ~3 px), otherwise a blurred edge's contrast is underestimated.
    """

    def __init__(self, window: int, contrast: float, noise_k: float):
        half = max(3, (window // 2) | 1)  # the same footprint at half resolution, odd
        self.kernel = np.ones((window, window), np.uint8)
        self.kernel_half = np.ones((half, half), np.uint8)
        self.contrast, self.noise_k = contrast, noise_k

    @staticmethod
    def _acuity(gray: np.ndarray, kernel: np.ndarray, thr: float) -> np.ndarray:
        # Integer Sobel (exact) and NumPy arithmetic: OpenCV's threaded float kernels differ in the
        # last bits with the thread count, which flips cells at the contrast threshold, and the
        # analysis must be byte-identical on the process pool (1 OpenCV thread) and on Ray.
        gx = cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3).astype(np.int32)
        gy = cv2.Sobel(gray, cv2.CV_16S, 0, 1, ksize=3).astype(np.int32)
        grad = np.sqrt((gx * gx + gy * gy).astype(np.float32)) * np.float32(0.125)  # Sobel 3x3 sums 8 px
        contrast = cv2.subtract(cv2.dilate(gray, kernel), cv2.erode(gray, kernel)).astype(np.float32)
        return np.where(contrast >= thr, grad / np.maximum(contrast, np.float32(1.0)), np.float32(0.0))

    def __call__(self, gray: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """((G, G) max acuity per cell, (G, G) the same at half resolution, Laplacian variance)."""
        lap = cv2.Laplacian(gray, cv2.CV_16S, ksize=1)
        # Percentiles from 256-bin histograms (cv2.calcHist), not sorts: a quarter of the cost.
        p90 = _hist_quantile(gray, 0.9)
        # Noise sigma from the median |Laplacian| (robust: edges are a minority of pixels); the
        # 4-neighbour Laplacian of white noise has std sqrt(20) sigma. |Laplacian| saturates at 255,
        # far above any median of interest.
        alap = cv2.convertScaleAbs(lap)  # (H, W) uint8 = min(255, |lap|)
        sigma = _hist_quantile(alap, 0.5) / 0.6745 / math.sqrt(20.0)
        thr = max(min(max(self.contrast * p90, 8.0), 40.0), self.noise_k * sigma)
        full = cell_max(self._acuity(gray, self.kernel, thr), ys, xs)
        h, w = gray.shape
        small = cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        half = cell_max(self._acuity(small, self.kernel_half, thr), ys // 2, xs // 2)
        # Rounded: OpenCV's threaded float kernels differ in the last bits between runs, and the
        # cached analysis must be byte-identical for the same video and settings.
        return (np.round(full.astype(np.float64), 5), np.round(half.astype(np.float64), 5), round(float(lap.var()), 3))


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
            cur = self.cur = SegmentStats(rec.idx, self.shot_index, self.h, self.w, grid=self.s.cell_grid)
            self.segments.append(cur)
            self.prev_g = None
        first = rec.idx == cur.start
        cur.end = rec.idx + 1
        cur.n += 1
        cur.sharp_sum += rec.sharp
        cur.cell_acuity += rec.acuity
        cur.cell_acuity_half += rec.acuity_half
        cur.cell_peak += rec.peak
        cur.lapvar_sum += rec.lapvar
        cur.luma_sum += rec.luma
        if not first:  # the flow into a segment's first frame crosses a cut or a split
            cur.flow_n += 1
            cur.flow_mag_sum += rec.flow_mag
            cur.diff_sum += rec.diff
            cur.cell_change += rec.change
            if self.prev_g is not None and next_g is not None:
                hp = rec.gflow - 0.5 * (self.prev_g + next_g)  # second difference of the camera path
                cur.jitter_n += 1
                cur.jitter_sum += float(hp @ hp)
            self.prev_g = rec.gflow
        else:
            self.prev_g = None
        cur.edge_count += rec.edges
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
        G = s.cell_grid
        meter = AcuityMeter(s.acuity_window, s.acuity_contrast, s.acuity_noise_k)
        ys = xs = np.zeros(0, np.int64)

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
            for frame, fresh in cfr_frames(container.decode(stream), stream.average_rate or fps):  # VFR -> constant rate (cfr.py)
                bgr = frame_bgr(frame, aw, ah)  # (ah, aw, 3)
                if rot:
                    bgr = np.ascontiguousarray(np.rot90(bgr, k=-(rot // 90)))
                if acc is None:
                    acc = _Accumulator(s, bgr.shape[0], bgr.shape[1], max_seg)
                    fw = min(s.flow_width, bgr.shape[1])
                    fh = max(8, int(round(bgr.shape[0] * fw / bgr.shape[1])))
                    ys, xs = cell_edges(bgr.shape[0], G), cell_edges(bgr.shape[1], G)
                    fys, fxs = cell_edges(fh, G), cell_edges(fw, G)
                    cell_area = np.outer(np.diff(np.append(fys, fh)), np.diff(np.append(fxs, fw)))  # (G, G) px
                tc = FrameTimecode(idx, fps=fps)
                # a repeated slot (VFR resampling) is not shown to the shot detectors: zero change, then
                # a jump, is what the adaptive detector reads as a cut
                for name, det in detectors if fresh else ():
                    for c in det.process_frame(tc, bgr):
                        found.append((c.frame_num, name))
                while found:
                    _add_cut(cut_set, *found.pop(), s.merge_cut_frames)
                gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
                acuity, acuity_half, lapvar = meter(gray, ys, xs)
                # Frame sharpness (reported): the median cell's acuity; decisions use the cells.
                sharp = float(np.median(acuity))
                peak = cell_max(gray, ys, xs).astype(np.float64)  # (G, G)
                small = cv2.resize(gray, (fw, fh), interpolation=cv2.INTER_AREA)
                if prev_small is not None and prev_small.shape == small.shape:
                    flow = cv2.calcOpticalFlowFarneback(prev_small, small, None, 0.5, 2, 9, 2, 5, 1.1, 0)
                    # flow: (fh, fw, 2) per-pixel displacement; the median is the camera's motion.
                    g = np.round(np.median(flow.reshape(-1, 2), axis=0).astype(np.float64), 5)
                    mag = round(float(np.sqrt((flow * flow).sum(-1)).mean()), 5)
                    ad = cv2.absdiff(prev_small, small)  # (fh, fw) uint8
                    # Per cell: did it change (mean |frame difference| at flow res >= change_level)?
                    # Frozen content leaves every cell unchanged, a small moving subject changes its
                    # own cells (a frame-wide mean would average it away), the cells of a scrolling
                    # ticker are left out later. Counting frames rather than summing differences
                    # keeps the few blended frames of a fade or dissolve, which fall inside the
                    # shot when the cut is detected mid-transition, from posing as motion.
                    # Integer sums per cell (exact, thread-count independent), then the mean test.
                    cell_sum = np.add.reduceat(np.add.reduceat(ad.astype(np.int32), fys, axis=0), fxs, axis=1)
                    change = (cell_sum >= s.change_level * cell_area).astype(np.float64)  # (G, G)
                    k = int(ad.size * 0.9)
                    diff = round(float(np.partition(ad.reshape(-1), k)[:k].mean()), 5)
                else:
                    g, mag, diff, change = np.zeros(2), 0.0, 0.0, np.zeros((G, G))
                prev_small = small
                edges = cv2.Canny(gray, s.edge_low, s.edge_high) > 0
                thumb = cv2.cvtColor(cv2.resize(bgr, (T, T), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
                ring.append(
                    _FrameRec(idx, sharp, lapvar, float(gray.mean()), g, mag, diff, edges, bgr, thumb, acuity, acuity_half, peak, change)
                )
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
