"""Generation: multi-shot prompt -> text tokens per shot -> sampled latents -> decoded mp4 that plays."""

from __future__ import annotations

import av
import numpy as np
import torch
import torch.nn.functional as F

from assets.pretraining.generate import LoadedModel, generate
from assets.pretraining.video import write_mp4
from models.dit import SeedDiT
from models.dit.data import SyntheticLatents
from tests.dit._tiny import DIT, FLOW


class _WordEncoder:
    """Test double of the text encoder: the synthetic world's fixed word vectors."""

    def __init__(self) -> None:
        self.src = SyntheticLatents(1, [(1, 4, 4)], channels=4, text_dim=16)
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        rows = [[w for w in t.lower().split() if w in self.src.vocab] or ["a"] for t in texts]
        n = max(len(r) for r in rows)
        emb = torch.zeros(len(texts), n, 16)
        mask = torch.zeros(len(texts), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            emb[i, : len(r)] = self.src.embed(r)
            mask[i, : len(r)] = True
        return emb, mask


class _UpsampleVAE:
    """Test double of the VAE: latent channels 0-2 as RGB, 4x16x16 upsampling like the paper's ratios."""

    def decode(self, z):  # (B, C, T, H, W) -> (B, 3, 1 + 4 (T - 1), 16 H, 16 W)
        x = torch.tanh(z[:, :3])
        x = torch.cat([x[:, :, :1], x[:, :, 1:].repeat_interleave(4, 2)], 2)
        return F.interpolate(x, scale_factor=(1, 16, 16), mode="nearest")

    def encode(self, x):  # (B, 3, 1, H', W') -> (B, C, 1, H'/16, W'/16)
        z = F.avg_pool3d(x, (1, 16, 16))
        return torch.cat([z, z[:, :1]], 1)


def test_generate_multishot_and_keyframes_to_playable_mp4(tmp_path):
    torch.manual_seed(0)
    model = LoadedModel(SeedDiT(DIT).eval(), FLOW, {"latent_grid": [2, 3]}, _WordEncoder(), _UpsampleVAE())
    prompt = "[SHOT 1] a red shot moves left [SHOT 2] a blue shot moves up"
    first = np.full((32, 48, 3), 200, np.uint8)
    videos = generate(model, [prompt], seed=1, frames=3, steps=3, conditions=[(first, 0), (first, -1)])
    assert len(model.text_encoder.calls[0]) == 2  # one caption per shot
    v = videos[0]
    assert v.shape == (9, 32, 48, 3) and v.dtype == np.uint8
    again = generate(model, [prompt], seed=1, frames=3, steps=3, conditions=[(first, 0), (first, -1)])
    assert np.array_equal(v, again[0])  # seeded
    path = write_mp4(v, tmp_path / "x.mp4", fps=12)
    with av.open(str(path)) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(decoded) == 9 and decoded[0].shape == (32, 48, 3)
