"""Pyarrow schemas of the synthetic world's ground-truth tables (defined once, here).

`ground_truth_videos.parquet` (VIDEOS), one row per raw video:
  video_id, file (relative path `videos/<video_id>.mp4`), fps, width, height, n_frames (decoded frames),
  n_shots, duration_s (= n_frames / fps), crf (the H.264 quality the file was encoded with).

`ground_truth_shots.parquet` (SHOTS), one row per shot, in video then shot order:
  video_id, shot_index, start_frame, end_frame (exclusive; frames of the video),
  transition_in ("none" for the first shot, else "cut" | "dissolve" | "fade") and transition_frames
  (the overlap with the previous shot: shot k starts transition_frames before shot k-1 ends),
  subjects (list of {subject, colour, motion}) and the same as parallel lists subject_keys / colours /
  motions, count, camera, scene, style, defects (list of "blur" | "jitter" | "static" | "low_light" |
  "unsafe"), static_content (nothing in the picture moves: frozen, or a still composition in a scene without
  living parts; `ShotSpec.static_content`), overlay ("none" | "watermark" | "subtitle" | "ticker") with its pixel box overlay_x0,
  overlay_y0, overlay_x1, overlay_y1 (x1/y1 exclusive; null without overlay), unsafe, dup_group
  (null unless the shot is in a near-duplicate group), dup_variant ("original" | "noise" | "crop" |
  "resolution"), shot_seed, caption_en, caption_zh (reference captions, `assets.captioning.schema`).
"""

from __future__ import annotations

import pyarrow as pa

SUBJECT = pa.struct([("subject", pa.string()), ("colour", pa.string()), ("motion", pa.string())])

VIDEOS = pa.schema([
    pa.field("video_id", pa.string(), nullable=False),
    pa.field("file", pa.string(), nullable=False),
    pa.field("fps", pa.int32(), nullable=False),
    pa.field("width", pa.int32(), nullable=False),
    pa.field("height", pa.int32(), nullable=False),
    pa.field("n_frames", pa.int32(), nullable=False),
    pa.field("n_shots", pa.int32(), nullable=False),
    pa.field("duration_s", pa.float64(), nullable=False),
    pa.field("crf", pa.int32(), nullable=False),
])

SHOTS = pa.schema([
    pa.field("video_id", pa.string(), nullable=False),
    pa.field("shot_index", pa.int32(), nullable=False),
    pa.field("start_frame", pa.int32(), nullable=False),
    pa.field("end_frame", pa.int32(), nullable=False),
    pa.field("transition_in", pa.string(), nullable=False),
    pa.field("transition_frames", pa.int32(), nullable=False),
    pa.field("subjects", pa.list_(SUBJECT), nullable=False),
    pa.field("subject_keys", pa.list_(pa.string()), nullable=False),
    pa.field("colours", pa.list_(pa.string()), nullable=False),
    pa.field("motions", pa.list_(pa.string()), nullable=False),
    pa.field("count", pa.int32(), nullable=False),
    pa.field("camera", pa.string(), nullable=False),
    pa.field("scene", pa.string(), nullable=False),
    pa.field("style", pa.string(), nullable=False),
    pa.field("defects", pa.list_(pa.string()), nullable=False),
    pa.field("static_content", pa.bool_(), nullable=False),
    pa.field("overlay", pa.string(), nullable=False),
    pa.field("overlay_x0", pa.int32()),
    pa.field("overlay_y0", pa.int32()),
    pa.field("overlay_x1", pa.int32()),
    pa.field("overlay_y1", pa.int32()),
    pa.field("unsafe", pa.bool_(), nullable=False),
    pa.field("dup_group", pa.int64()),
    pa.field("dup_variant", pa.string(), nullable=False),
    pa.field("shot_seed", pa.int64(), nullable=False),
    pa.field("caption_en", pa.string(), nullable=False),
    pa.field("caption_zh", pa.string(), nullable=False),
])
