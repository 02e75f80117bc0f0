"""Weight-free video metrics: flicker, dynamic degree, motion smoothness, warping error, preservation.

Videos are uint8 arrays [T, H, W, 3] (RGB). Every metric here is computed with classical algorithms
(OpenCV Farneback optical flow, SSIM, colour histograms) so it runs on CPU with no weights.

Several of them are PROXIES for metrics that the literature computes with pretrained networks; each
is named so, and `PRETRAINED_SLOTS` records which network the real metric uses so that a user with
the weights can swap it in (see `motion_smoothness(..., interpolator=...)`, `preservation(...,
embedder=...)`). A proxy never claims to be the real metric: its key carries the `proxy_` prefix in
tables and the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# Which pretrained network the real metric uses, and which weight-free proxy stands in for it here.
PRETRAINED_SLOTS: dict[str, dict[str, str]] = {
    "motion_smoothness": {"real": "AMT / RIFE video frame interpolation (VBench motion smoothness)", "proxy": "Farneback-flow midpoint interpolation"},
    "warping_error": {"real": "RAFT optical flow warping error", "proxy": "Farneback optical flow warping error"},
    "dynamic_degree": {"real": "RAFT flow magnitude (VBench dynamic degree)", "proxy": "Farneback flow magnitude"},
    "preservation": {"real": "DINO / CLIP / LPIPS similarity to the input frame", "proxy": "SSIM + colour-histogram similarity"},
    "aesthetic": {"real": "LAION aesthetic predictor (CLIP) or the pipeline's reward_aesthetic", "proxy": "sharpness + colourfulness + contrast"},
}

Interpolator = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (prev [H,W,3], next [H,W,3]) -> mid [H,W,3]
Embedder = Callable[[np.ndarray], np.ndarray]  # frames [N,H,W,3] uint8 -> embeddings [N,D]


def _check_video(video: np.ndarray) -> np.ndarray:
    v = np.asarray(video)
    if v.ndim != 4 or v.shape[-1] != 3:
        raise ValueError(f"expected a video [T, H, W, 3], got shape {v.shape}")
    return v


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def farneback(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Dense optical flow [H, W, 2] (dx, dy in pixels) from RGB frame `prev` to `nxt`.

    Parameters sized for small frames (tens of pixels): 3 pyramid levels, 9-px window."""
    return cv2.calcOpticalFlowFarneback(_gray(prev), _gray(nxt), None, 0.5, 3, 9, 3, 5, 1.1, 0)


