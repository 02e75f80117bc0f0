"""`WorldSettings`: the `world` section of a preset, the typed knobs of the synthetic world.

Read it with `resources.params.load_section(path, "world", WorldSettings)` (or `ParamsResource.section`).
Every rate is a probability per shot unless its comment says per video. Sizes are in pixels, times in
seconds. Defaults are the `tiny` preset; `orchestration/presets/<preset>/world.yaml` sets every key.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from resources.params import Section


class WorldSettings(Section):
    seed: int = Field(7, ge=0, le=2**31 - 1, description="root seed of the whole world")
    n_videos: int = Field(48, ge=1, le=100_000, description="raw videos to generate")
    fps: int = Field(12, ge=1, le=60, description="frame rate of every raw video")
    height: int = Field(144, ge=32, le=2160, description="landscape frame height (even)")
    width: int = Field(256, ge=32, le=3840, description="landscape frame width (even)")
    # Other aspect ratios per video, so aspect-ratio bucketing downstream has something to bucket.
    portrait_rate: float = Field(0.1, ge=0.0, le=1.0, description="per video: width and height swapped")
    square_rate: float = Field(0.1, ge=0.0, le=1.0, description="per video: height x height")
    min_duration_s: float = Field(4.0, ge=0.5, le=600.0, description="shortest raw video")
    max_duration_s: float = Field(14.0, ge=0.5, le=600.0, description="longest raw video")
    min_shot_s: float = Field(1.0, ge=0.25, le=120.0, description="shortest shot")
    max_shot_s: float = Field(4.0, ge=0.25, le=120.0, description="longest shot")
    max_subjects: int = Field(3, ge=1, le=3, description="subjects per shot: 1..max_subjects")
    same_subject_rate: float = Field(
        0.4, ge=0.0, le=1.0, description="extra subjects copy the first one (\"three red stars\")"
    )
    long_tail: float = Field(
        1.0, ge=0.0, le=4.0, description="exponent on the vocabulary weights (0 = uniform, 1 = declared)"
    )
    # Transitions between consecutive shots (the rest are hard cuts).
    dissolve_rate: float = Field(0.12, ge=0.0, le=1.0)
    fade_rate: float = Field(0.08, ge=0.0, le=1.0)
    transition_s: float = Field(0.5, ge=0.05, le=5.0, description="overlap length of dissolves and fades")
    # Injected defects (independent per shot; `static` excludes jitter and forces still/static).
    blur_rate: float = Field(0.07, ge=0.0, le=1.0)
    jitter_rate: float = Field(0.06, ge=0.0, le=1.0)
    static_rate: float = Field(0.06, ge=0.0, le=1.0)
    low_light_rate: float = Field(0.07, ge=0.0, le=1.0)
    unsafe_rate: float = Field(0.05, ge=0.0, le=1.0)
    # Burnt-in overlays (at most one per shot).
    watermark_rate: float = Field(0.07, ge=0.0, le=1.0)
    subtitle_rate: float = Field(0.07, ge=0.0, le=1.0)
    ticker_rate: float = Field(0.05, ge=0.0, le=1.0)
    # Near-duplicates: shots re-rendered from an earlier shot's spec with other noise/crop/resolution.
    duplicate_rate: float = Field(0.07, ge=0.0, le=1.0)
    noise_sigma: float = Field(2.0, ge=0.0, le=50.0, description="sensor noise std in 8-bit levels")
    # H.264 encoding (libx264 through PyAV, yuv420p, one thread for byte-determinism).
    crf_min: int = Field(20, ge=0, le=51, description="per video CRF drawn in [crf_min, crf_max]")
    crf_max: int = Field(28, ge=0, le=51)
    x264_preset: str = Field("veryfast", pattern=r"^(ultrafast|superfast|veryfast|faster|fast|medium)$")
    gop_s: float = Field(2.0, ge=0.1, le=20.0, description="keyframe interval")
    workers: int = Field(2, ge=1, le=2, description="generation processes (the machine has 2 cores)")

    @model_validator(mode="after")
    def _check_ranges(self) -> WorldSettings:
        if self.height % 2 or self.width % 2:
            raise ValueError("height and width must be even (yuv420p); e.g. 144 x 256")
        if self.min_duration_s > self.max_duration_s:
            raise ValueError("min_duration_s must be <= max_duration_s")
        if self.min_shot_s > self.max_shot_s:
            raise ValueError("min_shot_s must be <= max_shot_s")
        if self.crf_min > self.crf_max:
            raise ValueError("crf_min must be <= crf_max")
        if self.dissolve_rate + self.fade_rate > 1.0:
            raise ValueError("dissolve_rate + fade_rate must be <= 1")
        if self.watermark_rate + self.subtitle_rate + self.ticker_rate > 1.0:
            raise ValueError("watermark_rate + subtitle_rate + ticker_rate must be <= 1")
        if self.portrait_rate + self.square_rate > 1.0:
            raise ValueError("portrait_rate + square_rate must be <= 1")
        return self
