"""The `text_encoder` stage (report 2.2). Downstream stages load it with `load_text_encoder(store, value)`."""

from __future__ import annotations

from typing import Any


def load_text_encoder(store: Any, value: dict[str, Any]) -> Any:
    """The `TextEncoder` stored by the `text_encoder` asset (`value` is that asset's value).

    Usage: `hidden, mask = load_text_encoder(store, value).encode(texts, max_tokens)` with hidden
    [B, L, D] float32 and mask [B, L] bool (see `models/text_encoder/encoder.py`).
    """
    from assets.text_encoding.checkpoint import load_stored_text_encoder

    return load_stored_text_encoder(store, value)


__all__ = ["load_text_encoder"]
