"""The Seedance-style diffusion transformer (report 2.2) and its training infrastructure (6.1)."""

from models.dit.config import DiTConfig
from models.dit.model import SeedDiT

__all__ = ["DiTConfig", "SeedDiT"]
