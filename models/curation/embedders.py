"""Pretrained shot embedder for semantic dedup: a Hugging Face vision encoder loaded from a local path.

The embedded default is the weight-free band-pass descriptor (`assets.curation.dedup`, named
`fallback:descriptor`). At real scale dedup runs on a pretrained encoder (CLIP / SigLIP / DINOv2 style,
as public curation pipelines do): each of a shot's thumbnails is encoded, the frame embeddings are
averaged in `time_bins` consecutive bins (a coarse temporal signature, so a pan and its reverse differ)
and the bins are concatenated and L2-normalised. The result is a plain (D,) vector per shot; cosine
similarity is its dot product, which `assets.curation.dedup.similar_pairs` accepts directly.

The rectification crop is applied to the thumbnails before encoding, so a cut-away overlay cannot make
two shots look alike. Nothing is downloaded: `path` is a local directory written by `save_pretrained`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class PretrainedShotEmbedder:
    def __init__(self, path: str | Path, time_bins: int = 3, batch: int = 64) -> None:
        from transformers import AutoImageProcessor, AutoModel

        if not str(path) or not Path(path).is_dir():
            raise ValueError(
                f"curation.embedder is 'pretrained' but embedder_path {str(path)!r} is not a local directory; "
                "point it at a Hugging Face vision encoder saved with save_pretrained (CLIP, SigLIP, DINOv2), "
                "or set curation.embedder: descriptor"
            )
        self.model = AutoModel.from_pretrained(str(path)).eval()
        try:
            self.processor = AutoImageProcessor.from_pretrained(str(path))
        except Exception:  # noqa: BLE001 - checkpoints without a processor: plain resize + normalise
            self.processor = None
        self.time_bins, self.batch = time_bins, batch
        self.backend = f"pretrained:{Path(path).name}"

    def _pixels(self, frames: list[np.ndarray]) -> torch.Tensor:
        if self.processor is not None:
            return self.processor(images=frames, return_tensors="pt")["pixel_values"]
        cfg = getattr(self.model.config, "vision_config", self.model.config)
        size = int(getattr(cfg, "image_size", 224))
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255.0)  # (N, 3, h, w)
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return (x - 0.5) / 0.5

    @torch.no_grad()
    def _encode(self, frames: list[np.ndarray]) -> np.ndarray:
        """(N, D) frame embeddings: the model's pooled image output (or mean token)."""
        outs = []
        for i in range(0, len(frames), self.batch):
            px = self._pixels(frames[i : i + self.batch])
            if hasattr(self.model, "get_image_features"):  # dual encoders (CLIP, SigLIP): the image tower
                e = self.model.get_image_features(pixel_values=px)
                e = e if isinstance(e, torch.Tensor) else e.pooler_output
            else:
                out = self.model(pixel_values=px)
                pooled = getattr(out, "pooler_output", None)
                e = pooled if pooled is not None else out.last_hidden_state.mean(1)
            outs.append(e.float().reshape(e.shape[0], -1).numpy())
        return np.concatenate(outs)

    def embed(self, thumbs: list[np.ndarray], crop: tuple[float, float, float, float] | None = None) -> np.ndarray:
        """thumbs: (T, T, 3) uint8 RGB in time order; crop: (x0, y0, x1, y1) fractions -> (time_bins * D,)."""
        frames = []
        for t in thumbs:
            if crop is not None:
                h, w = t.shape[:2]
                x0, y0 = int(np.floor(crop[0] * w)), int(np.floor(crop[1] * h))
                x1, y1 = max(x0 + 1, int(np.ceil(crop[2] * w))), max(y0 + 1, int(np.ceil(crop[3] * h)))
                t = t[y0:y1, x0:x1]
            frames.append(np.ascontiguousarray(t))
        e = self._encode(frames)  # (N, D)
        bins = np.array_split(np.arange(len(frames)), min(self.time_bins, len(frames)))
        parts = [e[b].mean(0) for b in bins]
        while len(parts) < self.time_bins:  # fewer thumbnails than bins: repeat the last bin
            parts.append(parts[-1])
        v = np.concatenate(parts).astype(np.float32)
        return v / max(1e-8, float(np.linalg.norm(v)))
