"""`BenchmarkingSettings`: the `benchmarking` preset section (report section 7).

Values live in `orchestration/presets/<preset>/benchmarking.yaml`; comments there say what the report
uses and how each preset scales it.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from resources.params import Section

DEFAULT_FLOORS = {
    # held-out accuracy a judge must reach or its blocking check fails (chance in brackets)
    # subject / colour / count / motion read the supervised subject detector (models.perception);
    # measured at the tiny preset: 0.74 / 0.66 / 0.86 / 0.70 (floors leave room for seed variance)
    "subject": 0.5,  # (1/8)
    "colour": 0.5,  # (1/7); bw / ink / retro styles remove most colour, so the ceiling is well under 1
    "count": 0.7,  # (1/3)
    "motion": 0.5,  # (1/10)
    "camera": 0.6,  # (1/8)
    "style": 0.75,  # (1/6)
    "scene": 0.7,  # (1/6)
    "shots": 0.5,  # (~1/4) shot detector, exact count on 1-4-shot videos
}


class BenchmarkingSettings(Section):
    # --- suite (report: 300 T2V + 300 I2V prompts, uniform over the taxonomy) ----------------------
    t2v_prompts: int = Field(24, ge=1, le=10_000)
    i2v_prompts: int = Field(12, ge=0, le=10_000)
    open_world_fraction: float = Field(0.25, ge=0.0, le=1.0, description="share of T2V prompts from the open world")
    languages: list[str] = Field(default_factory=lambda: ["en", "zh"])

    # --- generation (every model gets the same prompts, seeds and sizes) -------------------------
    height: int = Field(48, ge=16, le=2160)
    width: int = Field(48, ge=16, le=3840)
    fps: int = Field(8, ge=1, le=60)
    frames_per_shot: int = Field(12, ge=4, le=1000)
    sampling_steps: int = Field(8, ge=1, le=1000, description="sampler steps passed to generate()")
    reference_noise: float = Field(4.0, ge=0.0, le=50.0, description="sensor noise of the reference renders")
    latent_frames_per_shot: int = Field(2, ge=1, le=1000, description="DiT latent frames asked per requested shot")
    max_latent_frames: int = Field(4, ge=1, le=1000, description="cap on latent frames per video")
    models: list[str] = Field(
        default_factory=lambda: ["dit_t2i", "dit_joint_low", "dit_joint_high", "dit_joint_24fps",
                                 "dit_continue_training", "sft_specialists", "merged_model"],
        description="model assets to benchmark, curriculum order; a partitioned asset expands to its partitions",
    )

    # --- judges (trained on the synthetic world's ground truth) ----------------------------------
    judge_train_shots: int = Field(640, ge=16, le=1_000_000)
    judge_val_shots: int = Field(128, ge=8, le=100_000)
    judge_epochs: int = Field(12, ge=1, le=1000)
    judge_size: int = Field(48, ge=16, le=512)
    judge_width: int = Field(16, ge=4, le=512)
    judge_lr: float = Field(3e-3, gt=0.0, le=1.0)
    shot_val_videos: int = Field(24, ge=4, le=100_000)
    judge_floors: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_FLOORS))

    # --- scoring and arena -----------------------------------------------------------------------
    dynamic_threshold: float = Field(0.004, gt=0.0, le=1.0, description="flow magnitude / diagonal")
    tie_margin: float = Field(0.05, ge=0.0, le=1.0, description="raw-score gap under which the auto rater says Same")
    bootstrap: int = Field(300, ge=10, le=100_000, description="bootstrap resamples for GSB and Elo intervals")
    bt_prior: float = Field(0.5, ge=0.0, le=100.0, description="virtual ties per model pair (Elo shrinkage)")
    alpha: float = Field(0.05, gt=0.0, lt=0.5, description="intervals are (1 - alpha)")
    human_labels: str = Field("", description="CSV of rater labels to import ('' = automatic rater only)")
    export_pairs: int = Field(24, ge=0, le=100_000, description="pairs in the raters' HTML page (videos embedded)")
    temporal_text_variant: str = Field(
        "", description="model partition of the DiT trained with temporal_sees_text=True ('' = ablation off)"
    )
    temporal_text_baseline: str = Field(
        "dit_joint_low", description="the default-config model the variant is compared with (same stages, same data)"
    )
    seed: int = Field(0, ge=0)

    @field_validator("languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if x not in ("en", "zh")]
        if bad or not v:
            raise ValueError(f"languages must be a non-empty subset of ['en', 'zh'], got {v}")
        return v

    @field_validator("judge_floors")
    @classmethod
    def _floors(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(DEFAULT_FLOORS)
        if unknown:
            raise ValueError(f"unknown judges {sorted(unknown)}; judges: {sorted(DEFAULT_FLOORS)}")
        if any(not 0.0 <= x <= 1.0 for x in v.values()):
            raise ValueError("judge floors are accuracies in [0, 1]")
        return {**DEFAULT_FLOORS, **v}
