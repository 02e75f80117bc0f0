"""The `finetuning` preset section: SFT specialists per curated category, and the merge recipe."""

from __future__ import annotations

from pydantic import Field

from resources.params import Section


class FinetuningSettings(Section):
    categories: list[str] = Field(min_length=1, description="curated categories, one specialist each")
    category_column: str = Field(default="category", description="packed_latents column naming the category")
    steps: int = Field(default=40, ge=1)
    lr: float = Field(default=1e-4, gt=0.0, le=1.0, description="smaller than pre-training (report 4.3)")
    token_budget: int = Field(default=512, ge=1)
    latent_grid: int = Field(default=8, ge=1)
    max_frames: int = Field(default=4, ge=1)
    i2v_share: float = Field(default=0.4, ge=0.0, le=1.0)
    val_every: int = Field(default=10, ge=1, description="validation interval in steps (early stopping)")
    patience: int = Field(default=2, ge=1, description="validations without improvement before stopping")
    keep_best: bool = Field(default=True, description="end on the lowest-validation-loss weights, the start included")
    val_clips: int = Field(default=4, ge=1, description="held-out clips per category for validation")
    merge_recipe: str = Field(default="uniform", pattern="^(uniform|data_weighted|val_weighted)$")
