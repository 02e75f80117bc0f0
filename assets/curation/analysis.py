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
(crisp edges and peak luma; Canny edges) are per-shot averages: measured on every
`appearance_stride`-th (`edge_stride`-th) frame and held in between (`_Accumulator`). The signals
that need every frame are computed a block of `BLOCK_FRAMES` frames at a time, one OpenCV / numpy
call per block instead of per frame, with the same bytes (`_BlockSignals`); the shot detectors, the
delay ring and the fold still take the frames one by one, in order. `timings` measures the pass per
component (`PassClock`; benchmarks/curation_throughput.py reports it).

Memory stays flat in video length: frames are folded into additive per-**segment** accumulators
(a segment is a shot, or a <= max-clip-length piece of a long shot) after a short delay ring buffer,
so a cut that a detector reports a few frames late still splits the accumulators at the right frame.
Only O(#segments) state survives the pass.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
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

# Frames per block of the pass (`_BlockSignals`): each OpenCV / numpy call of the every-frame signals
# runs once per block. CPU us a frame of the whole pass, world 11 at 192 px (interleaved, best of 5):
# blocks of 4: 1000, 8: 952, 16: 927, 32: 920; 16 keeps a block of 192x108 frames at 1 MB.
BLOCK_FRAMES = 16

ANALYSIS_VERSION = "analysis-v10"  # v10: blur counts / peak luma on every 4th frame, edge maps on every 2nd (v9: all on every 2nd)


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


def frame_bgr(frame: av.VideoFrame, aw: int, ah: int, out: np.ndarray | None = None) -> np.ndarray:
    """(ah, aw, 3) uint8 BGR of a decoded frame at the analysis size (written into `out` if given,
    a C-contiguous (ah, aw, 3) uint8 array: the pass decodes into its block of frames).

    Measured on the world's 256x144 H.264: asking PyAV for scaled bgr24 (swscale) runs at ~550
    frames/s, taking the planar YUV and converting + area-resizing in OpenCV at ~2100 frames/s.
    Odd-sized or non-4:2:0 sources take the swscale path.
    At 256 -> 192 the area resize is OpenCV's general (fractional-ratio) path, ~300 of the ~500 CPU
    us of a bare decode, in the baseline and the pass alike. Cheaper variants were measured and not
    taken (world seed 11): bilinear (~8x cheaper) or area-resizing the Y / U / V planes before the
    colour conversion (~1.6x) each changed the HSV scores the shot detectors read (hard-cut false
    positives 2 -> 4); bilinear also moved low light (12 -> 11 found) and overlay IoU (0.84 -> 0.80).
    """
    if frame.format.name in ("yuv420p", "yuvj420p") and frame.width % 2 == 0 and frame.height % 2 == 0:
        yuv = frame.to_ndarray(format="yuv420p")  # (H * 3 / 2, W) planar
        if frame.width == aw and frame.height == ah:
            return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420, out)
        return cv2.resize(cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420), (aw, ah), out, interpolation=cv2.INTER_AREA)
    bgr = frame.to_ndarray(width=aw, height=ah, format="bgr24")
    if out is None:
        return bgr
    out[...] = bgr
    return out


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


