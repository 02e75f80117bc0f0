"""Count the shots of a generated video by detecting cuts on its frames (multi-shot evaluation, report 7.3).

The pipeline's own shot detector is the curation stage's single-pass analysis (`assets.curation.analysis`,
which runs on an mp4 file); the benchmarking assets use it when it is available. This module is the
frame-level detector used on in-memory frames and as the fallback (`fallback:pyscenedetect_frames`):
PySceneDetect's ContentDetector (hard cuts: HSV + edge content change) and AdaptiveDetector (rolling
average, catches dissolves better), fed frames directly through their `process_frame` API, with cuts
of the two merged when they fall within `merge` frames of each other.
"""

from __future__ import annotations

import cv2
import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detectors import AdaptiveDetector, ContentDetector


def detect_cuts(
    frames: np.ndarray,
    fps: float,
    *,
    content_threshold: float = 27.0,
    adaptive_threshold: float = 3.0,
    min_shot_frames: int = 3,
    merge: int = 2,
    upscale_to: int = 96,
) -> list[int]:
    """Frame indices (> 0) where a new shot starts. frames: uint8 [T, H, W, 3] RGB.

    Small frames are upscaled to `upscale_to` pixels on the short side: the detectors' edge and
    HSV statistics are tuned for ordinary resolutions and get noisy on 32-pixel thumbnails."""
    v = np.asarray(frames)
    if v.ndim != 4 or v.shape[0] < 2:
        return []
    h, w = v.shape[1:3]
    scale = max(1.0, upscale_to / min(h, w))
    size = (int(round(w * scale)), int(round(h * scale)))
    detectors = [
        ContentDetector(threshold=content_threshold, min_scene_len=min_shot_frames),
        AdaptiveDetector(adaptive_threshold=adaptive_threshold, min_scene_len=min_shot_frames, window_width=2),
    ]
    found: list[int] = []
    for i, frame in enumerate(v):
        bgr = cv2.cvtColor(cv2.resize(np.ascontiguousarray(frame), size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2BGR)
        tc = FrameTimecode(i, fps=float(fps))
        for det in detectors:
            for cut in det.process_frame(tc, bgr):
                found.append(int(cut.frame_num))
    for det in detectors:  # AdaptiveDetector reports with a delay; flush at the end
        post = getattr(det, "post_process", None)
        if post is not None:
            try:
                for cut in post(FrameTimecode(len(v), fps=float(fps))) or []:
                    found.append(int(cut.frame_num))
            except TypeError:
                pass
    cuts: list[int] = []
    for c in sorted(found):
        if 0 < c < len(v) and all(abs(c - k) > merge for k in cuts):
            cuts.append(c)
    return cuts


def shot_spans(n_frames: int, cuts: list[int]) -> list[tuple[int, int]]:
    """[start, end) of each shot given the cut frames."""
    edges = [0, *sorted(c for c in cuts if 0 < c < n_frames), n_frames]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def equal_spans(n_frames: int, n_shots: int) -> list[tuple[int, int]]:
    """n_shots equal [start, end) spans: where a prompt's shots should be when cut detection disagrees."""
    edges = np.linspace(0, n_frames, n_shots + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
