"""Tokenizer, TextEncoder (embedded + real HF backend with a tiny random config), training, store round trip."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from assets.text_encoding.corpus import corpus_from_captions, synthetic_caption_corpus
from assets.text_encoding.settings import TextEncoderSettings
from assets.text_encoding.train import EMBEDDED_BACKEND, train_text_encoder
from models.text_encoder.config import CausalLMSize, build_causal_lm
from models.text_encoder.encoder import TextEncoder, load_text_encoder_dir
from models.text_encoder.tokenizer import load_tokenizer, train_bpe_tokenizer

TINY = dict(vocab_size=320, hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=64,
            batch_size=8, lr=5e-3, max_tokens=96)


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return synthetic_caption_corpus(60, seed=1)


def test_tokenizer_round_trips_chinese_english_and_anything(corpus, tmp_path):
    tok = train_bpe_tokenizer(corpus, 320)
    tok.save_pretrained(tmp_path)
    loaded = load_tokenizer(tmp_path)  # through AutoTokenizer, as a real checkpoint
    for text in [corpus[0], "画面中有一个红色的圆形。", "mixed 中文 and English 🚀 \x00 tab\t", "ÅÉ ß ｆｕｌｌ"]:
        ids = loaded(text, add_special_tokens=False)["input_ids"]
        assert loaded.decode(ids) == text
    # no token spans two Chinese characters: a swapped attribute changes its own tokens, not a whole clause
    ids = loaded("红色的圆形", add_special_tokens=False)["input_ids"]
    pieces = [loaded.convert_tokens_to_string([t]) for t in loaded.convert_ids_to_tokens(ids)]
    assert all(len(p.encode("utf-8", "surrogatepass")) <= 3 for p in pieces if "\ufffd" not in p)
    assert len(ids) >= 5
    assert loaded.eos_token == "<|endoftext|>" and loaded.pad_token_id == loaded.eos_token_id
    # training is deterministic
    assert train_bpe_tokenizer(corpus, 320).backend_tokenizer.to_str() == tok.backend_tokenizer.to_str()


def test_encode_shapes_mask_and_truncation(corpus, tmp_path):
    tok = train_bpe_tokenizer(corpus, 320)
    torch.manual_seed(0)
    model = build_causal_lm(CausalLMSize(32, 2, 4, 2, 64), len(tok), tok.eos_token_id, tok.pad_token_id)
    enc = TextEncoder(model, tok, layer=-1, backend="test")
    texts = ["a red circle", corpus[0], "红色圆形"]
    out = enc.encode_batch(texts, max_tokens=12)
    hidden, mask = out
    assert hidden.shape[0] == 3 and hidden.shape[1] <= 12 and hidden.shape[2] == 32
    assert mask.dtype == torch.bool and mask.shape == hidden.shape[:2]
    assert out.truncated == [False, True, False] and out.n_tokens[1] > 12
    assert mask[0].sum() == out.n_tokens[0] and torch.all(hidden[~mask] == 0)
    # a text's states do not depend on what it is batched with (right padding, causal attention)
    alone, _ = enc.encode(["a red circle"], max_tokens=12)
    assert torch.allclose(alone[0, : out.n_tokens[0]], hidden[0, : out.n_tokens[0]], atol=1e-5)
    # intermediate layer and default budget
    assert TextEncoder(model, tok, layer=0).encode(["x"])[0].shape[-1] == 32
    with pytest.raises(ValueError):
        TextEncoder(model, tok, layer=7)
    with pytest.raises(TypeError):
        enc.encode("not a list", 8)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_embedded_training_learns_and_is_deterministic(corpus, tmp_path):
    s = TextEncoderSettings(steps=40, **TINY)
    a = train_text_encoder(corpus, s, seed=3, out_dir=tmp_path / "a", trainer_kwargs={"enable_progress_bar": False})
    assert a.backend == EMBEDDED_BACKEND
    m = a.metrics
    assert m["val/loss"] < 0.75 * m["val/loss_before"], m  # learned the caption language (random: ln V)
    files = {p.name for p in a.directory.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "seedflow_text_encoder.json"} <= files
    enc = load_text_encoder_dir(a.directory)
    assert enc.backend == EMBEDDED_BACKEND and enc.max_tokens == 96
    h, mask = enc.encode(corpus[:2])
    assert h.shape[-1] == 32 and mask.any(dim=1).all()
    b = train_text_encoder(corpus, TextEncoderSettings(steps=40, **TINY), seed=3, out_dir=tmp_path / "b",
                           trainer_kwargs={"enable_progress_bar": False})
    assert _sha(a.directory / "model.safetensors") == _sha(b.directory / "model.safetensors")


def test_real_hf_backend_path_with_tiny_random_qwen2(corpus, tmp_path):
    """A 'real' checkpoint: a tiny random Qwen2 saved with save_pretrained, loaded via Auto* classes."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = train_bpe_tokenizer(corpus, 320)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    ckpt = tmp_path / "qwen-tiny"
    Qwen2ForCausalLM(cfg).save_pretrained(ckpt)
    tok.save_pretrained(ckpt)
    s = TextEncoderSettings(backend="hf", pretrained_path=str(ckpt), steps=3, batch_size=4, max_tokens=64, layer=-2)
    res = train_text_encoder(corpus[:20], s, seed=0, out_dir=tmp_path / "out", trainer_kwargs={"enable_progress_bar": False})
    assert res.backend == "hf:qwen-tiny"
    enc = load_text_encoder_dir(res.directory)
    assert enc.layer == -2 and enc.backend == "hf:qwen-tiny"
    hidden, mask = enc.encode(["a red circle", "红色的圆形"], max_tokens=64)
    assert hidden.shape[-1] == 32 and mask.sum() > 0
    # steps=0 uses the checkpoint as is, and a missing path is a clear error
    with pytest.raises(FileNotFoundError, match="config.json"):
        train_text_encoder(corpus[:4], TextEncoderSettings(backend="hf", pretrained_path=str(tmp_path / "nope")), 0,
                           tmp_path / "x")
    with pytest.raises(ValueError, match="pretrained_path"):
        train_text_encoder(corpus[:4], TextEncoderSettings(backend="hf"), 0, tmp_path / "y")


def test_corpus_from_captions_table():
    import pyarrow as pa

    table = pa.table({
        "clip_id": ["a", "b"],
        "caption_long_en": ["A red circle.", "A blue square."],
        "caption_short_zh": ["红色的圆形向左移动。", ""],
        "shot_captions_en": [["A red circle."], ["A blue square.", "A green star."]],
    })
    assert corpus_from_captions(table) == sorted(
        {"A red circle.", "A blue square.", "A green star.", "红色的圆形向左移动。"})
    with pytest.raises(ValueError, match="caption columns"):
        corpus_from_captions(pa.table({"clip_id": ["a"]}))
