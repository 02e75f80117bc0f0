"""Sizes of the embedded default decoder-only LM (a small Qwen2), as a typed config.

The report's text encoder is "a fine-tuned decoder-only LLM" (2.2) and the prompt engineer starts from
Qwen2.5-14B (2.4). The embedded default is the same architecture class, `Qwen2ForCausalLM`, at a width
the tiny preset trains in seconds on CPU; only the numbers differ from a real checkpoint, so the loading,
encoding, fine-tuning and LoRA code is the code a user with real weights runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from transformers import Qwen2Config, Qwen2ForCausalLM


@dataclass(frozen=True)
class CausalLMSize:
    hidden_size: int = 64  # Qwen2.5-14B: 5120
    num_layers: int = 2  # Qwen2.5-14B: 48
    num_heads: int = 4  # Qwen2.5-14B: 40
    num_kv_heads: int = 2  # grouped-query attention, as Qwen2.5 (14B: 8)
    intermediate_size: int = 128  # SwiGLU width (14B: 13824)
    max_positions: int = 512  # RoPE table length; the text budget is far below it

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def build_causal_lm(size: CausalLMSize, vocab_size: int, eos_token_id: int, pad_token_id: int) -> Qwen2ForCausalLM:
    """A randomly initialised Qwen2 causal LM (call `torch.manual_seed` first for reproducible weights)."""
    if size.hidden_size % size.num_heads:
        raise ValueError(f"hidden_size {size.hidden_size} must be divisible by num_heads {size.num_heads}")
    if size.num_heads % size.num_kv_heads:
        raise ValueError(f"num_heads {size.num_heads} must be divisible by num_kv_heads {size.num_kv_heads}")
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=size.hidden_size,
        intermediate_size=size.intermediate_size,
        num_hidden_layers=size.num_layers,
        num_attention_heads=size.num_heads,
        num_key_value_heads=size.num_kv_heads,
        max_position_embeddings=size.max_positions,
        tie_word_embeddings=True,  # as the small Qwen2.5 models: halves the parameters of a tiny LM
        bos_token_id=eos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        use_cache=True,
    )
    return Qwen2ForCausalLM(config)
