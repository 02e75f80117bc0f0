import warnings

import pytest
import torch

from models.vae.config import VAEConfig


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="perceptual loss uses fallback")


@pytest.fixture
def tiny_cfg() -> VAEConfig:
    # The paper's ratios (4, 16, 16) at toy widths; 3D kernels everywhere so causality is tested in full.
    return VAEConfig(
        latent_channels=8,
        encoder_channels=(8, 8, 16, 16, 16),
        decoder_channels=(8, 8, 16, 16, 16),
        num_res_blocks=1,
        decoder_res_blocks=1,
        norm_groups=4,
    )