def column_medians(v: np.ndarray) -> np.ndarray:
    """(m, c) np.median(v[i], axis=0) of each (p, c) set of v (m, p, c), bit for bit: the same order
    statistics (from a sort along p, cheaper here than numpy's median machinery) and the same mean."""
    t = np.sort(np.ascontiguousarray(v.transpose(0, 2, 1)), axis=2)  # (m, c, p)
    p, k = t.shape[2], t.shape[2] // 2
    return t[:, :, k] if p % 2 else t[:, :, k - 1 : k + 1].mean(axis=2)


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
        self.need_at: dict[int, np.ndarray] = {}  # edge threshold -> (256,) float32 `need`, +inf below it
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
        # In float32, exactly: Sobel sums of integers and gx^2 + gy^2 <= 2 * 1020^2 stay below 2^24.
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
        m2 = cv2.multiply(gx, gx)
        cv2.accumulateSquare(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3), m2)  # (H, W) float32 gx^2 + gy^2
        contrast = cv2.subtract(cv2.dilate(gray, self.kernel), cv2.erode(gray, self.kernel))  # (H, W) uint8
        edge = cv2.threshold(contrast, thr - 1, 255, cv2.THRESH_BINARY)[1]  # 255 where contrast >= thr
        need = self.need_at.get(thr)
        if need is None:  # the crisp test folds in the edge test: an impossible need below thr
            need = self.need_at[thr] = np.where(np.arange(256) >= thr, self.need, np.inf).astype(np.float32)
        crisp = cv2.compare(m2, cv2.LUT(contrast, need), cv2.CMP_GE)  # (H, W) 255 where crisp
        # lap.var() from exact integer moments (float sums of integers < 2^53 are exact in any
        # order, so the result does not depend on the thread count)
        n = lap.size
        s1, s2 = cv2.sumElems(lap)[0], cv2.norm(lap, cv2.NORM_L2SQR)
        lapvar = (s2 - s1 * s1 / n) / n
        return cell_count(crisp, cells) // 255, cell_count(edge, cells) // 255, round(float(lapvar), 3)


def cell_count(mask: np.ndarray, cells: CellGrid) -> np.ndarray:
    """(G, G) int32 sum of `mask` (H, W) bool (or uint8) in each grid cell (exact: an integral
    image read at the cell corners, ~4x faster than two numpy reduceat passes)."""
    c = cv2.integral(mask.view(np.uint8), sdepth=cv2.CV_32S)[cells.corners]  # (G + 1, G + 1) corner sums
    return c[1:, 1:] - c[:-1, 1:] - c[1:, :-1] + c[:-1, :-1]


