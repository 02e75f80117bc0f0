"""The `pretraining` preset section: the DiT's widths, the flow, and the curriculum's stages."""

from __future__ import annotations

from pydantic import Field

from resources.params import Section


class DiTSettings(Section):
    hidden: int = Field(default=64, ge=16, le=8192)
    heads: int = Field(default=4, ge=1, le=128)
    depth: int = Field(default=2, ge=1, le=128, description="(spatial, temporal) block pairs")
    mlp_ratio: float = Field(default=4.0, ge=1.0, le=8.0)
    temporal_window: int = Field(default=4, ge=1, le=256, description="latent cells per side of a temporal window")
    temporal_sees_text: bool = False
    text_scope: str = Field(default="all", pattern="^(all|own)$")
    activation_checkpointing: bool = False


class FlowSettings(Section):
    logit_mean: float = 0.0
    logit_std: float = Field(default=1.0, gt=0.0)
    shift_tokens_lo: int = Field(default=16, ge=1)
    shift_lo: float = Field(default=1.0, gt=0.0)
    shift_tokens_hi: int = Field(default=1024, ge=2)
    shift_hi: float = Field(default=3.0, gt=0.0)
    text_dropout: float = Field(default=0.1, ge=0.0, le=1.0)


class StageSettings(Section):
    steps: int = Field(ge=1)
    lr: float = Field(gt=0.0, le=1.0)
    warmup_steps: int = Field(default=10, ge=0)
    anneal: bool = False
    token_budget: int = Field(default=512, ge=1, description="latent tokens per rank per step")
    latent_grid: int = Field(ge=1, description="max latent side; larger latents are pooled down")
    frame_stride: int = Field(default=1, ge=1, description="2 = every other latent frame (12 fps from 24)")
    max_frames: int = Field(default=1, ge=1, description="latent frames per clip (1 = images only)")
    image_share: float = Field(default=1.0, ge=0.0, le=1.0, description="share of text-to-image samples")
    i2v_share: float = Field(default=0.0, ge=0.0, le=1.0)
    keyframe_share: float = Field(default=0.0, ge=0.0, le=1.0, description="first+last and any-keyframe tasks")
    short_caption_share: float = Field(default=0.0, ge=0.0, le=1.0)
    quality_quantile: float = Field(default=0.0, ge=0.0, lt=1.0, description="keep clips above this aesthetic/motion quantile")


class SampleSettings(Section):
    prompts: list[str] = Field(default_factory=lambda: ["a red circle moves to the right"])
    steps: int = Field(default=12, ge=1, le=1000)
    method: str = Field(default="heun", pattern="^(euler|heun)$")
    cfg_scale: float = Field(default=3.0, ge=1.0, le=30.0)
    frames: int = Field(default=3, ge=1, description="latent frames of the logged sample videos")
    seed: int = 0


class PretrainingSettings(Section):
    dit: DiTSettings = Field(default_factory=DiTSettings)
    flow: FlowSettings = Field(default_factory=FlowSettings)
    stages: dict[str, StageSettings]
    samples: SampleSettings = Field(default_factory=SampleSettings)
    experiment: str = "seedflow-dit"
    checkpoint_every: int = Field(default=0, ge=0, description="training checkpoints every n steps (0 = off)")
    probe_clips: int = Field(
        default=4, ge=0, le=10_000,
        description="clips held out of every stage; the loss check compares their fixed-noise loss before/after",
    )
    probe_times: int = Field(default=8, ge=1, le=64, description="fixed flow times per probe clip")
    ablation_stages: list[str] = Field(
        default_factory=lambda: ["dit_t2i", "dit_joint_low"],
        description="curriculum prefix retrained with temporal_sees_text=true (dit_temporal_text_ablation)",
    )
