"""The transformers backend, exercised end to end with a tiny randomly-initialised Qwen2-VL saved to disk.

Nothing is downloaded: the tokenizer is a word-level `tokenizers` model built here (with Qwen2-VL's
special tokens), the image processor is transformers' PIL Qwen2-VL processor, the model a two-layer
`Qwen2VLConfig`. All three are written with `save_pretrained` and loaded back through
`HfCaptioner.from_pretrained`, the code path a user with real weights runs.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
           "<|image_pad|>", "<|video_pad|>", "[UNK]"]


def _tiny_checkpoint(path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    words = ["user", "assistant", "a", "red", "circle", "moves", "the", "camera", "describe", "this", "video",
             "shot", ".", ":", ",", "\n"]
    vocab = {t: i for i, t in enumerate(SPECIAL + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.add_special_tokens(SPECIAL)
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  unk_token="[UNK]")
    tok.save_pretrained(path)
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"],
        eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|endoftext|>"],
    )
    torch.manual_seed(0)
    Qwen2VLForConditionalGeneration(cfg).save_pretrained(path)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=56 * 56).save_pretrained(path)


def test_hf_captioner_loads_local_checkpoint_and_generates_greedily(tmp_path) -> None:
    from models.captioner.hf import HfCaptioner

    _tiny_checkpoint(tmp_path)
    cap = HfCaptioner.from_pretrained(tmp_path, frames=2, max_new_tokens=5, image_size=56)
    assert cap.backend == f"hf:{tmp_path}"
    frames = torch.rand(3, 4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a = cap.caption(frames, "en", "long", batch=2)  # two batches: 2 + 1 shots, left padding
    assert len(a) == 3 and all(isinstance(t, str) for t in a)
    assert cap.caption(frames, "en", "long", batch=2) == a  # greedy: deterministic
    assert len(cap.caption(frames[:1], "zh", "short")) == 1


def test_hf_captioner_refuses_a_directory_without_a_checkpoint(tmp_path) -> None:
    from models.captioner.hf import HfCaptioner

    with pytest.raises(FileNotFoundError, match="hf_path"):
        HfCaptioner.from_pretrained(tmp_path)
