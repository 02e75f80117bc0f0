"""The `curation` preset section: every threshold of shots, clips, overlays, filters and dedup.

Values live in `orchestration/presets/<preset>/curation.yaml`; the comments there say what the
paper uses and how each preset scales it. Code never hard-codes a threshold.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field

from resources.params import Section

DetectorName = Literal["content", "adaptive", "threshold"]


class CurationSettings(Section):
    # --- the single decode pass -------------------------------------------------------------
    analysis_width: int = Field(192, ge=32, le=1920)  # frames are analysed at this width (aspect kept)
    flow_width: int = Field(64, ge=16, le=640)  # dense optical flow runs at this width
    flow_method: Literal["dis", "farneback"] = "dis"  # dense flow (camera motion -> jitter, motion level)
    thumb_size: int = Field(32, ge=8, le=224)  # square thumbnails for aesthetic/safety/dedup
    thumbs_per_segment: int = Field(8, ge=1, le=64)  # evenly spaced, reservoir with doubling stride
    edge_low: int = Field(30, ge=1, le=255)  # Canny thresholds of the persistence maps
    edge_high: int = Field(90, ge=1, le=255)
    fade_lookback_s: float = Field(2.0, ge=0.1, le=30.0)  # how late a fade cut may be reported
    cell_grid: int = Field(8, ge=2, le=32)  # per-cell signals on a G x G grid (overlay cells left out)
    acuity_window: int = Field(5, ge=3, le=31)  # local-contrast window of the edge acuity (px)
    acuity_crisp: float = Field(0.4, gt=0.0, le=1.0)  # an edge pixel is crisp from this acuity (step edge ~0.5)
    acuity_min_contrast: float = Field(8.0, ge=1.0, le=255.0)  # edges count from this contrast (grey levels)
    acuity_noise_k: float = Field(6.0, ge=0.0, le=50.0)  # ... and from this x the frame's noise sigma
    change_level: float = Field(2.0, ge=0.0, le=255.0)  # a cell moved: mean |frame diff| >= this (grey levels, beyond sensor noise) ...
    coherence_level: float = Field(0.2, ge=0.0)  # ... or mean(d_t * d_t-1) of its frame diffs >= this (grey levels^2: coherent change)
    # blur is judged without the frames this close to a cut (s, each side): a soft transition's cut is
    # found anywhere inside it (world: 0.5 s dissolves / fades), leaving up to half of it to the neighbour
    blur_cut_margin_s: float = Field(0.25, ge=0.0, le=5.0)
    # The appearance signals (blur counts, cell peak luma; overlay edge maps) are per-shot averages of
    # slowly varying pictures: measured on every n-th frame and held in between; shot detection, camera
    # motion and frame change stay on every frame. World seeds 11 + 13 (17 + 19 spot-checked): every
    # detector figure as at 2 up to a blur / low-light stride of 8, 4 kept (a shot's luminance score
    # moves from stride 1's by <= 9 grey levels for 95 % of shots at 4, 20 at 8); the overlay edge
    # maps (per-pixel persistence) keep 2 (at 3 or 4 one overlay shot of seed 13 was no longer rectified).
    appearance_stride: int = Field(4, ge=1, le=8)  # blur counts, cell peak luma
    edge_stride: int = Field(2, ge=1, le=8)  # overlay edge maps (Canny)

    # --- shots (PySceneDetect detectors fed frame by frame) ---------------------------------
    detectors: list[DetectorName] = Field(default_factory=lambda: ["adaptive", "content", "threshold"])
    content_threshold: float = Field(27.0, ge=1.0, le=255.0)
    adaptive_threshold: float = Field(3.0, ge=0.5, le=50.0)
    adaptive_min_content: float = Field(12.0, ge=0.0, le=255.0)
    fade_threshold: int = Field(12, ge=1, le=128)  # mean intensity below which a frame is "black"
    min_shot_s: float = Field(0.4, ge=0.0, le=10.0)
    merge_cut_frames: int = Field(2, ge=0, le=30)  # cuts of different detectors closer than this merge

    # --- segmented clips -----------------------------------------------------------------------
    max_clip_s: float = Field(12.0, gt=0.5, le=120.0)  # paper: <= 12 s, one or more shots
    max_shots_per_clip: int = Field(3, ge=1, le=100)  # consecutive shots packed into one clip
    min_clip_s: float = Field(1.0, gt=0.0, le=60.0)  # shorter remnants are dropped ("too_short")
    # filtered_clips: a clip with failing shots is cut to its runs of passing shots (>= min_clip_s)
    # instead of being dropped whole (assets/curation/trimming.py)
    trim_failing_shots: bool = True
    clip_crf: int = Field(18, ge=0, le=51)
    clip_preset: str = "veryfast"
    clip_deterministic: bool = True  # byte-reproducible x264 (no asm, one thread); off for speed at scale

    # --- overlays and rectification ----------------------------------------------------------
    overlay_edge_persistence: float = Field(0.75, gt=0.0, le=1.0)  # fraction of frames a pixel is an edge
    overlay_text_density: float = Field(0.06, ge=0.0, le=1.0)  # mean edge frequency inside an overlay
    overlay_band_cover: float = Field(0.6, ge=0.0, le=1.0)  # fraction of the width a ticker's edge spans
    overlay_outline_persistence: float = Field(0.5, gt=0.0, le=1.0)  # looser, for translucent plates
    overlay_outline: float = Field(0.6, ge=0.0, le=1.0)  # fraction of a box outline that is persistent
    overlay_min_area: float = Field(0.008, ge=0.0, le=0.5)  # fraction of the frame
    overlay_max_area: float = Field(0.3, gt=0.0, le=1.0)
    overlay_border_margin: float = Field(0.1, ge=0.0, le=0.5)  # logo/subtitle boxes lie this close to an edge
    overlay_band_margin: float = Field(0.2, ge=0.0, le=0.5)  # ticker bands start this close to top/bottom
    overlay_text_activity: float = Field(0.08, ge=0.0, le=1.0)  # a column block of a text row is edge-active from this mean
    overlay_band_texture: float = Field(0.85, ge=0.0, le=1.0)  # a scrolling-text row: this share of column blocks active
    overlay_glyph_activity: float = Field(0.3, gt=0.0, le=1.0)  # changing caption glyphs: edge in >= this share of frames
    overlay_glyph_density: float = Field(0.2, ge=0.0, le=1.0)  # mean edge frequency inside a glyph cluster
    overlay_glyph_fill: float = Field(0.35, ge=0.0, le=1.0)  # share of a glyph cluster's box its (closed) strokes cover
    overlay_glyph_min_side: float = Field(0.07, ge=0.0, le=1.0)  # a glyph cluster spans >= this of frame width and height
    overlay_caption_min_width: float = Field(0.25, ge=0.0, le=1.0)  # a thinner glyph cluster counts as a caption line from this width
    overlay_caption_min_height: float = Field(0.04, ge=0.0, le=1.0)  # a caption line's glyphs: this share of the frame's shorter side
    overlay_caption_pad: float = Field(1.0, ge=0.0, le=5.0)  # a caption line without a visible bar: padded by this many line heights
    overlay_glyph_ring_floor: float = Field(0.05, ge=0.0, le=1.0)  # persistent share credited to a glyph cluster's ring at least
    overlay_side_min: float = Field(0.08, ge=0.0, le=1.0)  # a plate found from its side: the side spans >= this of the frame height
    overlay_glyph_isolation: float = Field(3.0, ge=1.0, le=100.0)  # glyph cluster's edge density / its surroundings'
    overlay_pad: float = Field(0.02, ge=0.0, le=0.2)  # safety margin added around a box (fraction)
    crop_aspects: list[float] = Field(default_factory=lambda: [16 / 9, 4 / 3, 1.0, 3 / 4, 9 / 16])
    crop_aspect_tolerance: float = Field(0.02, ge=0.0, le=0.2)
    min_crop_area: float = Field(0.45, gt=0.0, le=1.0)  # below this the clip is dropped ("no_valid_crop")

    # --- quality and safety filters -------------------------------------------------------------
    blur_threshold: float = Field(0.38, ge=0.0, le=1.0)  # log-scaled crisp fraction of the kept edge pixels below this -> "blur"
    jitter_threshold: float = Field(1.9, ge=0.0)  # high-frequency global motion (px at flow res, DIS flow; Farneback: 0.5)
    static_threshold: float = Field(0.19, ge=0.0, le=1.0)  # most active kept cell moves in < this fraction of frames -> "static"
    low_light_threshold: float = Field(85.0, ge=0.0, le=255.0)  # 75th-pct kept cell's peak luma below this -> "low_light"
    # trained fallback: P(good) on 32 px thumbnails; 0.15 = precision >= 0.9 pooled on world seeds 11/13/17/19
    aesthetic_threshold: float = Field(0.15, ge=0.0, le=1.0)
    safety_threshold: float = Field(0.5, ge=0.0, le=1.0)
    aesthetic_backend: Literal["trained", "laion"] = "trained"
    aesthetic_path: str = ""  # laion: local dir with open_clip weights + MLP head (safetensors)
    safety_backend: Literal["trained", "pretrained", "none"] = "trained"
    safety_path: str = ""  # pretrained: local HF image-classification checkpoint
    train_shots: int = Field(600, ge=8, le=100000)  # labelled shots rendered to train the scorers (unsafe twins included)
    train_frames: int = Field(5, ge=1, le=5)  # thumbnails per training shot (of 6 rendered frames)
    train_unsafe_twins: float = Field(0.5, ge=0.0, le=1.0)  # fraction of shots also rendered with the unsafe emblem
    train_long_tail: float = Field(0.0, ge=0.0, le=4.0)  # vocabulary exponent of the training shots (0 = uniform styles/scenes)
    train_epochs: int = Field(20, ge=1, le=1000)
    train_batch: int = Field(32, ge=1, le=4096)
    train_lr: float = Field(3e-3, gt=0.0, le=1.0)

    # --- semantic dedup ----------------------------------------------------------------------------
    embedder: Literal["descriptor", "pretrained"] = "descriptor"
    embedder_path: str = ""
    dedup_similarity: float = Field(0.878, ge=-1.0, le=1.0)  # trimmed frame-matching cosine (band-pass, batch-centred); world seeds 11-53
    pretrained_similarity: float = Field(0.92, ge=-1.0, le=1.0)  # cosine for embedder: pretrained (re-choose per encoder)
    dedup_clusters: int = Field(0, ge=0)  # 0: ~sqrt(n) clusters
    dedup_assign: int = Field(2, ge=1, le=8)  # each clip joins its nearest `dedup_assign` clusters

    seed: int = 0

    def fingerprint(self) -> str:
        """Hash of every setting the analysis pass depends on (the analysis cache key)."""
        keys = [
            "analysis_width", "flow_width", "flow_method", "thumb_size", "thumbs_per_segment", "fade_lookback_s", "edge_low", "edge_high",
            "cell_grid", "acuity_window", "acuity_crisp", "acuity_min_contrast", "acuity_noise_k", "change_level", "coherence_level", "blur_cut_margin_s", "appearance_stride", "edge_stride",
            "detectors", "content_threshold", "adaptive_threshold", "adaptive_min_content",
            "fade_threshold", "min_shot_s", "merge_cut_frames", "max_clip_s",
        ]  # fmt: skip
        blob = json.dumps({k: getattr(self, k) for k in keys}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
