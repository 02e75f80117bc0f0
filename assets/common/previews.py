"""Preview images for Dagster metadata: contact sheets of frames, stored as PNG in the store."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import dagster as dg
import numpy as np
from PIL import Image, ImageDraw

from resources.store import ArtifactStore


def first_frame(path: str, size: int = 96) -> np.ndarray | None:
    """The first decodable frame of a video, fitted into a `size` box (None if none decodes)."""
    import av

    try:
        with av.open(path) as c:
            for frame in c.decode(video=0):
                img = frame.to_image()
                img.thumbnail((size, size))
                return np.asarray(img.convert("RGB"))
    except Exception:  # a preview must never fail an asset
        return None
    return None


def contact_sheet(frames: Sequence[np.ndarray], labels: Sequence[str] | None = None, cell: int = 96, cols: int = 4) -> bytes:
    """A grid PNG of frames (any sizes, letterboxed into `cell` squares) with optional labels."""
    n = max(len(frames), 1)
    cols = min(cols, n)
    rows = (n + cols - 1) // cols
    label_h = 12 if labels else 0
    sheet = Image.new("RGB", (cols * cell, rows * (cell + label_h)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for i, f in enumerate(frames):
        img = Image.fromarray(np.asarray(f, dtype=np.uint8))
        img.thumbnail((cell, cell))
        x, y = (i % cols) * cell, (i // cols) * (cell + label_h)
        sheet.paste(img, (x + (cell - img.width) // 2, y + (cell - img.height) // 2))
        if labels:
            draw.text((x + 2, y + cell), labels[i][:18], fill=(230, 230, 230))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def png_metadata(store: ArtifactStore, png: bytes, namespace: str, title: str) -> dict[str, dg.MetadataValue]:
    """Store a PNG and return metadata showing it inline (Markdown data URI) plus its store path."""
    ref = store.put_bytes(png, namespace=namespace, suffix=".png")
    b64 = base64.b64encode(png).decode()
    return {
        "preview": dg.MetadataValue.md(f"**{title}**\n\n![{title}](data:image/png;base64,{b64})"),
        "preview_path": dg.MetadataValue.path(ref.path),
    }
