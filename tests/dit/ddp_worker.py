"""Two-process CPU DDP run (gloo), launched by test_training.py::test_ddp_two_processes.

Lightning's DDP launcher re-runs this script for rank 1. Each rank writes its final weights' hash
and the token counts of its batches to <out>/rank<r>.json.
"""

import hashlib
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
torch.set_num_threads(1)

from resources.compute import ComputeResource  # noqa: E402
from tests.dit._tiny import DIT, FLOW, source, stage  # noqa: E402

from models.dit.training import DiTTrainingModule, make_trainer  # noqa: E402


def main(out: str) -> None:
    st = stage(steps=3)
    module = DiTTrainingModule(DIT, FLOW, st, source())
    kwargs = ComputeResource(strategy="ddp", devices=2).trainer_kwargs()
    trainer = make_trainer(st, trainer_kwargs=kwargs, progress=False)
    trainer.fit(module)
    h = hashlib.sha256()
    for k, v in sorted(module.dit.state_dict().items()):
        h.update(k.encode())
        h.update(v.numpy().tobytes())
    rank = trainer.global_rank
    Path(out, f"rank{rank}.json").write_text(
        json.dumps({"rank": rank, "world": trainer.world_size, "weights": h.hexdigest(), "tokens": module.batch_tokens})
    )


if __name__ == "__main__":
    main(sys.argv[1])
