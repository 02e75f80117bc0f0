"""Compute for trainers: accelerator, devices, strategy (DDP / FSDP), precision, launcher.

In-process CPU training is the default. On GPUs the same trainer runs with DDP or FSDP, and
`launcher="subprocess"` runs it through `torchrun` outside the Dagster step process so that a
multi-GPU job never shares the step's interpreter.
"""

from __future__ import annotations

from typing import Any, Literal

import dagster as dg
from pydantic import Field


class ComputeResource(dg.ConfigurableResource):
    accelerator: Literal["cpu", "gpu", "auto"] = "cpu"
    devices: int = Field(default=1, ge=1)
    num_nodes: int = Field(default=1, ge=1)
    strategy: Literal["auto", "ddp", "ddp_spawn", "fsdp"] = "auto"
    precision: Literal["32-true", "16-mixed", "bf16-mixed", "bf16-true"] = "32-true"
    launcher: Literal["in_process", "subprocess"] = "in_process"
    threads: int = Field(default=0, ge=0, description="torch intra-op threads; 0 = every CPU (os.cpu_count())")
    activation_checkpointing: bool = False

    def trainer_kwargs(self) -> dict[str, Any]:
        """Arguments for `lightning.Trainer` (deterministic: CPU runs repeat to the byte)."""
        strategy: Any = self.strategy
        if self.strategy == "ddp" and self.accelerator == "cpu":
            from lightning.pytorch.strategies import DDPStrategy

            strategy = DDPStrategy(process_group_backend="gloo")
        return {
            "accelerator": self.accelerator,
            "devices": self.devices,
            "num_nodes": self.num_nodes,
            "strategy": strategy,
            "precision": self.precision,
            "deterministic": True,
        }

    def apply_threads(self) -> None:
        """Set torch's intra-op threads before a trainer runs. Always set, never inherited: assets share a
        process in `make demo`, and some pin one thread (the curation scorers, the benchmark); a trainer that
        inherited that got other float reduction orders, so its result depended on what ran before it
        (the tiny VAE's held-out PSNR: 15.4 dB after curation, 16.4 dB when started on its own)."""
        import os

        import torch

        torch.set_num_threads(self.threads or os.cpu_count() or 1)