def _warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: out(x) = frame(x + flow(x)) (bilinear, border replicated)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        np.ascontiguousarray(frame),
        gx + flow[..., 0].astype(np.float32),
        gy + flow[..., 1].astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def temporal_flicker(video: np.ndarray) -> float:
    """Flicker score in [0, 1], 1 = no flicker.

    Flicker is high-frequency change in time. On a blurred, 2x-downsampled copy (so that sub-pixel
    motion of edges does not count), the mean absolute second temporal difference
    |f(t-1) - 2 f(t) + f(t+1)| / 255 is near zero for still or steadily moving content and large
    for frames that jump back and forth. Score = 1 - that mean (clipped to [0, 1]). Weight-free, the
    same definition family as VBench's temporal flickering (which uses first differences on static
    videos); no pretrained network involved, so it is not a proxy."""
    v = _check_video(video)
    if v.shape[0] < 3:
        return 1.0
    small = np.stack([cv2.GaussianBlur(cv2.resize(f, (max(1, f.shape[1] // 2), max(1, f.shape[0] // 2)), interpolation=cv2.INTER_AREA), (3, 3), 0) for f in v]).astype(np.float32)
    second = np.abs(small[:-2] - 2 * small[1:-1] + small[2:]) / 255.0  # [T-2, h, w, 3]
    return float(np.clip(1.0 - second.mean(), 0.0, 1.0))


@dataclass(frozen=True)
class DynamicDegree:
    magnitude: float  # mean of the top-5% flow magnitudes per frame pair, in fractions of the frame diagonal
    dynamic: bool  # magnitude above the threshold (VBench reports the share of dynamic videos)


def dynamic_degree(video: np.ndarray, threshold: float = 0.004) -> DynamicDegree:
    """PROXY (Farneback in place of RAFT) of VBench's dynamic degree.

    Per consecutive frame pair: flow magnitude, mean of its largest 5% (the moving subject, not the
    background), divided by the frame diagonal so the value does not depend on resolution; averaged
    over pairs. A video is dynamic when that exceeds `threshold` (0.4% of the diagonal per frame)."""
    v = _check_video(video)
    if v.shape[0] < 2:
        return DynamicDegree(0.0, False)
    diag = float(np.hypot(v.shape[1], v.shape[2]))
    mags = []
    for t in range(v.shape[0] - 1):
        flow = farneback(v[t], v[t + 1])
        m = np.hypot(flow[..., 0], flow[..., 1]).ravel()
        k = max(1, int(0.05 * m.size))
        mags.append(np.partition(m, -k)[-k:].mean() / diag)
    mag = float(np.mean(mags))
    return DynamicDegree(mag, mag > threshold)


def flow_interpolate(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Weight-free midpoint frame: flow F from prev to next, then
    mid(x) = (prev(x - F/2) + next(x + F/2)) / 2 (flow sampled at x: the usual small-motion approximation)."""
    flow = farneback(prev, nxt)  # [H, W, 2]
    a = _warp(prev, -0.5 * flow).astype(np.float32)
    b = _warp(nxt, 0.5 * flow).astype(np.float32)
    return np.clip((a + b) / 2.0, 0, 255).astype(np.uint8)


def motion_smoothness(video: np.ndarray, interpolator: Interpolator | None = None) -> float:
    """Motion smoothness in [0, 1], 1 = every odd frame is exactly predicted from its neighbours.

    VBench drops the odd frames, re-creates them with a video frame interpolation network (AMT) and
    measures the reconstruction error: smooth, physically continuous motion is predictable, jerky
    motion is not. Here the interpolator defaults to `flow_interpolate` (PROXY, Farneback); pass a
    real interpolation network as `interpolator` to get the real metric."""
    v = _check_video(video)
    if v.shape[0] < 3:
        return 1.0
    interp = interpolator or flow_interpolate
    errs = []
    for t in range(1, v.shape[0] - 1, 2):
        mid = interp(v[t - 1], v[t + 1]).astype(np.float32)
        errs.append(np.abs(mid - v[t].astype(np.float32)).mean() / 255.0)
    return float(np.clip(1.0 - np.mean(errs), 0.0, 1.0))


def warping_error(video: np.ndarray, consistency_px: float = 1.0) -> float:
    """PROXY (Farneback in place of RAFT) warping error, mean |f(t) - warp(f(t+1))| / 255 in [0, 1].

    Lower is better: it measures temporal inconsistency that motion does not explain (texture
    boiling, popping objects). Pixels failing the forward-backward flow check (|F_fw + F_bw(x+F_fw)|
    > consistency_px: occlusions) are excluded, as in the standard definition."""
    v = _check_video(video)
    if v.shape[0] < 2:
        return 0.0
    errs = []
    for t in range(v.shape[0] - 1):
        fw = farneback(v[t], v[t + 1])  # [H, W, 2] t -> t+1
        bw = farneback(v[t + 1], v[t])  # [H, W, 2] t+1 -> t
        warped = _warp(v[t + 1], fw).astype(np.float32)  # f(t+1) sampled at x + F_fw: should equal f(t)
        bw_at = _warp(bw, fw)  # F_bw sampled at x + F_fw
        ok = np.hypot(*(fw + bw_at).transpose(2, 0, 1)) <= consistency_px  # [H, W]
        if not ok.any():
            continue
        diff = np.abs(warped - v[t].astype(np.float32)).mean(axis=-1) / 255.0  # [H, W]
        errs.append(diff[ok].mean())
    return float(np.mean(errs)) if errs else 1.0


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two RGB frames on luminance (Wang et al. 2004, 7x7 Gaussian window)."""
    x, y = _gray(a).astype(np.float64), _gray(b).astype(np.float64)
    if x.shape != y.shape:
        y = cv2.resize(y, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_AREA)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda z: cv2.GaussianBlur(z, (7, 7), 1.5)  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def colour_histogram_similarity(a: np.ndarray, b: np.ndarray, bins: int = 8) -> float:
    """Histogram intersection of joint RGB histograms ([bins]^3), in [0, 1]: colour and lighting
    agreement that does not care where things are (the subject may have moved)."""
    ha = cv2.calcHist([np.ascontiguousarray(a)], [0, 1, 2], None, [bins] * 3, [0, 256] * 3).ravel()
    hb = cv2.calcHist([np.ascontiguousarray(b)], [0, 1, 2], None, [bins] * 3, [0, 256] * 3).ravel()
    ha, hb = ha / max(ha.sum(), 1), hb / max(hb.sum(), 1)
    return float(np.minimum(ha, hb).sum())


@dataclass(frozen=True)
class Preservation:
    first_frame: float  # SSIM of the generated first frame to the input image
    colour_consistency: float  # mean histogram similarity of every frame to the input image
    temporal_consistency: float  # mean similarity between consecutive frames' embeddings / SSIM
    score: float  # mean of the three, in [0, 1]
    backend: str


def preservation(video: np.ndarray, first_frame: np.ndarray, embedder: Embedder | None = None) -> Preservation:
    """Image-to-video preservation: does the video keep the input image's subject, colour and light?

    Default backend `proxy:ssim_histogram` (SSIM for structure, colour histograms for colour and
    lighting, SSIM between consecutive frames for consistency over time). With `embedder` (e.g. a
    DINO/CLIP image encoder a user loads from local weights) the first-frame and temporal terms use
    cosine similarity of embeddings instead, backend `embedder`."""
    v = _check_video(video)
    ff = np.asarray(first_frame, dtype=np.uint8)
    if ff.shape[:2] != v.shape[1:3]:
        ff = cv2.resize(ff, (v.shape[2], v.shape[1]), interpolation=cv2.INTER_AREA)
    colour = float(np.mean([colour_histogram_similarity(f, ff) for f in v]))
    if embedder is not None:
        e = embedder(np.concatenate([ff[None], v]))  # [T+1, D]
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-8)
        first = float((e[0] * e[1]).sum())
        temporal = float(np.mean((e[1:-1] * e[2:]).sum(axis=1))) if v.shape[0] > 1 else 1.0
        backend = "embedder"
    else:
        first = max(0.0, ssim(v[0], ff))
        temporal = float(np.mean([max(0.0, ssim(v[t], v[t + 1])) for t in range(v.shape[0] - 1)])) if v.shape[0] > 1 else 1.0
        backend = "proxy:ssim_histogram"
    return Preservation(first, colour, temporal, float(np.mean([first, colour, temporal])), backend)


def sharpness(frame: np.ndarray) -> float:
    """Variance of the Laplacian of the luminance (classic focus measure), unnormalised."""
    return float(cv2.Laplacian(_gray(frame).astype(np.float64), cv2.CV_64F).var())


def colourfulness(frame: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness on the 0-255 scale (roughly 0-150)."""
    f = frame.astype(np.float64)
    rg = f[..., 0] - f[..., 1]
    yb = 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def noise_sigma(frame: np.ndarray) -> float:
    """Immerkaer (1996) fast noise standard deviation estimate of the luminance (0-255 scale)."""
    g = _gray(frame).astype(np.float64)
    if min(g.shape) < 3:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    resp = np.abs(cv2.filter2D(g, -1, kernel)[1:-1, 1:-1])
    return float(np.sqrt(np.pi / 2.0) * resp.mean() / 6.0)


def aesthetic_proxy(video: np.ndarray, stride: int = 4) -> float:
    """PROXY aesthetic quality in [0, 1] (backend `fallback:aesthetic_proxy`).

    Real aesthetic scoring needs a learned predictor (LAION aesthetic head on CLIP, or the pipeline's
    `reward_aesthetic`). This weight-free stand-in measures the low-level visual-quality components the
    report lists under "visual texture / detail fidelity": sharpness (log Laplacian variance),
    colourfulness and luminance contrast, each squashed to [0, 1] by a saturating map x / (x + c)
    (c near the value a clean synthetic-world frame reaches) and averaged, then multiplied by a
    cleanliness factor exp(-sigma / 12) from the Immerkaer noise estimate sigma, so that noise,
    which is "sharp" and "colourful" to the first three terms, scores low. It prefers crisp,
    colourful, contrasted, clean frames over blurred, washed-out or noisy ones; it cannot judge
    composition or intent."""
    v = _check_video(video)
    frames = v[::stride] if v.shape[0] > stride else v
    sh = np.mean([np.log1p(sharpness(f)) for f in frames])
    co = np.mean([colourfulness(f) for f in frames])
    ct = np.mean([_gray(f).std() for f in frames])
    clean = float(np.exp(-np.mean([noise_sigma(f) for f in frames]) / 12.0))
    parts = [sh / (sh + 5.0), co / (co + 40.0), ct / (ct + 30.0)]
    return float(np.mean(parts) * clean)
