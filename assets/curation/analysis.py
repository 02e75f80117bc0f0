"""The single decode pass: one streaming decode per video computing every per-frame signal.

Public pipelines open a video once per detector (scene detection, blur, flow, OCR, embeddings).
Here each frame is decoded once, scaled once to the analysis resolution (by swscale inside PyAV) and
fed to every consumer: PySceneDetect's detectors through their `process_frame` API (content and
adaptive share one HSV frame score, see `SharedContentScore`), per-cell counts of crisp edge pixels
(blur), per-cell peak luma (low light), per-cell gain-compensated frame change,
beyond sensor noise or temporally coherent (static),
DIS optical flow at low resolution (camera motion -> jitter, motion level), edge persistence
maps for overlay detection, and a thumbnail reservoir for the learned scorers and dedup
embeddings (thumbnails are made only for the frames the reservoir keeps). The appearance signals
(crisp edges, peak luma, Canny edges) are per-shot averages: measured on every `appearance_stride`-th
frame and held in between (`_Accumulator`). `timings` measures the pass per component (`PassClock`;
benchmarks/curation_throughput.py reports it).

Memory stays flat in video length: frames are folded into additive per-**segment** accumulators
(a segment is a shot, or a <= max-clip-length piece of a long shot) after a short delay ring buffer,
so a cut that a detector reports a few frames late still splits the accumulators at the right frame.
Only O(#segments) state survives the pass.
"""

from __future__ import annotations

import math
import time
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

ANALYSIS_VERSION = "analysis-v9"  # v9: appearance signals on every 2nd frame, held (v8: cell change = beyond noise or temporally coherent)


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
    sharp_sum: float = 0.0  # sum of per-frame crisp-edge fraction (reported)
    lapvar_sum: float = 0.0  # sum of Laplacian variance (reported, scale-dependent)
    luma_sum: float = 0.0
    flow_n: int = 0  # frames with a valid flow (not the first frame of the segment)
    flow_mag_sum: float = 0.0  # mean |flow| per frame, summed
    mag_n: int = 0  # frames whose Farneback flow was measured
    diff_sum: float = 0.0  # median |frame difference| per frame (flow res), summed: 0 when frozen
    jitter_n: int = 0
    jitter_sum: float = 0.0  # squared high-pass of global motion, summed
    edge_count: np.ndarray = field(default=None)  # (H, W) float32: frames where the pixel is an edge
    thumbs: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (frame, (T, T, 3) uint8 RGB); the frame while open
    thumb_stride: int = 1
    # Per-cell signals on a (G, G) grid over the frame, so that a shot's scores can leave out the
    # cells an overlay covers (a sharp burnt-in subtitle must not make a blurred shot look sharp, a
    # scrolling ticker must not make a frozen shot look alive, white text must not light a dark one).
    grid: int = 8
    cell_crisp: np.ndarray = field(default=None)  # (G, G) crisp edge pixels, summed over frames
    cell_edge: np.ndarray = field(default=None)  # (G, G) edge pixels (real contrast), summed over frames
    cell_peak: np.ndarray = field(default=None)  # (G, G) sum over frames of the cell's max luma
    cell_change: np.ndarray = field(default=None)  # (G, G) flow frames in which the cell moves (beyond noise or coherently)
    # The frames within `blur_cut_margin_s` of a detected cut, counted apart as well (a subset of the
    # above): a soft transition's cut is found anywhere inside it, so a segment may start or end with
    # a few frames of its neighbour (a sharp one's edges would make a blurred shot look sharp).
    # `clips.segment_scores` judges blur on the other frames, or on all when every frame is near a cut.
    cut_n: int = 0
    cut_crisp: np.ndarray = field(default=None)  # (G, G) crisp edge pixels of the near-cut frames
    cut_edge: np.ndarray = field(default=None)  # (G, G) edge pixels of the near-cut frames

    def __post_init__(self) -> None:
        self.end = self.start
        if self.edge_count is None:
            self.edge_count = np.zeros((self.h, self.w), np.float32)
        if self.cell_crisp is None:
            g = self.grid
            self.cell_crisp = np.zeros((g, g), np.float64)
            self.cell_edge = np.zeros((g, g), np.float64)
            self.cell_peak = np.zeros((g, g), np.float64)
            self.cell_change = np.zeros((g, g), np.float64)
        if self.cut_crisp is None:
            self.cut_crisp = np.zeros_like(self.cell_crisp)
            self.cut_edge = np.zeros_like(self.cell_edge)


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
    luma: float
    gflow: np.ndarray  # (2,) median flow vs previous frame (global motion), px at flow res
    flow_mag: float | None  # mean |Farneback flow|, None when not measured
    diff: float
    gray: np.ndarray  # (H, W) uint8, the source of the appearance signals (measured at fold time)
    bgr: np.ndarray  # (H, W, 3) uint8, the thumbnail's source (made only if the reservoir keeps it)
    change: np.ndarray  # (G, G) uint8 per cell: bit 0 changed beyond noise, bit 1 changed coherently (see the pass)


