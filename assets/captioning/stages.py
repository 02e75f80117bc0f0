"""Plain stage logic of the captioning group (tables in, tables out); `defs.py` adapts it to Dagster."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from assets.captioning.captioner import SHOT_ATTRIBUTES, parse_or_none, shot_accuracy
from assets.captioning.frames import shot_frames
from assets.captioning.ground_truth import ClipTruth, GroundTruthShot, clip_truth, shot_ranges
from assets.captioning.schema import CUT_MARKER, SHOT_MARKER, DenseCaption, ShotCaption, render_caption
from assets.common.seeding import stable_seed


def _split_of(clip_id: str, seed: int, annotated: float, heldout: float) -> str | None:
    u = (stable_seed(seed, "annotate", clip_id) % 10**9) / 10**9
    if u >= annotated:
        return None
    v = (stable_seed(seed, "heldout", clip_id) % 10**9) / 10**9
    return "heldout" if v < heldout else "train"


def annotation_rows_from_truth(clips: pd.DataFrame, gt: list[GroundTruthShot], seed: int, annotated: float,
                               heldout: float) -> list[dict[str, Any]]:
    """The "manually annotated" subset on the world: a seeded share of curated clips, from ground truth."""
    by_video: dict[str, list[GroundTruthShot]] = {}
    for g in gt:
        by_video.setdefault(g.video_id, []).append(g)
    rows = []
    for clip in clips.to_dict("records"):
        split = _split_of(str(clip["clip_id"]), seed, annotated, heldout)
        if split is None:
            continue
        truth = clip_truth(clip, by_video)
        if truth is None:
            continue
        rows.append(_annotation_row(clip, truth.caption, list(truth.shot_labels), truth.n_shots, "ground_truth", split))
    return rows


def annotation_rows_from_import(clips: pd.DataFrame, imported: Mapping[str, tuple[DenseCaption, str]], seed: int,
                                heldout: float) -> list[dict[str, Any]]:
    """Human annotations: a detected shot is labelled with the annotated shot of the same index."""
    by_id = {str(c["clip_id"]): c for c in clips.to_dict("records")}
    rows = []
    for clip_id, (caption, annotator) in sorted(imported.items()):
        clip = by_id[clip_id]
        ranges = shot_ranges(int(clip["n_frames"]), clip.get("shot_boundaries"))
        labels = [caption.shots[min(i, caption.n_shots - 1)] for i in range(len(ranges))]
        split = _split_of(clip_id, seed, 1.0, heldout) or "train"
        rows.append(_annotation_row(clip, caption, labels, caption.n_shots, f"human:{annotator}", split))
    return rows


def _annotation_row(clip: Mapping[str, Any], caption: DenseCaption, labels: list[ShotCaption], true_n: int,
                    source: str, split: str) -> dict[str, Any]:
    from dataclasses import replace

    bounds = [int(b) for b in (clip.get("shot_boundaries") if clip.get("shot_boundaries") is not None else [])]
    return {
        "clip_id": str(clip["clip_id"]), "path": str(clip["path"]), "sha256": str(clip["sha256"]),
        "n_frames": int(clip["n_frames"]), "fps": float(clip["fps"]), "shot_boundaries": bounds,
        "n_shots": len(labels), "true_n_shots": int(true_n), "source": source, "split": split,
        "caption_json": json.dumps(caption.to_dict(), sort_keys=True),
        "shot_labels_json": json.dumps([replace(s, transition=None).to_dict() for s in labels], sort_keys=True),
        **{f"caption_{form}_{lang}": render_caption(caption, lang, form) for form in ("long", "short")
           for lang in ("en", "zh")},
    }


def load_clip_shots(rows: list[Mapping[str, Any]], local_path: Callable[[str], Any], frames: int,
                    size: int | tuple[int, int]) -> tuple[torch.Tensor, list[int]]:
    """Frames of every detected shot of the given clips: (total shots, T, 3, h, w) (h = w = size for an
    int, else size = (h, w): the native-aspect view the subject detector reads), and shots per clip."""
    out, per_clip = [], []
    for r in tqdm(rows, desc="decode shots", leave=False):
        ranges = shot_ranges(int(r["n_frames"]), r.get("shot_boundaries"))
        out.append(shot_frames(local_path(str(r["path"])), ranges, frames, size))
        per_clip.append(len(ranges))
    if not out:
        return torch.zeros(0, frames, 3, *((size, size) if isinstance(size, int) else size)), []
    return torch.cat(out), per_clip


def assemble(texts: list[str]) -> str:
    """Per-shot texts -> one clip caption with explicit shot markers (plain text for one shot)."""
    if len(texts) == 1:
        return texts[0]
    return f" {CUT_MARKER} ".join(f"{SHOT_MARKER.format(index=i + 1)} {t}" for i, t in enumerate(texts))


def caption_rows(clips: list[Mapping[str, Any]], per_clip: list[int], generated: dict[tuple[str, str], list[str]],
                 backend: str) -> list[dict[str, Any]]:
    """Build the `captions` rows from per-shot generated texts (keys: (lang, form))."""
    rows, k = [], 0
    for clip, n in zip(clips, per_clip, strict=True):
        shots = {key: texts[k:k + n] for key, texts in generated.items()}
        k += n
        parsed_en = [parse_or_none(t, "en") for t in shots[("en", "long")]]
        parsed_zh = [parse_or_none(t, "zh") for t in shots[("zh", "long")]]
        valid = all(p is not None for p in parsed_en + parsed_zh)
        caption = DenseCaption(tuple(parsed_en)) if all(p is not None for p in parsed_en) else None
        row: dict[str, Any] = {
            "clip_id": str(clip["clip_id"]), "path": str(clip["path"]), "sha256": str(clip["sha256"]),
            "n_frames": int(clip["n_frames"]), "fps": float(clip["fps"]),
            "width": int(clip.get("width") or 0), "height": int(clip.get("height") or 0),
            "duration_s": float(clip.get("duration_s") or int(clip["n_frames"]) / max(float(clip["fps"]), 1e-6)),
            "shot_boundaries": [int(b) for b in (clip.get("shot_boundaries")
                                                 if clip.get("shot_boundaries") is not None else [])],
            "n_shots": n,
            "shot_captions_en": shots[("en", "long")], "shot_captions_zh": shots[("zh", "long")],
            "shot_captions_short_en": shots[("en", "short")], "shot_captions_short_zh": shots[("zh", "short")],
            "caption_valid": valid,
            "caption_json": json.dumps(caption.to_dict(), sort_keys=True) if caption else "",
            # curation names the scores `aesthetic` / `motion`; imported annotations may use *_score
            "aesthetic_score": _score(clip, "aesthetic_score", "aesthetic"),
            "motion_score": _score(clip, "motion_score", "motion"),
            "backend": backend,
        }
        for lang in ("en", "zh"):
            for form in ("long", "short"):
                # the renderer adds the multi-shot change sentences when the caption parsed
                if caption is not None and lang == "en":
                    row[f"caption_{form}_{lang}"] = render_caption(caption, lang, form)
                elif lang == "zh" and all(p is not None for p in parsed_zh):
                    row[f"caption_{form}_{lang}"] = render_caption(DenseCaption(tuple(parsed_zh)), lang, form)
                else:
                    row[f"caption_{form}_{lang}"] = assemble(shots[(lang, form)])
        first = parsed_en[0] or parsed_zh[0]
        for a in ("subject", "colour", "motion"):
            row[a] = getattr(first.main, a) if first else ""
        for a in ("camera", "scene", "style"):
            row[a] = (getattr(first, a) or "") if first else ""
        rows.append(row)
    return rows


def heldout_accuracy(annotations: pd.DataFrame, captions: pd.DataFrame) -> dict[str, Any]:
    """Per-attribute accuracy of the captions of held-out annotated clips, per language, plus shot count."""
    held = annotations[annotations.split == "heldout"]
    cap = captions.set_index("clip_id")
    out: dict[str, Any] = {"clips": int(len(held))}
    truth: list[ShotCaption] = []
    pred: dict[str, list[ShotCaption | None]] = {"en": [], "zh": []}
    shot_hits = 0
    for r in held.to_dict("records"):
        if r["clip_id"] not in cap.index:
            continue
        c = cap.loc[r["clip_id"]]
        labels = [ShotCaption.from_dict(d) for d in json.loads(r["shot_labels_json"])]
        truth += labels
        for lang in ("en", "zh"):
            texts = list(c[f"shot_captions_{lang}"])
            pred[lang] += [parse_or_none(t, lang) for t in texts[: len(labels)]] + [None] * (len(labels) - len(texts))
        shot_hits += int(int(c["n_shots"]) == int(r["true_n_shots"]))
    out["shots"] = len(truth)
    for lang in ("en", "zh"):
        out[lang] = shot_accuracy(pred[lang], truth)
    out["shot_count"] = shot_hits / max(len(held), 1)
    out["mean"] = {k: float(np.mean([out["en"][k], out["zh"][k]])) for k in (*SHOT_ATTRIBUTES, "parsed")}
    return out


__all__ = ["ClipTruth", "annotation_rows_from_import", "annotation_rows_from_truth", "assemble", "caption_rows",
           "heldout_accuracy", "load_clip_shots"]


def _score(clip: dict[str, Any], *names: str) -> float:
    """The first present, non-null score among `names` (NaN when the clip has none)."""
    for name in names:
        v = clip.get(name)
        if v is not None and v == v:
            return float(v)
    return float("nan")