def cell_total(a: np.ndarray, cells: CellGrid) -> np.ndarray:
    """(G, G) float64 sum of `a` (H, W) float32 over each grid cell: an integral image read at the
    cell corners, ~2x cheaper than two numpy reduceat passes on a 64x36 frame. Sequential, so the
    same bytes whatever OpenCV's thread count; float64 sums of float32 frame differences are exact in
    practice (the analysis bytes equal the reduceat version's on 120 world videos, seeds 11 + 13)."""
    c = cv2.integral(a, sdepth=cv2.CV_64F)[cells.corners]  # (G + 1, G + 1) corner sums
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
    differences per channel / pixel count, the library's weighting; `_BlockSignals`), set as `score`
    before the frame is processed and handed to both detectors, whose decision logic (thresholds,
    flash filter, rolling ratio, minimum scene length) is unchanged.
    """

    def __init__(self) -> None:
        self.score = 0.0


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

    The appearance signals (crisp-edge counts and cell peak luma, the per-shot averages of blur and
    low light; Canny edges, the overlays' per-pixel persistence) are measured here, at fold time, on
    every `stride`-th (`edge_stride`-th) frame of each run of frames a segment's blur counts keep
    apart (near a cut, or not) and held for the frames in between (sample and hold): every frame
    still counts once, so the averages keep their exact frame denominators, and a run is never left
    unmeasured (its first frame always is). Shot detection, camera motion and frame change stay on
    every frame. A stride of 1 measures every frame.
    """

    def __init__(
        self, s: CurationSettings, h: int, w: int, max_seg: int, clock: PassClock | None = None, stride: int = 1, edge_stride: int = 1
    ):
        self.s, self.h, self.w, self.max_seg = s, h, w, max_seg
        self.clock = clock or PassClock(None)
        self.segments: list[SegmentStats] = []
        self.cur: SegmentStats | None = None
        self.shot_index = -1
        self.prev_g: np.ndarray | None = None  # global motion of the previous folded frame (same segment)
        self.stride = max(1, int(stride))
        self.edge_stride = max(1, int(edge_stride))
        self.meter = CrispEdgeMeter(s.acuity_window, s.acuity_crisp, s.acuity_noise_k, s.acuity_min_contrast)
        self.cells = CellGrid(h, w, s.cell_grid)
        self.run_n = [0, 0]  # frames of the current segment so far, away from / near a cut
        self.held: list[_Appearance | None] = [None, None]  # the last measured frame of each run
        self.held_edges: list[np.ndarray | None] = [None, None]  # its last Canny map ((H, W) uint8 0 / 1)

    def measure(self, gray: np.ndarray) -> _Appearance:
        """The blur and low-light signals of one (H, W) uint8 grey frame."""
        crisp, edge, lapvar = self.meter(gray, self.cells)
        n_edge = int(edge.sum())
        sharp = round(float(crisp.sum()) / n_edge, 6) if n_edge else 0.0  # frame's crisp fraction (reported)
        self.clock.lap("crisp_edges")
        peak = cell_max(gray, self.cells.ys, self.cells.xs).astype(np.float64)  # (G, G)
        self.clock.lap("cell_peak")
        return _Appearance(sharp, lapvar, crisp, edge, peak)

    def measure_edges(self, gray: np.ndarray) -> np.ndarray:
        """(H, W) uint8 Canny map of one grey frame, 1 on edges, else 0 (the overlay persistence count)."""
        edges = cv2.Canny(gray, self.s.edge_low, self.s.edge_high)  # (H, W) uint8 0 / 255
        np.minimum(edges, 1, out=edges)  # 0 / 1: the persistence count adds it as it is
        self.clock.lap("canny")
        return edges

    def fold(self, rec: _FrameRec, new_shot: bool, next_g: np.ndarray | None, near_cut: bool = False) -> None:
        cur = self.cur
        if cur is None or new_shot or (rec.idx - cur.start) >= self.max_seg:
            if new_shot or cur is None:
                self.shot_index += 1
            self.close()
            cur = self.cur = SegmentStats(rec.idx, self.shot_index, self.h, self.w, grid=self.s.cell_grid)
            self.segments.append(cur)
            self.prev_g = None
            self.run_n, self.held, self.held_edges = [0, 0], [None, None], [None, None]
        first = rec.idx == cur.start
        run = int(near_cut)
        if self.run_n[run] % self.stride == 0:
            self.clock.lap("fold")
            self.held[run] = self.measure(rec.gray)
        if self.run_n[run] % self.edge_stride == 0:
            self.clock.lap("fold")
            self.held_edges[run] = self.measure_edges(rec.gray)
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
        cv2.accumulate(self.held_edges[run], cur.edge_count)  # += 0 / 1 per pixel, in place (float32 counts: exact)
        # Thumbnail reservoir: keep every `stride`-th frame; when full, halve and double the stride.
        # The reservoir holds copies of the frames (the pass reuses its block buffers); thumbnails are
        # made when the segment closes, for the survivors only (`close`).
        off = rec.idx - cur.start
        if off % cur.thumb_stride == 0:
            cur.thumbs.append((rec.idx, rec.bgr.copy()))  # a copy: the pass reuses its frame buffers
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


@dataclass
class _BlockOut:
    """The per-frame signals of a block of n consecutive frames (see `_BlockSignals`)."""

    score: np.ndarray  # (n,) float64 HSV content score vs the previous frame (0 for the video's first)
    mean: list[float]  # mean level over the three channels (the threshold detector's input)
    luma: list[float]  # mean grey level
    gflow: np.ndarray  # (n, 2) float64 median flow vs the previous frame (0 for the video's first)
    mag: list[float | None]  # mean |flow| (None for the video's first frame)
    diff: np.ndarray  # (n,) float64 trimmed mean |frame difference| at flow width
    change: np.ndarray  # (n, G, G) uint8 cell change bits (see the pass)


