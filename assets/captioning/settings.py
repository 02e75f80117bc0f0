"""The `captioning` preset section: annotations, the captioner's recipe, rebalancing and its schedule.

Values live in `orchestration/presets/<preset>/captioning.yaml`; the comments there say what the
report uses and how each preset scales it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from resources.params import Section


class CaptioningSettings(Section):
    # --- caption_annotations (the "manually annotated" subset) --------------------------------
    annotation_source: Literal["ground_truth", "import"] = "ground_truth"
    annotation_path: str = ""  # import: local CSV / JSONL of human annotations (schema in the README)
    annotated_fraction: float = Field(0.6, gt=0.0, le=1.0)  # share of curated clips that get annotated
    heldout_fraction: float = Field(0.25, ge=0.0, lt=1.0)  # annotated clips kept out of training (accuracy)

    # --- captioner -------------------------------------------------------------------------------
    backend: Literal["embedded", "hf"] = "embedded"
    hf_path: str = ""  # hf: local directory of a transformers vision-language checkpoint (Qwen2-VL style)
    frames_per_shot: int = Field(8, ge=2, le=64)  # frames sampled evenly from each shot
    frame_size: int = Field(64, ge=16, le=448)  # square side the frames are resized to (multiple of 8)
    channels: int = Field(24, ge=4, le=1024)  # embedded visual encoder: CNN base channels
    # subject detector of the frozen encoder (models/captioner/perception.py): it reads frames at native
    # aspect, view_height x view_width (even; 0 x 0: off, the encoder sees the squashed frames only)
    view_height: int = Field(0, ge=0, le=1080)
    view_width: int = Field(0, ge=0, le=1920)
    perception_frames: int = Field(6, ge=2, le=64)  # frames per shot the detector reads
    detector_shots: int = Field(160, ge=8, le=1_000_000)  # rendered shots with subject positions to train it
    detector_epochs: int = Field(6, ge=1, le=1000)
    detector_width: int = Field(24, ge=4, le=512)
    percept_epochs: int = Field(150, ge=1, le=10000)  # the small heads over the detector's evidence
    width: int = Field(64, ge=16, le=4096)  # hidden size of visual tokens and decoder
    decoder_layers: int = Field(2, ge=1, le=48)
    heads: int = Field(4, ge=1, le=64)
    max_tokens: int = Field(48, ge=16, le=4096)  # longest per-shot caption in phrase-level tokens
    hf_frames: int = Field(4, ge=1, le=64)  # hf backend: frames shown to the VLM per shot
    hf_max_new_tokens: int = Field(160, ge=8, le=4096)  # hf backend: generation budget per shot
    # phase 1: the visual encoder is pre-trained (attribute heads), then frozen (report: Tarsier2's
    # visual encoder stays frozen and the language model is fully fine-tuned)
    encoder_epochs: int = Field(30, ge=1, le=10000)
    # labelled shots rendered on the fly with the world's renderer to pre-train the visual encoder
    # (synthetic augmentation; 0 disables, then only the annotated shots are used)
    augment_shots: int = Field(300, ge=0, le=1_000_000)
    decoder_epochs: int = Field(40, ge=1, le=10000)
    # caption forms the decoder is trained on (both: the report's long + short captions; a text-to-video-only
    # captioner may train on long alone, which learns the long grammar from fewer shots)
    decoder_forms: list[Literal["long", "short"]] = Field(default_factory=lambda: ["long", "short"], min_length=1)
    batch_size: int = Field(64, ge=1, le=4096)
    lr: float = Field(3e-3, gt=0.0, le=1.0)  # peak of the one-cycle schedule
    # decoding: 1 greedy; k > 1 beam search, the most likely of the k captions that follow the caption grammar
    beams: int = Field(1, ge=1, le=16)
    n_samples: int = Field(6, ge=0, le=200)  # sample captions logged to MLflow beside their clips

    # --- training_dataset (distribution rebalancing) ---------------------------------------------
    rebalance_dimensions: list[str] = Field(
        default_factory=lambda: ["subject", "scene", "motion", "style", "camera", "duration", "resolution", "motion_score"]
    )
    rebalance_power: float = Field(0.5, ge=0.0, le=1.0)  # weight ~ freq^-power per dimension (0: none, 1: full)
    weight_cap: float = Field(5.0, gt=1.0, le=1000.0)  # no clip above cap x the mean weight
    weight_floor: float = Field(0.2, gt=0.0, lt=1.0)  # no clip below floor x the mean weight
    acquisition_share: float = Field(0.5, gt=0.0, le=1.0)  # categories below this x uniform share are targets
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    schedule_cron: str = "0 3 * * 0"  # weekly rebalancing
    schedule_enabled: bool = False

    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "CaptioningSettings":
        if self.frame_size % 8:
            raise ValueError("frame_size must be a multiple of 8 (the encoder's token grid is 8 x 8)")
        if (self.view_height > 0) != (self.view_width > 0) or self.view_height % 2 or self.view_width % 2:
            raise ValueError("view_height and view_width: both 0 (off) or both even and positive")
        if self.width % self.heads:
            raise ValueError("width must be divisible by heads")
        if self.annotation_source == "import" and not self.annotation_path:
            raise ValueError("annotation_source 'import' needs annotation_path")
        if self.backend == "hf" and not self.hf_path:
            raise ValueError("backend 'hf' needs hf_path (a local transformers checkpoint directory)")
        if self.weight_floor >= self.weight_cap:
            raise ValueError("weight_floor must be below weight_cap")
        known = {"subject", "scene", "motion", "style", "camera", "colour", "duration", "resolution",
                 "motion_score", "n_shots", "aspect"}
        bad = [d for d in self.rebalance_dimensions if d not in known]
        if bad:
            raise ValueError(f"unknown rebalance dimensions {bad}; known: {sorted(known)}")
        return self

    @property
    def view_shape(self) -> tuple[int, int]:
        """(H, W) of the frames the captioner is given: native aspect with the detector, else S x S."""
        return (self.view_height, self.view_width) if self.view_height else (self.frame_size, self.frame_size)
