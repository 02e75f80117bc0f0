"""The bad-input policy: frame counts not 1 + 4n, sizes not divisible by 16."""

from __future__ import annotations

import pytest
import torch

from models.vae.autoencoder import CausalVAE
from models.vae.shapes import conform_video, conformed_shape, restore


@pytest.mark.parametrize(
    "shape,policy,expected",
    [
        ((10, 70, 45), "trim", (9, 64, 32)),
        ((10, 70, 45), "pad", (13, 80, 48)),
        ((1, 16, 16), "trim", (1, 16, 16)),
        ((4, 33, 17), "trim", (1, 32, 16)),
        ((2, 8, 8), "pad", (5, 16, 16)),
        ((9, 64, 64), "pad", (9, 64, 64)),
    ],
)
def test_conformed_shape(shape, policy, expected):
    assert conformed_shape(*shape, 4, 16, policy) == expected


def test_trim_keeps_leading_frames_and_centre():
    x = torch.arange(10, dtype=torch.float32).view(1, 1, 10, 1, 1).expand(1, 3, 10, 70, 45).clone()
    x[:, :, :, 3, 6] = -1  # the first kept row/column of the centre crop: top (70-64)//2=3, left (45-32)//2=6
    y, info = conform_video(x, 4, 16, "trim")
    assert y.shape == (1, 3, 9, 64, 32) and info.changed
    assert y[0, 0, :, 5, 5].tolist() == list(range(9))  # frames 0..8 kept, frame 9 dropped
    assert (y[:, :, :, 0, 0] == -1).all()
    assert (info.crop_top, info.crop_left) == (3, 6)


def test_pad_repeats_last_frame_and_restores():
    x = torch.rand(1, 3, 6, 20, 30)
    y, info = conform_video(x, 4, 16, "pad")
    assert y.shape == (1, 3, 9, 32, 32)
    for f in (6, 7, 8):  # padded frames repeat the last real frame
        torch.testing.assert_close(y[:, :, f, :20, :30], x[:, :, -1])
    torch.testing.assert_close(y[:, :, :6, :20, :30], x)
    torch.testing.assert_close(restore(y, info), x)


def test_trim_too_small_raises_and_unknown_policy():
    with pytest.raises(ValueError, match="policy='pad'"):
        conformed_shape(5, 12, 40, 4, 16, "trim")
    with pytest.raises(ValueError, match="unknown shape policy"):
        conformed_shape(5, 32, 32, 4, 16, "stretch")  # type: ignore[arg-type]


def test_odd_input_round_trips_through_vae(tiny_cfg):
    torch.manual_seed(0)
    vae = CausalVAE(tiny_cfg).eval()
    x = torch.rand(1, 3, 7, 21, 35) * 2 - 1
    y, info = conform_video(x, 4, 16, "pad")
    with torch.no_grad():
        out = restore(vae.decode(vae.encode(y).mean), info)
    assert out.shape == x.shape
