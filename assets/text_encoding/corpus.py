"""The text encoder's training corpus: every caption text of the `captions` manifest.

The report's text encoder is an LLM fine-tuned for the captions the DiT is trained on (2.2, 3.2); here
the corpus is all of them: long and short forms, English and Chinese, whole clips and single shots.
`synthetic_caption_corpus` renders sampled ground-truth shots through the caption schema instead; it
is the stand-in for tests and for running this stage before any captions exist, and says so.
"""

from __future__ import annotations

import random
from dataclasses import replace
from collections.abc import Iterable

import pyarrow as pa

from assets.captioning.schema import DenseCaption, render_caption

CAPTION_COLUMNS = (
    "caption_long_en",
    "caption_long_zh",
    "caption_short_en",
    "caption_short_zh",
    "shot_captions_en",
    "shot_captions_zh",
)


def _texts(values: Iterable[object]) -> Iterable[str]:
    for v in values:
        if isinstance(v, str):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _texts(v)


def corpus_from_captions(table: pa.Table) -> list[str]:
    """Unique non-empty caption texts of a captions manifest, in a stable (sorted) order."""
    present = [c for c in CAPTION_COLUMNS if c in table.column_names]
    if not present:
        raise ValueError(
            f"captions table has none of the caption columns {CAPTION_COLUMNS}; got {table.column_names}"
        )
    texts = {t.strip() for c in present for t in _texts(table.column(c).to_pylist()) if t and t.strip()}
    return sorted(texts)


def synthetic_caption_corpus(n_clips: int, seed: int) -> list[str]:
    """Fallback corpus: `n_clips` sampled ground-truth shots (1-2 per clip) rendered in all four forms."""
    from assets.prompting.synthesis import sample_shot

    rng = random.Random(seed)
    texts: set[str] = set()
    for _ in range(n_clips):
        shots = [sample_shot(rng)]
        if rng.random() < 0.3:  # a multi-shot clip: the next shot enters with a hard cut
            shots.append(replace(sample_shot(rng), transition="cut"))
        caption = DenseCaption(tuple(shots))
        for lang in ("en", "zh"):
            for form in ("long", "short"):
                texts.add(render_caption(caption, lang, form))
    return sorted(texts)