class _BlockSignals:
    """The per-frame signals that need every frame, computed a block of frames at a time.

    On 192x108 frames (64x36 for flow and change) most of a per-frame OpenCV / numpy call is its
    fixed cost, so each operation here runs once on the block's frames stacked along a leading axis
    (or as one tall (n * h, w) image where the operation is per pixel, or where its support never
    crosses a frame's rows: the grey conversion, the HSV conversion, an integer-ratio area resize).
    Every frame's values are the same bytes as the frame-by-frame computation (test_analysis: the
    same analysis with blocks of 1, 3 and `BLOCK_FRAMES` frames; before blocks, the bytes of 99 world
    videos, seeds 11 + 13, some rotated, equal those of the per-frame pass); only DIS flow still runs
    per frame pair. The state carried from block to block is the previous frame's (HSV, small grey,
    its gain-compensated difference).
    """

    def __init__(self, s: CurationSettings, h: int, w: int, scored: bool):
        self.s, self.h, self.w, self.scored = s, h, w, scored
        self.fw = min(s.flow_width, w)
        self.fh = max(8, int(round(h * self.fw / w)))
        # An integer-ratio area resize averages whole blocks of rows of one frame, so the stacked
        # frames can be resized as one image; another ratio would blend rows across frames.
        self.stack_small = h % self.fh == 0 and w % self.fw == 0
        G = self.G = s.cell_grid
        self.fcells = CellGrid(self.fh, self.fw, G)
        cell_area = np.outer(np.diff(np.append(self.fcells.ys, self.fh)), np.diff(np.append(self.fcells.xs, self.fw)))  # (G, G) px
        self.change_min = s.change_level * cell_area  # (G, G) float64
        self.cov_min = s.coherence_level * cell_area
        self.fade_floor = s.fade_threshold * self.fw * self.fh // 4  # the sum of a frame at mean level `fade_threshold` / 4
        self.flow = CameraFlow(s.flow_method)
        self.step = 2 if s.flow_method == "dis" else 1
        self.prev_small: np.ndarray | None = None  # (fh, fw) uint8
        self.prev_sum = 0
        self.prev_sd: np.ndarray | None = None  # (fh, fw) float32 gain-compensated difference into the previous frame
        # Scratch arrays reused block after block: a block's arrays exceed glibc's mmap threshold, and
        # fresh ones cost page faults (~12 a frame, ~35 us of system time, measured).
        self.hsv = np.empty((BLOCK_FRAMES + 1, h, w, 3), np.uint8)  # [0]: the previous block's last frame
        self.hsv_diff = np.empty((BLOCK_FRAMES * h, w, 3), np.uint8)
        self.flows = np.empty((BLOCK_FRAMES, self.fh, self.fw, 2), np.float32)
        self.ii = np.empty((BLOCK_FRAMES, self.fh + 1, self.fw + 1), np.float64)  # integral images
        self.n_prev = 0  # frames in the previous block (its last HSV frame is hsv[n_prev])

    def cell_totals(self, a: np.ndarray) -> np.ndarray:
        """(m, G, G) float64 `cell_total` of each frame of `a` (m, fh, fw) float32, bit for bit
        (one integral image per frame, as `cell_total` makes it; the corner arithmetic for all)."""
        m = a.shape[0]
        ii = self.ii[:m]
        for i in range(m):
            cv2.integral(a[i], ii[i], sdepth=cv2.CV_64F)
        r, c = self.fcells.corners
        c = ii[:, r, c]  # (m, G + 1, G + 1) corner sums
        return c[:, 1:, 1:] - c[:, :-1, 1:] - c[:, 1:, :-1] + c[:, :-1, :-1]

    def __call__(self, bgr: np.ndarray, gray: np.ndarray, clock: PassClock) -> _BlockOut:
        """The signals of `bgr` (n, h, w, 3) uint8, the frames following the previous block's; their
        grey frames are written into `gray` (n, h, w) uint8 (the pass keeps them for the fold)."""
        n, h, w = bgr.shape[:3]
        G, fh, fw = self.G, self.fh, self.fw
        tall = bgr.reshape(n * h, w, 3)  # (n * h, w, 3): the frames one above the other
        score = np.zeros(n)
        if self.scored:
            # PySceneDetect's content score (`SharedContentScore`): mean |HSV difference| to the
            # previous frame, per channel, with the library's weights. A repeated (VFR) slot shows the
            # same picture as the slot before it, so the difference to the previous *slot* is the
            # difference to the previous *shown* frame that the detectors compare with.
            hsv = self.hsv[: n + 1]  # (n + 1, h, w, 3), [0]: the previous block's last frame
            first = self.n_prev == 0
            if not first:
                self.hsv[0] = self.hsv[self.n_prev]
            cv2.cvtColor(tall, cv2.COLOR_BGR2HSV, hsv[1:].reshape(n * h, w, 3))
            if first:
                hsv[0] = hsv[1]
            self.n_prev = n
            d = cv2.absdiff(hsv[1:].reshape(n * h, w, 3), hsv[:-1].reshape(n * h, w, 3), self.hsv_diff[: n * h])
            d = d.reshape(n, h, w, 3)
            wts = ContentDetector.DEFAULT_COMPONENT_WEIGHTS
            px = float(h * w)
            for i in range(n):
                sm = cv2.sumElems(d[i])  # exact integer sums per channel, as float
                comps = (sm[0] / px, sm[1] / px, sm[2] / px, 0.0)  # hue, sat, lum, edges
                score[i] = sum(c * wt for c, wt in zip(comps, wts, strict=True)) / sum(abs(wt) for wt in wts)
            if first:
                score[0] = 0.0  # the library returns 0.0 on the first frame
        # The threshold detector reads the frame's mean level (numpy.mean), exactly: integer sums.
        mean = [sum(cv2.sumElems(bgr[i])[:3]) / (h * w * 3) for i in range(n)]
        clock.lap("hsv_content_score")
        cv2.cvtColor(tall, cv2.COLOR_BGR2GRAY, gray.reshape(n * h, w))  # (n, h, w) uint8
        luma = [cv2.sumElems(gray[i])[0] / (h * w) for i in range(n)]
        clock.lap("gray")
        # small: (n + 1, fh, fw) uint8, [0] the previous block's last frame (if any)
        small = np.empty((n + 1, fh, fw), np.uint8)
        if self.stack_small:
            cv2.resize(gray.reshape(n * h, w), (fw, n * fh), small[1:].reshape(n * fh, fw), interpolation=cv2.INTER_AREA)
        else:
            for i in range(n):
                cv2.resize(gray[i], (fw, fh), small[i + 1], interpolation=cv2.INTER_AREA)
        has_prev = self.prev_small is not None
        small[0] = self.prev_small if has_prev else 0
        sums = [self.prev_sum] + [int(cv2.sumElems(small[i])[0]) for i in range(1, n + 1)]  # exact: integer sums < 2^53
        gflow = np.zeros((n, 2))
        mag: list[float | None] = [None] * n
        j0 = 0 if has_prev else 1  # the first frame with a previous one
        m = n - j0  # frames with a flow
        if m:
            flows = self.flows[:m]  # (m, fh, fw, 2)
            for i in range(m):
                flows[i] = self.flow(small[j0 + i], small[j0 + i + 1])
            # flows: per-pixel displacement; the median is the camera's motion. DIS estimates at half
            # resolution (finest scale 1) and upsamples, so the median over every other row and
            # column sees the same estimate at a quarter of the cost.
            med = column_medians(flows[:, :: self.step, :: self.step].reshape(m, -1, 2))  # (m, 2) float32
            gflow[j0:] = np.round(med.astype(np.float64), 5)
            fl = flows.reshape(m * fh, fw, 2)
            mg = cv2.magnitude(np.ascontiguousarray(fl[..., 0]), np.ascontiguousarray(fl[..., 1])).reshape(m, fh, fw)
            for i in range(m):
                mag[j0 + i] = round(float(cv2.mean(mg[i])[0]), 5)
        clock.lap("flow")
        # Per cell: did something in it move since the previous frame? (the pass's comment on
        # change_level / coherence_level). Gain-compensated: the previous frame scaled to this
        # frame's mean level first; a near-black frame (or its predecessor) shows nothing.
        f32 = small.astype(np.float32)  # (n + 1, fh, fw)
        change = np.zeros((n, G, G), np.uint8)
        diff = np.zeros(n)
        if m:
            lit = [sums[i] >= self.fade_floor and sums[i + 1] >= self.fade_floor for i in range(j0, n)]  # (m,)
            idx = np.flatnonzero(lit)  # frames (offset j0) with a gain-compensated difference
            if idx.size:
                ratio = np.array([np.float32(sums[j0 + i + 1] / sums[j0 + i]) for i in idx], np.float32)  # (q,)
                sd = f32[j0 + idx + 1] - f32[j0 + idx] * ratio[:, None, None]  # (q, fh, fw) float32, elementwise: exact
                bit0 = (self.cell_totals(np.abs(sd)) >= self.change_min).astype(np.uint8)  # (q, G, G)
                # The lag-1 product needs the previous frame's difference: the previous entry when it
                # is the previous frame, the last block's for the block's first frame.
                prev = np.empty_like(sd)
                has = np.zeros(idx.size, bool)
                for q, i in enumerate(idx):
                    if q and idx[q - 1] == i - 1:
                        prev[q], has[q] = sd[q - 1], True
                    elif j0 + i == 0 and self.prev_sd is not None:
                        prev[q], has[q] = self.prev_sd, True
                if has.any():
                    cov = self.cell_totals(sd[has] * prev[has])
                    bit0[has] |= (cov >= self.cov_min).astype(np.uint8) << 1
                change[j0 + idx] = bit0
                last = idx[-1] == m - 1
                self.prev_sd = sd[-1] if last else None
            else:
                self.prev_sd = None
            ad8 = cv2.absdiff(small[j0:-1].reshape(m * fh, fw), small[j0 + 1 :].reshape(m * fh, fw)).reshape(m, -1)
            # The mean of the 90 % smallest |differences| of each frame, from its 256-level histogram:
            # the same integer sum as sorting, divided by the same count (so the same float).
            kk = int(fh * fw * 0.9)
            # one 16-bit histogram of the block, frame i's levels offset by 256 i: (m, 256) counts
            lv = ad8.astype(np.uint16) + (np.arange(m, dtype=np.uint16) * 256)[:, None]
            hist = cv2.calcHist([lv], [0], None, [m * 256], [0, m * 256]).reshape(m, 256).astype(np.int64)
            # The sum of the kk smallest = the number of them >= t, summed over t = 1..255, and that
            # number is kk minus the pixels below t (when positive).
            below = np.cumsum(hist[:, :-1], axis=1)  # (m, 255) pixels below 1..255
            for i, tot in enumerate(np.maximum(kk - below, 0).sum(axis=1)):
                diff[j0 + i] = round(int(tot) / kk, 5)
        else:
            self.prev_sd = None
        self.prev_small, self.prev_sum = small[n].copy(), int(sums[n])
        clock.lap("cell_change")
        return _BlockOut(score, mean, luma, gflow, mag, diff, change)


