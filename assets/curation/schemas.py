"""Manifest schemas of the curation group (defined once, here).

One clip schema (`CLIPS`) runs through every clip stage: each stage fills the columns it owns and
passes the others on, so `deduplicated_clips` (read by captioning and the VAE) carries every
technical attribute rebalancing needs. Every clip that leaves the funnel is a `DROPPED` row with
its stage, reason and scores; a video that cannot be processed is a `QUARANTINE` row. Counts add
up at every stage: clips in = clips kept + clips dropped (asserted by the asset checks).
"""

from __future__ import annotations

import pyarrow as pa

SHOTS = pa.schema(
    [
        ("video_id", pa.string()),
        ("batch", pa.string()),
        ("source_relpath", pa.string()),  # join key to the source (world: <video_id>.mp4)
        ("source_path", pa.string()),  # store path of the raw video
        ("source_sha256", pa.string()),
        ("shot_index", pa.int32()),
        ("start_frame", pa.int32()),  # source frames [start, end)
        ("end_frame", pa.int32()),
        ("n_frames", pa.int32()),
        ("fps", pa.float64()),
        ("cut_detector", pa.string()),  # detector that opened the shot: start | content | adaptive | threshold
        ("analysis_path", pa.string()),  # store path of the cached single-pass analysis (npz)
    ]
)

VIDEOS = pa.schema(
    [
        ("video_id", pa.string()),
        ("batch", pa.string()),
        ("source_relpath", pa.string()),
        ("source_path", pa.string()),
        ("source_sha256", pa.string()),
        ("rotation", pa.int32()),
        ("n_frames", pa.int32()),  # decoded frames
        ("fps", pa.float64()),
        ("width", pa.int32()),  # upright display size
        ("height", pa.int32()),
        ("n_shots", pa.int32()),
        ("analysis_path", pa.string()),
        ("analysis_cached", pa.bool_()),  # True: re-used from an earlier materialisation
    ]
)

QUARANTINE = pa.schema(
    [
        ("video_id", pa.string()),
        ("source_relpath", pa.string()),
        ("source_path", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),  # decode_error | worker_crash | error
        ("detail", pa.string()),
        ("attempts", pa.int32()),
    ]
)

CLIPS = pa.schema(
    [
        ("clip_id", pa.string()),  # <video_id>-c<index>
        ("path", pa.string()),  # store path of the clip mp4 (rectified from rectified_clips on)
        ("sha256", pa.string()),
        ("video_id", pa.string()),  # source video
        ("batch", pa.string()),
        ("source_relpath", pa.string()),
        ("source_path", pa.string()),
        ("analysis_path", pa.string()),
        ("start_frame", pa.int32()),  # in the source, [start, end)
        ("end_frame", pa.int32()),
        ("n_frames", pa.int32()),
        ("fps", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("duration_s", pa.float64()),
        ("shot_boundaries", pa.list_(pa.int32())),  # frames relative to the clip start where shots begin; first 0
        ("n_shots", pa.int32()),
        ("segments", pa.list_(pa.int32())),  # indices of the analysis segments the clip spans
        # Rectification (full frame until rectified_clips): crop box in upright source pixels.
        ("crop_x0", pa.int32()),
        ("crop_y0", pa.int32()),
        ("crop_x1", pa.int32()),
        ("crop_y1", pa.int32()),
        ("n_overlays", pa.int32()),
        # Quality scores (from clip_analysis / filtered_clips; NaN before).
        ("blur", pa.float64()),  # log-scaled crisp-edge fraction of the worst shot, 0-1; low = blurry
        ("jitter", pa.float64()),  # RMS high-frequency global motion of the worst shot (px at flow res)
        ("motion", pa.float64()),  # mean optical-flow magnitude of the stillest shot
        ("change", pa.float64()),  # fraction of frames in which the stillest shot's most moving kept cell moves (beyond noise or coherently); low = static
        ("luminance", pa.float64()),  # peak luma of the darkest shot's bright quarter (75th pct over kept cells, 0-255)
        ("aesthetic", pa.float64()),  # P(good) of the aesthetic scorer
        ("safety", pa.float64()),  # P(unsafe) of the safety classifier; NaN if none configured
        ("quality_score", pa.float64()),
        ("motion_level", pa.string()),  # static | low | medium | high
        ("resolution", pa.string()),  # "<width>x<height>"
        ("dup_group", pa.string()),  # near-duplicate group (clip_id of its kept member)
    ]
)

DROPPED = pa.schema(
    [
        ("clip_id", pa.string()),
        ("video_id", pa.string()),
        ("source_relpath", pa.string()),
        ("start_frame", pa.int32()),
        ("end_frame", pa.int32()),
        ("stage", pa.string()),
        ("reason", pa.string()),  # first failing reason
        ("reasons", pa.list_(pa.string())),  # every failing reason
        ("detail", pa.string()),  # scores / thresholds as JSON
    ]
)

CLIP_ANALYSIS = pa.schema(
    [
        ("clip_id", pa.string()),
        ("video_id", pa.string()),
        ("blur", pa.float64()),
        ("lapvar", pa.float64()),
        ("jitter", pa.float64()),
        ("motion", pa.float64()),
        ("change", pa.float64()),
        ("luminance", pa.float64()),
        ("shot_scores", pa.string()),  # JSON list of per-shot scores
        ("overlay_kinds", pa.list_(pa.string())),
        ("overlay_boxes", pa.list_(pa.list_(pa.int32()))),  # [[x0, y0, x1, y1], ...] source pixels
        ("crop_x0", pa.int32()),  # -1 when no valid crop exists
        ("crop_y0", pa.int32()),
        ("crop_x1", pa.int32()),
        ("crop_y1", pa.int32()),
        ("crop_area", pa.float64()),  # kept fraction of the frame
    ]
)
