"""The compute resource sets torch's thread count for every trainer instead of inheriting it."""

from __future__ import annotations

import os

import torch

from resources.compute import ComputeResource


def test_apply_threads_never_inherits_an_earlier_setting() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # what an earlier asset in the same process may leave behind
        ComputeResource().apply_threads()
        assert torch.get_num_threads() == (os.cpu_count() or 1)
        ComputeResource(threads=1).apply_threads()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
