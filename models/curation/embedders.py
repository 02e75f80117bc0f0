"""Pretrained shot embedder for semantic dedup: a Hugging Face vision encoder loaded from a local path.

The embedded default is the weight-free band-pass descriptor (`assets.curation.dedup`, named
`fallback:descriptor`). At real scale dedup runs on a pretrained encoder (CLIP / SigLIP / DINOv2 style,
as public curation pipelines do): each of a shot's thumbnails is encoded and the frame embeddings go
through the descriptor's own frame handling (`dedup.frame_rows`: smoothed over neighbouring thumbnails,
L2-normalised, padded to FRAMES rows), so `dedup.similar_pairs` matches them frame by frame exactly as
it matches descriptors (a copy whose segment covers another stretch of the shot, or runs into the next
shot, still matches). The result is an (FRAMES, D) array per shot, compared by plain cosine.

The rectification crop is applied to the thumbnails before encoding, so a cut-away overlay cannot make
two shots look alike. Nothing is downloaded: `path` is a local directory written by `save_pretrained`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from assets.curation.dedup import frame_rows


class PretrainedShotEmbedder:
    def __init__(self, path: str | Path, batch: int = 64) -> None:
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
        self.batch = batch
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
        """thumbs: (T, T, 3) uint8 RGB in time order; crop: (x0, y0, x1, y1) fractions -> (FRAMES, D) frame rows."""
        frames = []
        for t in thumbs:
            if crop is not None:
                h, w = t.shape[:2]
                x0, y0 = int(np.floor(crop[0] * w)), int(np.floor(crop[1] * h))
                x1, y1 = max(x0 + 1, int(np.ceil(crop[2] * w))), max(y0 + 1, int(np.ceil(crop[3] * h)))
                t = t[y0:y1, x0:x1]
            frames.append(np.ascontiguousarray(t))
        return frame_rows(self._encode(frames))  # (FRAMES, D)
