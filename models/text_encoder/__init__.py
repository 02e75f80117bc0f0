"""The text encoder (report 2.2): a decoder-only causal LM whose hidden states condition the DiT."""

from models.text_encoder.encoder import TextEncoder, TextEncoding, load_text_encoder_dir

__all__ = ["TextEncoder", "TextEncoding", "load_text_encoder_dir"]