@dataclass
class _Block:
    """Consecutive decoded frames at the analysis size: the first len(fresh) of the buffers."""

    bgr: np.ndarray  # (BLOCK_FRAMES, h, w, 3) uint8
    gray: np.ndarray  # (BLOCK_FRAMES, h, w) uint8, filled by `_BlockSignals`
    fresh: list[bool]  # per frame: not a repeated (VFR) slot


def _decoded_blocks(
    frames: Iterator[tuple[av.VideoFrame, bool]],
    aw: int,
    ah: int,
    rot: int,
    free: deque[tuple[np.ndarray, np.ndarray]],
    errors: list[av.error.FFmpegError],
    clock: PassClock,
) -> Iterator[_Block]:
    """The (frame, fresh) slots of `frames` at the analysis size (`frame_bgr`, rotated upright), in
    blocks of BLOCK_FRAMES (the last one may be shorter). Buffers come from `free` (the caller
    returns those it is done with) or are new. A decode error ends the stream; it is appended to
    `errors` (the caller tells a truncated tail from an undecodable file)."""
    blk: _Block | None = None
    shape: tuple[int, ...] | None = None
    try:
        for frame, fresh in frames:
            clock.lap("decode")
            if blk is not None and len(blk.fresh) == BLOCK_FRAMES:
                yield blk
                blk = None
            if shape is None or rot:
                bgr = frame_bgr(frame, aw, ah)  # (ah, aw, 3)
                if rot:
                    bgr = np.rot90(bgr, k=-(rot // 90))
                shape = bgr.shape
            else:
                bgr = None
            if blk is None:
                try:
                    buf = free.popleft()
                except IndexError:  # none free (yet): a new pair
                    buf = (np.empty((BLOCK_FRAMES, *shape), np.uint8), np.empty((BLOCK_FRAMES, *shape[:2]), np.uint8))
                blk = _Block(buf[0], buf[1], [])
            if bgr is None:
                frame_bgr(frame, aw, ah, out=blk.bgr[len(blk.fresh)])
            else:
                blk.bgr[len(blk.fresh)] = bgr
            blk.fresh.append(fresh)
            clock.lap("scale")
    except av.error.FFmpegError as exc:
        errors.append(exc)
    if blk is not None and blk.fresh:
        yield blk


def _run_ahead(blocks: Iterator[_Block], depth: int = 2) -> Iterator[_Block]:
    """`blocks`, produced in a thread up to `depth` blocks ahead of the consumer (memory stays
    bounded); an exception there is raised here. The thread stops when the consumer does."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for b in blocks:
                if not put(b):
                    return
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(exc)

    t = threading.Thread(target=produce, name="decode-ahead", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        t.join()


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
    decoder_threads: int = 0,
    edge_stride: int | None = None,
    decode_ahead: bool = False,
) -> VideoAnalysis:
    """Decode `path` once and return its shots and per-segment statistics.

    `timings`: if given, [wall, cpu] nanoseconds per pass component are added to it (`PassClock`).
    `appearance_stride`, `edge_stride`: measure the blur / low-light signals, the overlay edge maps
    on every n-th frame (`_Accumulator`); None: the settings `s.appearance_stride`, `s.edge_stride`.
    `decoder_threads`: FFmpeg's decoder threads; 0: automatic (frame + slice threads over every core),
    1: decode in the calling thread (a pool worker, where the executor already keeps every core busy:
    see `worker_threads`). Decoding is exact either way: the output does not depend on it.
    `decode_ahead`: decode and scale the next blocks of frames in a second thread while this one
    analyses them (`_run_ahead`; PyAV and OpenCV release the GIL). Same bytes either way; it trades
    CPU time (~+25 %, measured) for wall time, which only pays on idle cores: one video at a time on
    a quiet machine (~13 % shorter, measured once), never in a pool that keeps every core busy (the
    throughput benchmark's `decode_ahead` configuration, on the shared machine: slower).
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
        _set_decoder_threads(stream, decoder_threads)
        rate = stream.average_rate or stream.guessed_rate or 24
        fps = float(rate)
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        if not src_w or not src_h:
            raise DecodeError(f"{path}: video stream has no size")
        rot = int(rotation) % 360
        disp_w, disp_h = (src_h, src_w) if rot in (90, 270) else (src_w, src_h)
        aw, ah = analysis_size(src_w, src_h, s.analysis_width)
        stride = s.appearance_stride if appearance_stride is None else appearance_stride
        e_stride = s.edge_stride if edge_stride is None else edge_stride

        shared = SharedContentScore()
        detectors = _make_detectors(s, fps, shared)
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
        signals: _BlockSignals | None = None
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
            while live and live[0][0] <= last_folded:  # every frame of the oldest block is folded
                free.append(live.popleft()[1:])

        # Frames arrive in blocks of BLOCK_FRAMES (`_decoded_blocks`); the signals that need every
        # frame are computed per block (`_BlockSignals`), then each frame goes, in order, through the
        # shot detectors, the delay ring and the fold, exactly as frame by frame (the block only
        # batches arithmetic: a frame is folded `delay` frames after it was decoded, as before).
        # Block buffers are reused once every frame of theirs is folded (the ring keeps views of
        # them; the thumbnail reservoir copies): ~delay / BLOCK_FRAMES + 4 in flight at most.
        free: deque[tuple[np.ndarray, np.ndarray]] = deque()  # (bgr, grey) buffers ready for reuse
        live: deque[tuple[int, np.ndarray, np.ndarray]] = deque()  # (last frame, bgr, grey) of blocks in flight
        errors: list[av.error.FFmpegError] = []
        frames = cfr_frames(container.decode(stream), stream.average_rate or fps)  # VFR -> constant rate (cfr.py)
        blocks = _decoded_blocks(frames, aw, ah, rot, free, errors, PassClock(None) if decode_ahead else clock)
        for blk in _run_ahead(blocks) if decode_ahead else blocks:
            clock.lap("decode")  # (decoding ahead: the wait for the block)
            if acc is None:
                h, w = blk.bgr.shape[1:3]
                acc = _Accumulator(s, h, w, max_seg, clock, stride, e_stride)
                signals = _BlockSignals(s, h, w, scored)
            n = len(blk.fresh)
            out = signals(blk.bgr[:n], blk.gray[:n], clock)
            live.append((idx + n - 1, blk.bgr, blk.gray))
            for j in range(n):
                # a repeated slot (VFR resampling) is not shown to the shot detectors: zero change, then
                # a jump, is what the adaptive detector reads as a cut
                if blk.fresh[j]:
                    tc = FrameTimecode(idx, fps=fps)
                    shared.score = float(out.score[j])
                    # The threshold detector reads only the frame's mean level (numpy.mean): hand it
                    # that mean, computed exactly (integer channel sums), as a 1x1 frame.
                    mean_frame = np.full((1, 1), out.mean[j])
                    for name, det in detectors:
                        for c in det.process_frame(tc, mean_frame if name == "threshold" else blk.bgr[j]):
                            found.append((c.frame_num, name))
                while found:
                    _add_cut(cut_set, *found.pop(), s.merge_cut_frames)
                clock.lap("scenedetect_logic")
                ring.append(_FrameRec(idx, float(out.luma[j]), out.gflow[j], out.mag[j], float(out.diff[j]), blk.gray[j], blk.bgr[j], out.change[j]))
                if len(ring) > delay:
                    fold_oldest(ring[1].gflow)
                idx += 1
                clock.lap("fold")
        if errors and idx == 0:
            raise DecodeError(f"{path}: no decodable frame ({errors[0]})") from errors[0]
        # (a decode error after some frames is a truncated tail: keep what decoded, n_frames says how much)
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


def _set_decoder_threads(stream: av.video.stream.VideoStream, n: int) -> None:
    if n == 1:
        stream.codec_context.thread_count = 1
    else:
        stream.thread_type = "AUTO"  # frame + slice threads
        if n > 1:
            stream.codec_context.thread_count = n  # else FFmpeg's default: one per core


@contextmanager
def worker_threads() -> Iterator[None]:
    """A pool worker's setting while it analyses a video: OpenCV on one thread (restored after). The
    executor runs one video per worker and keeps every core busy; OpenCV's worker pool on 192x108
    frames costs more CPU (threads waking, spinning) than it saves. Every signal is exact whatever
    the thread count (test_executor: pool and Ray give the same bytes);
    benchmarks/curation_throughput.py measures both configurations."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def decode_only(path: str | Path, width: int | None = None, decoder_threads: int = 0) -> int:
    """Bare decode pass (the throughput baseline): decode and scale as the curation pass does
    (`frame_bgr`), compute nothing. Returns frames."""
    n = 0
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        _set_decoder_threads(st, decoder_threads)
        aw, ah = analysis_size(st.codec_context.width, st.codec_context.height, width or st.codec_context.width)
        for frame in c.decode(st):
            frame_bgr(frame, aw, ah)
            n += 1
    return n
