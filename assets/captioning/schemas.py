"""Manifest schemas of the captioning group (defined once, here)."""

import pyarrow as pa

CAPTION_ANNOTATIONS = pa.schema([
    ("clip_id", pa.string()),
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("n_frames", pa.int64()),
    ("fps", pa.float64()),
    ("shot_boundaries", pa.list_(pa.int32())),
    ("n_shots", pa.int32()),  # shots detected by curation (what the captioner captions one by one)
    ("true_n_shots", pa.int32()),  # shots in the annotation (ground truth)
    ("source", pa.string()),  # "ground_truth" (synthetic world) or "human:<annotator>"
    ("split", pa.string()),  # "train" (captioner training) or "heldout" (accuracy)
    ("caption_json", pa.string()),  # DenseCaption.to_dict() as JSON
    ("shot_labels_json", pa.string()),  # one ShotCaption dict per detected shot
    ("caption_long_en", pa.string()),
    ("caption_long_zh", pa.string()),
    ("caption_short_en", pa.string()),
    ("caption_short_zh", pa.string()),
])

ANNOTATION_QUARANTINE = pa.schema([
    ("line", pa.int64()),
    ("clip_id", pa.string()),
    ("reason", pa.string()),
    ("raw", pa.string()),
])

CAPTIONS = pa.schema([
    ("clip_id", pa.string()),
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("n_frames", pa.int64()),
    ("fps", pa.float64()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("duration_s", pa.float64()),
    ("shot_boundaries", pa.list_(pa.int32())),
    ("n_shots", pa.int32()),
    ("caption_long_en", pa.string()),
    ("caption_long_zh", pa.string()),
    ("caption_short_en", pa.string()),
    ("caption_short_zh", pa.string()),
    ("shot_captions_en", pa.list_(pa.string())),  # long form, one per shot
    ("shot_captions_zh", pa.list_(pa.string())),
    ("shot_captions_short_en", pa.list_(pa.string())),
    ("shot_captions_short_zh", pa.list_(pa.string())),
    ("caption_valid", pa.bool_()),  # every shot's EN and ZH text parses in the caption grammar
    ("caption_json", pa.string()),  # parsed DenseCaption (EN) as JSON; "" when invalid
    # dominant attributes (first shot, first-named subject) for rebalancing; "" when unknown
    ("subject", pa.string()),
    ("colour", pa.string()),
    ("motion", pa.string()),
    ("camera", pa.string()),
    ("scene", pa.string()),
    ("style", pa.string()),
    ("aesthetic_score", pa.float64()),
    ("motion_score", pa.float64()),
    ("backend", pa.string()),
])

TRAINING_DATASET = pa.schema([
    *[CAPTIONS.field(n) for n in (
        "clip_id", "path", "sha256", "n_frames", "fps", "width", "height", "duration_s", "shot_boundaries",
        "n_shots", "caption_long_en", "caption_long_zh", "caption_short_en", "caption_short_zh",
        "shot_captions_en", "shot_captions_zh", "shot_captions_short_en", "shot_captions_short_zh",
        "subject", "scene", "motion", "style", "camera", "aesthetic_score", "motion_score")],
    ("sampling_weight", pa.float64()),  # mean 1 over the manifest; sample clips proportionally
    ("split", pa.string()),  # "train" / "val"
])

ACQUISITION_TARGETS = pa.schema([
    ("dimension", pa.string()),
    ("category", pa.string()),
    ("count", pa.int64()),
    ("share", pa.float64()),
    ("target_share", pa.float64()),
    ("clips_needed", pa.int64()),
])