@dataclass
class _Appearance:
    """The appearance signals of one measured frame (what the per-shot averages sum)."""

    sharp: float  # the frame's crisp fraction (reported)
    lapvar: float
    crisp: np.ndarray  # (G, G) crisp edge pixels per cell
    edge: np.ndarray  # (G, G) edge pixels per cell
    peak: np.ndarray  # (G, G) max luma per cell
    edges: np.ndarray  # (H, W) uint8 Canny map, 1 on edges, else 0


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


def _make_detectors(s: CurationSettings, fps: float, shared: SharedContentScore) -> list[tuple[str, object]]:
    min_len = max(1, int(round(s.min_shot_s * fps)))
    out = []
    for name in s.detectors:
        if name == "content":
            out.append((name, _SharedContentDetector(shared, threshold=s.content_threshold, min_scene_len=min_len)))
        elif name == "adaptive":
            out.append(
                (
                    name,
                    _SharedAdaptiveDetector(
                        shared,
                        adaptive_threshold=s.adaptive_threshold,
                        min_scene_len=min_len,
                        min_content_val=s.adaptive_min_content,
                    ),
                )
            )
        elif name == "threshold":
            out.append((name, ThresholdDetector(threshold=s.fade_threshold, min_scene_len=min_len)))
    return out


class CellGrid:
    """A `g` x `g` grid of near-equal cells over an (h, w) frame, its index arrays built once."""

    def __init__(self, h: int, w: int, g: int):
        self.ys, self.xs = cell_edges(h, g), cell_edges(w, g)
        self.corners = np.ix_(np.append(self.ys, h), np.append(self.xs, w))  # integral-image rows / cols


def column_median(v: np.ndarray) -> np.ndarray:
    """np.median(v, axis=0), bit for bit, without its generic overhead (~2.5x faster on 576 x 2)."""
    n, k = v.shape[0], v.shape[0] // 2
    if n % 2:
        return np.partition(v, k, axis=0)[k]
    return np.partition(v, (k - 1, k), axis=0)[k - 1 : k + 1].mean(axis=0)


def cell_edges(n: int, g: int) -> np.ndarray:
    """Start offsets of `g` near-equal cells along a side of `n` pixels (for np.*.reduceat)."""
    return np.linspace(0, n, g + 1).astype(np.int64)[:-1]


