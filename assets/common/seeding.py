"""Stable seeds: every random choice derives from the preset seed plus a stable key.

Python's `hash()` of a str changes per process, so seeds are derived with SHA-256 instead.
"""

from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from any printable parts, identical across processes and machines."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1
