"""The `sourcing` preset section: where raw videos come from and what ingestion accepts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from resources.params import Section


class SourceSpec(Section):
    """One source of raw videos. Its batches become `raw_clips` partitions `<name>.<batch>`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["world", "folder", "s3"]
    # folder: a directory (relative paths are under the data root); each sub-folder is one batch.
    # s3: s3://bucket/prefix; each common prefix below it is one batch. world: unused.
    uri: str = ""


class SourcingSettings(Section):
    sources: list[SourceSpec] = Field(
        default_factory=lambda: [SourceSpec(name="world", kind="world")], min_length=1
    )
    # Files with other endings are still counted, and quarantined as `unsupported_extension`.
    extensions: list[str] = Field(default_factory=lambda: [".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"])
    min_frames: int = Field(default=2, ge=1, description="one-frame files are images, not videos")
    min_side: int = Field(default=32, ge=1, le=4096)
    max_side: int = Field(default=7680, ge=64, le=16384)
    max_aspect: float = Field(default=4.0, ge=1.0, le=20.0, description="longer/shorter side")
    max_duration_s: float = Field(default=4 * 3600.0, gt=0)
    # full: decode every frame (catches corruption mid-stream); keyframes: decode keyframes only.
    verify_decode: Literal["full", "keyframes"] = "full"
    workers: int = Field(default=2, ge=1, le=256, description="threads probing files (PyAV frees the GIL)")
    sensor_interval_s: int = Field(default=60, ge=5, le=86400)
    contact_sheet_count: int = Field(default=8, ge=0, le=64)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcingSettings:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique: {names}")
        return self
