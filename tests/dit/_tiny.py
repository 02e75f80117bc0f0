"""Shared tiny configs for the DiT training tests."""

from models.dit import DiTConfig
from models.dit.data import SyntheticLatents
from models.dit.training import StageConfig
from models.flow import FlowConfig

DIT = DiTConfig(latent_channels=4, text_dim=16, hidden=32, heads=2, depth=1, temporal_window=2)
FLOW = FlowConfig(shift_tokens_lo=16, shift_lo=1.0, shift_tokens_hi=256, shift_hi=2.0)


def source(n: int = 12, seed: int = 0) -> SyntheticLatents:
    return SyntheticLatents(n, [(1, 4, 4), (3, 4, 4)], channels=4, text_dim=16, seed=seed, max_shots=2)


def stage(**kw) -> StageConfig:
    base = {"steps": 6, "token_budget": 96, "seed": 1, "warmup_steps": 2, "task_shares": {"i2v": 0.3}}
    base.update(kw)
    return StageConfig(**base)
