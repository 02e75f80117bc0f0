"""Manifest schemas of the sourcing group (defined once, here)."""

import pyarrow as pa

RAW_CLIPS = pa.schema(
    [
        ("video_id", pa.string()),  # first 16 hex digits of the content hash: stable across sources
        ("batch", pa.string()),  # the raw_clips partition key
        ("source", pa.string()),
        ("source_uri", pa.string()),  # where the file was found (never with credentials)
        ("source_relpath", pa.string()),  # path inside its batch; for the world, <video_id>.mp4
        ("path", pa.string()),  # store path of the copied bytes
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("duration_s", pa.float64()),
        ("fps", pa.float64()),
        ("n_frames", pa.int64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("codec", pa.string()),
        ("pix_fmt", pa.string()),
        ("rotation", pa.int32()),
        ("has_audio", pa.bool_()),
        ("bitrate", pa.int64()),
    ]
)

QUARANTINE = pa.schema(
    [
        ("batch", pa.string()),
        ("source", pa.string()),
        ("source_uri", pa.string()),
        ("source_relpath", pa.string()),
        ("size_bytes", pa.int64()),
        ("sha256", pa.string()),  # empty when the file could not be read
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)