def cell_max(a: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(G, G) maximum of `a` (H, W) over each grid cell (along rows first: ~2x faster than columns
    first on a (108, 192) frame, and a maximum does not depend on the order)."""
    return np.maximum.reduceat(np.maximum.reduceat(a, xs, axis=1), ys, axis=0)


def _hist_quantile(img: np.ndarray, q: float) -> float:
    """The q-quantile of a uint8 image (the smallest level with a cumulative share >= q)."""
    hist = cv2.calcHist([img], [0], None, [256], [0, 256]).ravel()  # (256,)
    return float(np.searchsorted(np.cumsum(hist), q * img.size))


class CrispEdgeMeter:
    """Per-cell counts of edge pixels and of crisp edge pixels in a uint8 luma frame (the blur signal).

    Acuity of a pixel = gradient magnitude / local contrast (max - min in a `window` square). A step
    edge as sharp as the pixels allow scores ~0.5 whatever its contrast; a Gaussian blur of sigma px
    caps it near 1 / (sigma * sqrt(2 pi)) (the world's defocus, sigma 2.4 px at 192 px width: ~0.24
    with the window's contrast underestimate). A pixel is an *edge* when its local contrast is real:
    at least `min_contrast` grey levels and `noise_k` x the frame's noise sigma (sensor noise in a
    dark frame must not pose as an edge); it is *crisp* when its acuity is at least `crisp`.

    Why a count rather than the sharpest edge: a defocused shot has no crisp edge pixel at all,
    while a sharp one has some (subject outlines, drawn shapes) even when most of its picture is
    soft (clouds, a neon glow, a pastel wash). The shot's score (`blur_score`) is the fraction of its
    edge pixels that are crisp, over the cells the crop keeps; a maximum over cells, as before, let
    one noisy pixel or a periodic window grid decide (world seed 7: 3 false, 3 missed of 13).
    The contrast threshold no longer follows the frame's brightness (0.25 x p90): that dropped the
    low-contrast outlines of bright pastel / black-and-white shots and left only soft clouds.
    Integer arithmetic throughout (Sobel, dilate/erode, squared test): exact, so the analysis is
    byte-identical whatever OpenCV's thread count (process pool vs Ray).
    """

    def __init__(self, window: int, crisp: float, noise_k: float, min_contrast: float):
        self.kernel = np.ones((window, window), np.uint8)
        # acuity >= c  <=>  (gx^2 + gy^2) / 64 >= c^2 contrast^2  (Sobel 3x3 sums 8 px). The left side
        # is an integer, so the test is exactly `gx^2 + gy^2 >= ceil(64 c^2 contrast^2)`: one lookup
        # per contrast level (0-255) instead of a float product per pixel.
        levels = np.arange(256, dtype=np.float64)
        self.need = np.ceil(64.0 * crisp * crisp * levels * levels).astype(np.int32)  # (256,) for cv2.LUT
        self.noise_k, self.min_contrast = noise_k, min_contrast
        # The largest median |Laplacian| at which the noise term stays under the contrast floor: a
        # frame whose median is at most this (nearly every frame) needs one count, not a histogram.
        self.quiet = max([q for q in range(256) if noise_k * (q / 0.6745 / math.sqrt(20.0)) <= min_contrast], default=-1)

    def __call__(self, gray: np.ndarray, cells: CellGrid) -> tuple[np.ndarray, np.ndarray, float]:
        """((G, G) crisp edge pixels, (G, G) edge pixels, Laplacian variance) of one frame."""
        lap = cv2.Laplacian(gray, cv2.CV_16S, ksize=1)
        # Noise sigma from the median |Laplacian| (robust: edges are a minority of pixels); the
        # 4-neighbour Laplacian of white noise has std sqrt(20) sigma. |Laplacian| saturates at 255,
        # far above any median of interest. Percentiles from 256-bin histograms, not sorts.
        alap = cv2.convertScaleAbs(lap)
        if self.quiet >= 0 and 2 * cv2.countNonZero(cv2.compare(alap, self.quiet, cv2.CMP_LE)) >= alap.size:
            thr = int(math.ceil(self.min_contrast))  # median <= quiet: max(...) below is the floor, exactly
        else:
            sigma = _hist_quantile(alap, 0.5) / 0.6745 / math.sqrt(20.0)
            thr = int(math.ceil(max(self.min_contrast, self.noise_k * sigma)))
        gx = cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3).astype(np.int32)
        gy = cv2.Sobel(gray, cv2.CV_16S, 0, 1, ksize=3).astype(np.int32)
        contrast = cv2.subtract(cv2.dilate(gray, self.kernel), cv2.erode(gray, self.kernel))  # (H, W) uint8
        edge = contrast >= thr
        crisp = edge & (gx * gx + gy * gy >= cv2.LUT(contrast, self.need))  # (H, W) int32 test, exact
        # lap.var() from exact integer moments (float sums of integers < 2^53 are exact in any
        # order, so the result does not depend on the thread count)
        n = lap.size
        s1, s2 = cv2.sumElems(lap)[0], cv2.norm(lap, cv2.NORM_L2SQR)
        lapvar = (s2 - s1 * s1 / n) / n
        return cell_count(crisp, cells), cell_count(edge, cells), round(float(lapvar), 3)


def cell_count(mask: np.ndarray, cells: CellGrid) -> np.ndarray:
    """(G, G) int32 number of True pixels of `mask` (H, W) in each grid cell (exact: an integral
    image read at the cell corners, ~4x faster than two numpy reduceat passes)."""
    c = cv2.integral(mask.view(np.uint8), sdepth=cv2.CV_32S)[cells.corners]  # (G + 1, G + 1) corner sums
    return c[1:, 1:] - c[:-1, 1:] - c[1:, :-1] + c[:-1, :-1]


def blur_score(crisp: np.ndarray, edge: np.ndarray) -> float:
    """Sharpness of a shot in [0, 1] from its kept cells' crisp / edge pixel counts (blur if low).

    The fraction f of edge pixels that are crisp spans decades (world: defocused <= 0.002, sharp
    0.003-0.1), so the score is log-scaled: 0 at f <= 1e-4, 0.5 at 1 %, 1 at 100 %. No edge at
    all in the kept picture: 0 (nothing is resolved).
    """
    e = float(edge.sum())
    if e <= 0.0:
        return 0.0
    f = max(float(crisp.sum()) / e, 1e-4)
    return min(1.0, max(0.0, (math.log10(f) + 4.0) / 4.0))


class CameraFlow:
    """Dense optical flow between consecutive small grey frames ((fh, fw, 2) px per pixel).

    "dis": OpenCV's DIS flow (ultrafast preset's patch search, finest scale 1, no variational
    refinement) costs ~55 us at 64x36, Farneback ~275 us (the largest single cost of the pass on
    small frames); "farneback" is kept as the reference. Both are deterministic whatever OpenCV's
    thread count (patches / rows are independent).
    """

    def __init__(self, method: str):
        self.method = method
        if method == "dis":
            self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
            self.dis.setFinestScale(1)  # scale 2 (the preset's) is slower at 64 px and too coarse
            self.dis.setVariationalRefinementIterations(0)

    def __call__(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        if self.method == "dis":
            return self.dis.calc(prev, cur, None)
        return cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 2, 9, 2, 5, 1.1, 0)


class SharedContentScore:
    """PySceneDetect's content score computed once per frame for the content and adaptive detectors.

    Both detectors score a frame by the same mean |HSV difference| to the previous frame
    (`ContentDetector._calculate_frame_score` with default weights); run as two detectors they
    converted every frame to HSV and differenced it twice, the largest cost of the pass on small
    frames. Here the score is computed once, exactly as the library does (integer sums of absolute
    differences per channel / pixel count, the library's weighting), and handed to both detectors,
    whose decision logic (thresholds, flash filter, rolling ratio, minimum scene length) is unchanged.
    """

    def __init__(self) -> None:
        self.prev: np.ndarray | None = None
        self.score = 0.0

    def update(self, bgr: np.ndarray, weights: tuple[float, ...]) -> float:
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)  # (H, W, 3) uint8
        if self.prev is None:
            self.score = 0.0  # the library returns 0.0 on the first frame
        else:
            n = float(hsv.shape[0] * hsv.shape[1])
            sums = cv2.sumElems(cv2.absdiff(hsv, self.prev))  # exact integer sums per channel, as float
            comps = (sums[0] / n, sums[1] / n, sums[2] / n, 0.0)  # hue, sat, lum, edges (weight 0)
            self.score = sum(c * w for c, w in zip(comps, weights, strict=True)) / sum(abs(w) for w in weights)
        self.prev = hsv
        return self.score


class _SharedScoreMixin:
    """Makes a PySceneDetect content-style detector read its frame score from a `SharedContentScore`."""

    def __init__(self, shared: SharedContentScore, **kw):
        super().__init__(**kw)
        self.shared = shared

    def _calculate_frame_score(self, timecode, frame_img) -> float:  # noqa: ARG002 - the score is shared
        return self.shared.score


class _SharedContentDetector(_SharedScoreMixin, ContentDetector):
    """PySceneDetect's ContentDetector with the shared frame score."""


class _SharedAdaptiveDetector(_SharedScoreMixin, AdaptiveDetector):
    """PySceneDetect's AdaptiveDetector with the shared frame score."""


class PassClock:
    """Per-component time of the decode pass (the throughput benchmark's breakdown).

    `lap(name)` charges the time since the previous lap to `name` in `sink[name] = [wall_ns, cpu_ns]`
    (cpu: this thread's CPU time, so neither other processes on a busy machine nor the decoder's
    own threads, which decode ahead in parallel, blur the attribution); with `sink=None` it does
    nothing, so the pass pays one no-op call per component when not measured.
    """

    def __init__(self, sink: dict[str, list[int]] | None):
        self.sink = sink
        self.wall, self.cpu = time.perf_counter_ns(), time.thread_time_ns()

    def lap(self, name: str) -> None:
        if self.sink is not None:
            wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
            acc = self.sink.setdefault(name, [0, 0])
            acc[0] += wall - self.wall
            acc[1] += cpu - self.cpu
            self.wall, self.cpu = wall, cpu


class _Accumulator:
    """Folds delayed frames into segments; holds the high-pass state for jitter.

    The appearance signals (crisp-edge counts, cell peak luma, Canny edges: the per-shot averages of
    blur, low light and overlays) are measured here, at fold time, on every `stride`-th frame of each
    run of frames a segment's blur counts keep apart (near a cut, or not) and held for the frames
    in between (sample and hold): every frame still counts once, so the averages keep their exact
    frame denominators, and a run is never left unmeasured (its first frame always is). Shot
    detection, camera motion and frame change stay on every frame. `stride` 1 measures every frame.
    """

    def __init__(self, s: CurationSettings, h: int, w: int, max_seg: int, clock: PassClock | None = None, stride: int = 1):
        self.s, self.h, self.w, self.max_seg = s, h, w, max_seg
        self.clock = clock or PassClock(None)
        self.segments: list[SegmentStats] = []
        self.cur: SegmentStats | None = None
        self.shot_index = -1
        self.prev_g: np.ndarray | None = None  # global motion of the previous folded frame (same segment)
        self.stride = max(1, int(stride))
        self.meter = CrispEdgeMeter(s.acuity_window, s.acuity_crisp, s.acuity_noise_k, s.acuity_min_contrast)
        self.cells = CellGrid(h, w, s.cell_grid)
        self.run_n = [0, 0]  # frames of the current segment so far, away from / near a cut
        self.held: list[_Appearance | None] = [None, None]  # the last measured frame of each run

    def measure(self, gray: np.ndarray) -> _Appearance:
        """The appearance signals of one (H, W) uint8 grey frame."""
        crisp, edge, lapvar = self.meter(gray, self.cells)
        n_edge = int(edge.sum())
        sharp = round(float(crisp.sum()) / n_edge, 6) if n_edge else 0.0  # frame's crisp fraction (reported)
        self.clock.lap("crisp_edges")
        peak = cell_max(gray, self.cells.ys, self.cells.xs).astype(np.float64)  # (G, G)
        self.clock.lap("cell_peak")
        edges = cv2.Canny(gray, self.s.edge_low, self.s.edge_high)  # (H, W) uint8 0 / 255
        np.minimum(edges, 1, out=edges)  # 0 / 1: the persistence count adds it as it is
        self.clock.lap("canny")
        return _Appearance(sharp, lapvar, crisp, edge, peak, edges)

    def fold(self, rec: _FrameRec, new_shot: bool, next_g: np.ndarray | None, near_cut: bool = False) -> None:
        cur = self.cur
        if cur is None or new_shot or (rec.idx - cur.start) >= self.max_seg:
            if new_shot or cur is None:
                self.shot_index += 1
            self.close()
            cur = self.cur = SegmentStats(rec.idx, self.shot_index, self.h, self.w, grid=self.s.cell_grid)
            self.segments.append(cur)
            self.prev_g = None
            self.run_n, self.held = [0, 0], [None, None]
        first = rec.idx == cur.start
        run = int(near_cut)
        if self.run_n[run] % self.stride == 0:
            self.clock.lap("fold")
            self.held[run] = self.measure(rec.gray)
        self.run_n[run] += 1
        ap = self.held[run]
        cur.end = rec.idx + 1
        cur.n += 1
        cur.sharp_sum += ap.sharp
        cur.cell_crisp += ap.crisp
        cur.cell_edge += ap.edge
        if near_cut:
            cur.cut_n += 1
            cur.cut_crisp += ap.crisp
            cur.cut_edge += ap.edge
        cur.cell_peak += ap.peak
        cur.lapvar_sum += ap.lapvar
        cur.luma_sum += rec.luma
        if not first:  # the flow into a segment's first frame crosses a cut or a split
            cur.flow_n += 1
            if rec.flow_mag is not None:
                cur.mag_n += 1
                cur.flow_mag_sum += rec.flow_mag
            cur.diff_sum += rec.diff
            # A segment's second frame: the previous difference crosses the cut, only bit 0 counts.
            cur.cell_change += (rec.change != 0) if rec.idx > cur.start + 1 else (rec.change & 1)
            if self.prev_g is not None and next_g is not None:
                hp = rec.gflow - 0.5 * (self.prev_g + next_g)  # second difference of the camera path
                cur.jitter_n += 1
                cur.jitter_sum += float(hp @ hp)
            self.prev_g = rec.gflow
        else:
            self.prev_g = None
        cv2.accumulate(ap.edges, cur.edge_count)  # += 0 / 1 per pixel, in place (float32 counts: exact)
        # Thumbnail reservoir: keep every `stride`-th frame; when full, halve and double the stride.
        # The reservoir holds the frames themselves (no copy: each decoded frame is its own array);
        # thumbnails are made when the segment closes, for the survivors only (`close`).
        off = rec.idx - cur.start
        if off % cur.thumb_stride == 0:
            cur.thumbs.append((rec.idx, rec.bgr))
            if len(cur.thumbs) > self.s.thumbs_per_segment:
                cur.thumb_stride *= 2
                cur.thumbs = [t for t in cur.thumbs if (t[0] - cur.start) % cur.thumb_stride == 0]

    def close(self) -> None:
        """Finish the open segment: its reservoir's frames become (T, T, 3) uint8 RGB thumbnails."""
        cur = self.cur
        if cur is None:
            return
        self.clock.lap("fold")
        t = self.s.thumb_size
        cur.thumbs = [
            (i, cv2.cvtColor(cv2.resize(bgr, (t, t), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)) for i, bgr in cur.thumbs
        ]
        self.clock.lap("thumbnails")


def _add_cut(cuts: dict[int, str], frame: int, kind: str, merge: int) -> None:
    """Union of the detectors' cuts: a cut within `merge` frames of a known one is the same cut."""
    if frame <= 0 or any(abs(frame - c) <= merge for c in cuts):
        return
    cuts[frame] = kind


def analyse_video(
    path: str | Path,
    s: CurationSettings,
    rotation: int = 0,
    timings: dict[str, list[int]] | None = None,
    appearance_stride: int | None = None,
) -> VideoAnalysis:
    """Decode `path` once and return its shots and per-segment statistics.

    `timings`: if given, [wall, cpu] nanoseconds per pass component are added to it (`PassClock`).
    `appearance_stride`: measure the appearance signals on every n-th frame (`_Accumulator`);
    None: the setting `s.appearance_stride`.
    """
    clock = PassClock(timings)
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
        G = s.cell_grid
        stride = s.appearance_stride if appearance_stride is None else appearance_stride
        fade_floor = 0  # set with the flow size: the sum of a frame at mean level `fade_threshold` / 4

        shared = SharedContentScore()
        camera_flow = CameraFlow(s.flow_method)
        detectors = _make_detectors(s, fps, shared)
        weights = tuple(ContentDetector.DEFAULT_COMPONENT_WEIGHTS)
        scored = any(isinstance(d, (_SharedContentDetector, _SharedAdaptiveDetector)) for _, d in detectors)
        delay = max([int(getattr(d, "event_buffer_length", 0)) for _, d in detectors] + [0]) + 2
        if any(n == "threshold" for n, _ in detectors):
            delay = max(delay, int(math.ceil(s.fade_lookback_s * fps)) + 2)
        max_seg = max(1, int(math.floor(s.max_clip_s * fps + 1e-6)))
        cut_margin = int(round(s.blur_cut_margin_s * fps))  # frames each side of a cut (blur counts)
        delay = max(delay, cut_margin + 2)

        found: list[tuple[int, str]] = []
        cut_set: dict[int, str] = {}
        ring: deque[_FrameRec] = deque()
        acc: _Accumulator | None = None
        prev_small: np.ndarray | None = None
        prev_f32: np.ndarray | None = None
        prev_sd: np.ndarray | None = None  # (fh, fw) float32 gain-compensated difference into the previous frame
        prev_sum = 0
        idx = 0
        last_folded = -1

        def fold_oldest(next_g: np.ndarray | None) -> None:
            nonlocal last_folded
            rec = ring.popleft()
            # A cut reported too late for the buffer is clamped to the oldest unfolded frame.
            new_shot = any(last_folded < c <= rec.idx for c in cut_set) and rec.idx > 0
            # The ring holds `delay` (> cut_margin) later frames, so every cut within the margin after
            # this frame is known by now: the test stays streaming.
            near_cut = any(c - cut_margin <= rec.idx < c + cut_margin for c in cut_set)
            acc.fold(rec, new_shot, next_g, near_cut)
            last_folded = rec.idx

        try:
            for frame, fresh in cfr_frames(container.decode(stream), stream.average_rate or fps):  # VFR -> constant rate (cfr.py)
                clock.lap("decode")
                bgr = frame_bgr(frame, aw, ah)  # (ah, aw, 3)
                if rot:
                    bgr = np.ascontiguousarray(np.rot90(bgr, k=-(rot // 90)))
                if acc is None:
                    acc = _Accumulator(s, bgr.shape[0], bgr.shape[1], max_seg, clock, stride)
                    fw = min(s.flow_width, bgr.shape[1])
                    fh = max(8, int(round(bgr.shape[0] * fw / bgr.shape[1])))
                    fys, fxs = cell_edges(fh, G), cell_edges(fw, G)
                    cell_area = np.outer(np.diff(np.append(fys, fh)), np.diff(np.append(fxs, fw)))  # (G, G) px
                    fade_floor = s.fade_threshold * fw * fh // 4
                clock.lap("scale")
                tc = FrameTimecode(idx, fps=fps)
                # a repeated slot (VFR resampling) is not shown to the shot detectors: zero change, then
                # a jump, is what the adaptive detector reads as a cut
                if fresh:
                    if scored:
                        shared.update(bgr, weights)
                    clock.lap("hsv_content_score")
                    # The threshold detector reads only the frame's mean level (numpy.mean): hand it
                    # that mean, computed exactly (integer channel sums), as a 1x1 frame.
                    mean_frame = np.full((1, 1), sum(cv2.sumElems(bgr)[:3]) / bgr.size)
                    for name, det in detectors:
                        for c in det.process_frame(tc, mean_frame if name == "threshold" else bgr):
                            found.append((c.frame_num, name))
                while found:
                    _add_cut(cut_set, *found.pop(), s.merge_cut_frames)
                clock.lap("scenedetect_logic")
                gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)  # (ah, aw) uint8
                clock.lap("gray")
                small = cv2.resize(gray, (fw, fh), interpolation=cv2.INTER_AREA)  # (fh, fw) uint8
                small_sum = int(small.sum(dtype=np.int64))
                f32 = small.astype(np.float32)
                mag = None
                if prev_small is not None and prev_small.shape == small.shape:
                    flow = camera_flow(prev_small, small)
                    # flow: (fh, fw, 2) per-pixel displacement; the median is the camera's motion. DIS
                    # estimates at half resolution (finest scale 1) and upsamples, so the median over
                    # every other row and column sees the same estimate at a quarter of the cost.
                    step = 2 if s.flow_method == "dis" else 1
                    g = np.round(column_median(flow[::step, ::step].reshape(-1, 2)).astype(np.float64), 5)
                    mag = round(float(cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]), 5)
                    clock.lap("flow")
                    # Per cell: did something in it move since the previous frame? Frozen content
                    # leaves every cell unchanged, a small moving subject changes its own cells (a
                    # frame-wide mean would average it away), the cells of a scrolling ticker are left
                    # out later. Counting frames rather than summing differences keeps the few blended
                    # frames of a dissolve from posing as motion. Gain-compensated: the previous frame
                    # is scaled to this frame's mean level first, so a fade (a frozen picture going to or
                    # from black) is no change; a near-black frame shows nothing.
                    # Sensor noise that survives H.264 changes a still picture's cells too, by small,
                    # temporally independent steps: a pixel's difference to the previous frame is
                    # uncorrelated with (or opposite to) its previous difference. Motion is coherent: an
                    # edge crossing a pixel over several frames moves it the same way each frame. So a
                    # cell counts as moving (bit 0) when its mean |difference| is beyond what noise
                    # makes (>= change_level), or (bit 1) when its lag-1 covariance of differences,
                    # mean(d_t * d_t-1), is >= coherence_level grey levels squared.
                    if prev_sum >= fade_floor and small_sum >= fade_floor:
                        ref = prev_f32 * np.float32(small_sum / prev_sum)
                        sd = f32 - ref  # (fh, fw) float32 signed difference, elementwise: exact, thread-independent
                        cell_sum = np.add.reduceat(np.add.reduceat(np.abs(sd), fys, axis=0, dtype=np.float64), fxs, axis=1)
                        change = (cell_sum >= s.change_level * cell_area).astype(np.uint8)  # (G, G) bit 0
                        if prev_sd is not None:
                            cov = np.add.reduceat(np.add.reduceat(sd * prev_sd, fys, axis=0, dtype=np.float64), fxs, axis=1)
                            change |= (cov >= s.coherence_level * cell_area).astype(np.uint8) << 1  # (G, G) bit 1
                        prev_sd = sd
                    else:
                        change, prev_sd = np.zeros((G, G), np.uint8), None
                    ad8 = cv2.absdiff(prev_small, small)
                    k = int(ad8.size * 0.9)
                    diff = round(float(np.partition(ad8.reshape(-1), k)[:k].mean()), 5)
                else:
                    g, diff, change, prev_sd = np.zeros(2), 0.0, np.zeros((G, G), np.uint8), None
                prev_small, prev_f32, prev_sum = small, f32, small_sum
                clock.lap("cell_change")
                luma = cv2.sumElems(gray)[0] / gray.size
                ring.append(_FrameRec(idx, luma, g, mag, diff, gray, bgr, change))
                if len(ring) > delay:
                    fold_oldest(ring[1].gflow)
                idx += 1
                clock.lap("fold")
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
        acc.close()
        clock.lap("fold")

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
