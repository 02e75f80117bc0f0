"""The real captioner backend: a Hugging Face video-language model loaded from a local directory.

`HfCaptioner.from_pretrained(path)` loads a Qwen2-VL style checkpoint (`Qwen2VLForConditionalGeneration`
or whatever `AutoModelForImageTextToText` resolves the config to), its tokenizer and its image processor
through transformers, all from `path` (no download: `local_files_only=True`). A shot is shown to the
model as its sampled frames, each an image in one user turn (Qwen2-VL's multi-image input); the video
processor path of transformers needs torchvision, which this environment does not have, so frames go
through the (PIL) image processor instead. Decoding is greedy and batched (left padding).

The instruction asks for the dense caption of the shot in the requested language and form; a model
fine-tuned on the caption schema (report 3.2: Tarsier2 with a frozen visual encoder and a fully
fine-tuned LM) answers in that grammar, which `assets.captioning.schema.parse_shot` reads back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

INSTRUCTIONS = {
    ("en", "long"): "Describe this video shot in detail: subjects with their colour and count, scene, visual style, "
                    "each subject's motion and the camera movement.",
    ("en", "short"): "Describe the motions in this video shot: each subject's motion and the camera movement.",
    ("zh", "long"): "详细描述这个视频镜头：主体及其颜色和数量、场景、视觉风格、每个主体的运动和镜头运动。",
    ("zh", "short"): "描述这个视频镜头中的运动：每个主体的运动和镜头运动。",
}


def _image_processor(path: Path) -> Any:
    """The checkpoint's image processor; the PIL implementation when torchvision is missing."""
    try:
        from transformers import AutoImageProcessor

        return AutoImageProcessor.from_pretrained(str(path), local_files_only=True)
    except (ImportError, ValueError, OSError):
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

        return Qwen2VLImageProcessorPil.from_pretrained(str(path), local_files_only=True)


def _load_model(path: Path, dtype: torch.dtype) -> Any:
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(str(path), local_files_only=True)
    if cfg.model_type in ("qwen2_vl", "qwen2_5_vl"):
        import transformers

        cls = getattr(transformers, "Qwen2VLForConditionalGeneration" if cfg.model_type == "qwen2_vl"
                      else "Qwen2_5_VLForConditionalGeneration")
    else:  # LLaVA-style and other image-text-to-text checkpoints
        from transformers import AutoModelForImageTextToText as cls
    return cls.from_pretrained(str(path), local_files_only=True, dtype=dtype).eval()


class HfCaptioner:
    """`Captioner` over a local transformers vision-language checkpoint (Qwen2-VL style)."""

    def __init__(self, model: Any, tokenizer: Any, image_processor: Any, path: str, frames: int = 4,
                 max_new_tokens: int = 160, image_size: int = 224):
        self.model, self.tokenizer, self.image_processor = model, tokenizer, image_processor
        self.backend = f"hf:{path}"
        self.frames, self.max_new_tokens, self.image_size = frames, max_new_tokens, image_size
        self.tokenizer.padding_side = "left"  # batched greedy generation continues from aligned ends
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        cfg = model.config
        self.image_token = tokenizer.convert_ids_to_tokens(cfg.image_token_id)
        self.merge = int(getattr(image_processor, "merge_size", 2))

    @classmethod
    def from_pretrained(cls, path: str | Path, *, frames: int = 4, max_new_tokens: int = 160,
                        image_size: int = 224, dtype: torch.dtype = torch.float32) -> "HfCaptioner":
        from transformers import AutoTokenizer

        p = Path(path)
        if not (p / "config.json").exists():
            raise FileNotFoundError(f"captioning.hf_path {p} has no config.json: point it at a local "
                                    "transformers checkpoint directory (e.g. a Qwen2-VL save_pretrained folder)")
        tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        return cls(_load_model(p, dtype), tok, _image_processor(p), str(p), frames, max_new_tokens, image_size)

    def _prompt(self, n_tokens_per_frame: list[int], lang: str, form: str) -> str:
        vision = "".join(f"<|vision_start|>{self.image_token * n}<|vision_end|>" for n in n_tokens_per_frame)
        return (f"<|im_start|>user\n{vision}{INSTRUCTIONS[(lang, form)]}<|im_end|>\n"
                f"<|im_start|>assistant\n")

    @torch.no_grad()
    def caption(self, frames: torch.Tensor, lang: str, form: str, batch: int = 8) -> list[str]:
        """frames (N, T, 3, S, S) in [0, 1] -> one text per shot (greedy)."""
        if (lang, form) not in INSTRUCTIONS:
            raise ValueError(f"unknown lang/form {lang!r}/{form!r}")
        T = frames.shape[1]
        pick = np.unique(np.linspace(0, T - 1, min(self.frames, T)).round().astype(int))
        out: list[str] = []
        for i in range(0, frames.shape[0], batch):
            chunk = frames[i:i + batch][:, pick]  # (B, F, 3, S, S)
            images = [(f.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
                      for shot in chunk for f in shot]  # B * F images (S, S, 3)
            vis = self.image_processor(images=images, return_tensors="pt",
                                       size={"shortest_edge": self.image_size ** 2, "longest_edge": self.image_size ** 2})
            grid = vis["image_grid_thw"]  # (B * F, 3)
            per_image = (grid.prod(dim=-1) // self.merge**2).tolist()
            nf = len(pick)
            texts = [self._prompt(per_image[b * nf:(b + 1) * nf], lang, form) for b in range(chunk.shape[0])]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True)
            gen = self.model.generate(
                **enc, pixel_values=vis["pixel_values"], image_grid_thw=grid, do_sample=False, num_beams=1,
                max_new_tokens=self.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
            )
            new = gen[:, enc["input_ids"].shape[1]:]
            out += [t.strip() for t in self.tokenizer.batch_decode(new, skip_special_tokens=True)]
        return out
