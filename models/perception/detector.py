"""A small CenterNet-style subject detector, supervised by the world renderer's ground truth.

Real captioning and judging stacks read small objects through a pretrained detector; here the pipeline
pre-trains one on rendered shots whose ground truth says where every subject is (`targets.py`). One
fully convolutional network on a frame at its native aspect predicts, on a stride-2 grid:

* a subject-centre heatmap (penalty-reduced focal loss on Gaussian targets, as in CenterNet),
* the subject's radius (L1 at the centre cells, in grid cells),
* shape and colour logits (cross-entropy at the centre cell and its 8 neighbours), read at the peaks.

Decoding (`detect`): 3 x 3 max-pool non-maximum suppression on the heatmap, peaks above a threshold.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

N_SHAPES, N_COLOURS = 8, 7
STRIDE = 2


@dataclass(frozen=True)
class DetectorConfig:
    width: int = 24  # channels of the trunk
    threshold: float = 0.3  # heatmap peak threshold (set from training shots by `fit_threshold`)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SubjectDetector(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1 + 1 + 8 + 7, H/2, W/2): heat logit, radius, shape, colour logits."""

    def __init__(self, cfg: DetectorConfig = DetectorConfig()):
        super().__init__()
        c = cfg.width
        self.cfg = cfg
        # full-resolution stem (a subject can be 6 px wide), then a stride-2 grid whose dilated stack
        # sees ~35 px around each cell: a whole subject and the background next to it
        self.trunk = nn.Sequential(_conv(3, c // 2), _conv(c // 2, c, STRIDE), _conv(c, c), _conv(c, c, dilation=2),
                                   _conv(c, c, dilation=4))
        self.out = nn.Conv2d(c, 2 + N_SHAPES + N_COLOURS, 1)
        with torch.no_grad():  # prior: few cells are centres (CenterNet's bias init)
            self.out.bias[0] = -2.2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(x - 0.5))


def _targets(tracks: list[np.ndarray], classes: list[np.ndarray], h: int, w: int):
    """Per-frame heatmap (N, gh, gw), centre cells and their labels for a batch of frames."""
    gh, gw = -(-h // STRIDE), -(-w // STRIDE)
    heat = np.zeros((len(tracks), gh, gw), np.float32)
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    cells = []  # (frame, gy, gx, radius_cells, shape, colour)
    for n, (tr, cl) in enumerate(zip(tracks, classes)):
        for (x, y, r), (shape, colour, _) in zip(tr, cl):
            cx, cy, rc = (x - 0.5) / STRIDE, (y - 0.5) / STRIDE, r / STRIDE  # pixel centre -> grid coords
            sigma = max(rc / 3.0, 0.6)
            heat[n] = np.maximum(heat[n], np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)))
            gx, gy = int(np.clip(round(cx), 0, gw - 1)), int(np.clip(round(cy), 0, gh - 1))
            heat[n, gy, gx] = 1.0
            cells.append((n, gy, gx, rc, shape, colour))
    return heat, np.array(cells, dtype=np.float32).reshape(-1, 6)


def detector_loss(out: torch.Tensor, heat: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """CenterNet focal loss on the heatmap + radius L1 + shape/colour CE at the centre cells and neighbours."""
    p = out[:, 0].sigmoid().clamp(1e-4, 1 - 1e-4)  # (N, gh, gw)
    pos = heat.eq(1.0).float()
    focal = -(pos * (1 - p) ** 2 * p.log() + (1 - pos) * (1 - heat) ** 4 * p**2 * (1 - p).log()).sum()
    loss = focal / pos.sum().clamp(min=1.0)
    if cells.shape[0]:
        n, gy, gx = cells[:, 0].long(), cells[:, 1].long(), cells[:, 2].long()
        gh, gw = out.shape[-2:]
        terms = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                yy, xx = (gy + dy).clamp(0, gh - 1), (gx + dx).clamp(0, gw - 1)
                v = out[n, :, yy, xx]  # (M, C)
                wgt = 1.0 if dx == dy == 0 else 0.3
                terms.append(wgt * (F.cross_entropy(v[:, 2:2 + N_SHAPES], cells[:, 4].long())
                                    + F.cross_entropy(v[:, 2 + N_SHAPES:], cells[:, 5].long())))
        centre = out[n, :, gy, gx]
        loss = loss + 0.2 * F.l1_loss(centre[:, 1], cells[:, 3]) + sum(terms) / 3.4
    return loss


def train_detector(frames: np.ndarray, tracks: list[np.ndarray], classes: list[np.ndarray], *,
                   cfg: DetectorConfig = DetectorConfig(), epochs: int = 6, batch_size: int = 32, lr: float = 3e-3,
                   seed: int = 0, progress: bool = False) -> SubjectDetector:
    """frames (N, H, W, 3) uint8 with their tracks[i] (K, 3) x/y/radius and classes[i] (K, 3)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SubjectDetector(cfg)
    n, h, w = frames.shape[:3]
    heat, cells = _targets(tracks, classes, h, w)
    x_all = torch.from_numpy(frames).permute(0, 3, 1, 2)  # (N, 3, H, W) uint8
    heat_t, cells_t = torch.from_numpy(heat), torch.from_numpy(cells)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * -(-n // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.15)
    model.train()
    for _ in tqdm(range(epochs), desc="detector epochs", disable=not progress):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            b = perm[i:i + batch_size]
            if len(b) < 2:
                continue
            sel = torch.isin(cells_t[:, 0].long(), b)
            c = cells_t[sel].clone()
            remap = torch.full((n,), -1, dtype=torch.long)
            remap[b] = torch.arange(len(b))
            c[:, 0] = remap[c[:, 0].long()].float()
            loss = detector_loss(model(x_all[b].float().div(255.0)), heat_t[b], c)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


@torch.no_grad()
def detector_maps(model: SubjectDetector, frames: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(N, 3, H, W) float in [0, 1] -> (N, C, H/2, W/2) with the heat and class channels as probabilities
    (channel 0 heat sigmoid, 1 radius in pixels, then shape and colour softmaxes)."""
    model.eval()
    outs = []
    for i in range(0, frames.shape[0], batch):
        o = model(frames[i:i + batch])
        outs.append(torch.cat([o[:, :1].sigmoid(), o[:, 1:2] * STRIDE, o[:, 2:2 + N_SHAPES].softmax(1),
                               o[:, 2 + N_SHAPES:].softmax(1)], dim=1))
    return torch.cat(outs)


def peaks(maps: torch.Tensor, threshold: float, top: int = 4) -> list[np.ndarray]:
    """Per frame (M, 3 + 1 + 8 + 7): x, y (pixels), score, radius, shape probs, colour probs of the
    strongest `top` local maxima of the heatmap above `threshold`, strongest first."""
    heat = maps[:, :1]
    keep = (heat == F.max_pool2d(heat, 3, 1, 1)) & (heat >= threshold)  # (N, 1, gh, gw)
    out = []
    for n in range(maps.shape[0]):
        ys, xs = torch.nonzero(keep[n, 0], as_tuple=True)
        s = heat[n, 0, ys, xs]
        order = s.argsort(descending=True)[:top]
        ys, xs, s = ys[order], xs[order], s[order]
        rest = maps[n, 1:, ys, xs].T  # (M, 1 + 8 + 7)
        xy = torch.stack([xs.float() * STRIDE + 0.5, ys.float() * STRIDE + 0.5], dim=1)  # cell -> pixel centre
        out.append(torch.cat([xy, s[:, None], rest], dim=1).numpy())
    return out
