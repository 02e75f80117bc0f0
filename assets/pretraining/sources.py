"""Latent sources for the curriculum: the packed_latents adapter and the per-stage view.

`StageView` maps one curriculum stage onto the packed latents (the mapping each preset documents):
  * resolution: latents whose side exceeds `latent_grid` are average-pooled down (tiny/small stand-in
    for encoding the clip at the stage's lower pixel resolution; paper scale packs each resolution);
  * fps: `frame_stride` 2 keeps every other latent frame (12 fps from 24 fps packs), 1 keeps all;
  * duration: at most `max_frames` latent frames;
  * text-to-image share: the first latent frame of a clip is an image (causal VAE), and images get
    `image_share` of the sampling mass;
  * quality: with `quality_quantile` q > 0 only clips above the q-quantile of both the aesthetic and
    the motion score stay (continue training's high-quality subset).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from models.dit.data import LatentSource


class PackedLatentSource:
    """Adapter over `assets.encoding.packed_dataset` (the VAE stage's loader).

    Expected row fields: latents (C, T, H, W), text_long / mask_long, text_short / mask_short
    (L, Dt) / (L,), shot_starts (latent frame where each shot begins), weight, and optional
    category, aesthetic, motion.
    """

    def __init__(self, store: Any, value: Any) -> None:
        from assets.encoding.packed_dataset import PackedDataset  # other engineer's loader

        self.ds = PackedDataset(store, value)

    def __len__(self) -> int:
        return len(self.ds)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - rows are immutable, the cache bounds disk reads
    def row(self, index: int) -> dict[str, Any]:
        return self.ds.row(index)

    def shape(self, index: int) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.row(index)["latents"].shape[1:])  # type: ignore[return-value]

    def weight(self, index: int) -> float:
        return float(self.row(index).get("weight", 1.0))

    def attribute(self, index: int, name: str) -> Any:
        return self.row(index).get(name)

    def sample(self, index: int, caption: str) -> dict[str, torch.Tensor]:
        r = self.row(index)
        text, mask = (r["text_short"], r["mask_short"]) if caption == "short" else (r["text_long"], r["mask_long"])
        t = r["latents"].shape[1]
        starts = [int(s) for s in r.get("shot_starts", [0])] or [0]
        frame_shot = torch.zeros(t, dtype=torch.long)
        for k, s in enumerate(starts):
            frame_shot[s:] = k
        # One caption per clip in the packed format: its tokens belong to the first shot unless the
        # row carries per-token shot ids (multi-shot captions).
        text_shot = torch.as_tensor(r.get("text_shot", torch.zeros(text.shape[0], dtype=torch.long)))
        return {
            "latents": torch.as_tensor(r["latents"]).float(),
            "text": torch.as_tensor(text).float(),
            "text_mask": torch.as_tensor(mask).bool(),
            "text_shot": text_shot.long(),
            "frame_shot": frame_shot,
        }


class StageView:
    """One stage's view of a source (see the module docstring)."""

    def __init__(
        self,
        base: LatentSource,
        *,
        latent_grid: int,
        max_frames: int,
        frame_stride: int = 1,
        image_share: float = 1.0,
        quality_quantile: float = 0.0,
        rows: list[int] | None = None,
    ) -> None:
        self.base, self.grid, self.max_frames, self.stride = base, latent_grid, max_frames, frame_stride
        rows = list(range(len(base))) if rows is None else list(rows)
        if quality_quantile > 0:
            rows = self._high_quality(rows, quality_quantile)
        self.items: list[tuple[int, str]] = []
        weights: list[float] = []
        videos = [i for i in rows if base.shape(i)[0] > 1] if max_frames > 1 else []
        img_share = 1.0 if not videos else image_share
        img_total = sum(base.weight(i) for i in rows) or 1.0
        vid_total = sum(base.weight(i) for i in videos) or 1.0
        if img_share > 0:
            for i in rows:
                self.items.append((i, "image"))
                weights.append(img_share * base.weight(i) / img_total)
        for i in videos:
            self.items.append((i, "video"))
            weights.append((1 - img_share) * base.weight(i) / vid_total)
        self.weights = weights

    def _high_quality(self, rows: list[int], q: float) -> list[int]:
        attr = getattr(self.base, "attribute", None)
        if attr is None:
            return rows
        keep = rows
        for name in ("aesthetic", "motion"):
            vals = [attr(i, name) for i in keep]
            if not vals or any(v is None or v != v for v in vals):  # missing or NaN: no filter
                continue
            cut = float(torch.tensor(vals, dtype=torch.float64).quantile(q))
            keep = [i for i, v in zip(keep, vals, strict=True) if v >= cut]
        return keep

    def __len__(self) -> int:
        return len(self.items)

    def _grid(self, h: int, w: int) -> tuple[int, int]:
        f = max(1, -(-max(h, w) // self.grid))
        return -(-h // f), -(-w // f)

    def shape(self, index: int) -> tuple[int, int, int]:
        i, kind = self.items[index]
        t, h, w = self.base.shape(i)
        hh, ww = self._grid(h, w)
        frames = 1 if kind == "image" else min(self.max_frames, -(-t // self.stride))
        return frames, hh, ww

    def weight(self, index: int) -> float:
        return self.weights[index]

    def sample(self, index: int, caption: str) -> dict[str, torch.Tensor]:
        i, _ = self.items[index]
        s = dict(self.base.sample(i, caption))
        frames, hh, ww = self.shape(index)
        lat = s["latents"][:, :: self.stride][:, :frames]  # (C, T', H, W)
        shots = s["frame_shot"][:: self.stride][:frames]
        if lat.shape[-2:] != (hh, ww):
            lat = F.adaptive_avg_pool2d(lat, (hh, ww))  # (C, T', hh, ww)
        s["latents"], s["frame_shot"] = lat.contiguous(), shots.contiguous()
        return s
