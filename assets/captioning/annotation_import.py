"""Import of human caption annotations (CSV or JSONL), validated with Great Expectations.

Schema (documented in the README, `.agents/readme/captioning.md`):

CSV, one row per shot:
    clip_id, shot_index (0-based), subjects, scene, style, camera, transition, annotator
    `subjects` = `subject|colour|count|motion` items separated by `;`, e.g. `circle|red|2|left; fish|blue|1|still`
    `transition` is empty for shot 0 and cut / dissolve / fade (or empty: unknown) for later shots.

JSONL, one clip per line, either structured
    {"clip_id": "...", "annotator": "...", "shots": [{"subjects": [{"subject": "circle", "colour": "red",
      "count": 2, "motion": "left"}], "scene": "sky", "style": "natural", "camera": "static",
      "transition": null}, ...]}
or as caption text in the dense caption grammar (parsed with `parse_caption`):
    {"clip_id": "...", "caption_en": "A red circle against a sky gradient. ..."}   (or "caption_zh")

Every value is a vocabulary key (`assets/sourcing/world/vocabulary.py`). Rows are validated by a GX
suite (column types, value sets, formats) with per-row results; a row that fails any expectation,
or whose clip is inconsistent (duplicate / missing shot indices, an unknown clip id), is quarantined
with its reasons, and the rest of the file is imported.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from assets.captioning.schema import CaptionParseError, DenseCaption, ShotCaption, SubjectCaption, parse_caption
from assets.sourcing.world import vocabulary as V

CSV_COLUMNS = ("clip_id", "shot_index", "subjects", "scene", "style", "camera", "transition", "annotator")
_SUBJECT_ITEM = r"[a-z_]+\|[a-z_]+\|[1-3]\|[a-z_]+"
SUBJECTS_REGEX = rf"^\s*{_SUBJECT_ITEM}(?:\s*;\s*{_SUBJECT_ITEM})*\s*;?\s*$"
MAX_SHOTS = 64


@dataclass
class ImportResult:
    annotations: dict[str, tuple[DenseCaption, str]] = field(default_factory=dict)  # clip_id -> (caption, annotator)
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # {line, clip_id, reason, raw}
    gx_success: bool = True
    gx_failed: list[str] = field(default_factory=list)


def _flatten_jsonl(path: Path, result: ImportResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                result.quarantine.append({"line": line_no, "clip_id": "", "reason": "invalid UTF-8",
                                          "raw": raw[:200].decode("utf-8", "replace")})
                continue
            if not text:
                continue
            try:
                obj = json.loads(text)
                if not isinstance(obj, dict):
                    raise ValueError("a line must hold a JSON object")
            except ValueError as exc:
                result.quarantine.append({"line": line_no, "clip_id": "", "reason": f"bad JSON: {exc}", "raw": text[:200]})
                continue
            clip_id = str(obj.get("clip_id") or "")
            annotator = str(obj.get("annotator") or "")
            shots = obj.get("shots")
            if shots is None:
                lang = "en" if "caption_en" in obj else "zh" if "caption_zh" in obj else None
                if lang is None:
                    result.quarantine.append({"line": line_no, "clip_id": clip_id,
                                              "reason": "needs 'shots', 'caption_en' or 'caption_zh'", "raw": text[:200]})
                    continue
                try:
                    shots = parse_caption(str(obj[f"caption_{lang}"]), lang).to_dict()["shots"]
                except (CaptionParseError, ValueError) as exc:
                    result.quarantine.append({"line": line_no, "clip_id": clip_id,
                                              "reason": f"caption_{lang} does not parse: {exc}", "raw": text[:200]})
                    continue
            if not isinstance(shots, list) or not shots:
                result.quarantine.append({"line": line_no, "clip_id": clip_id, "reason": "'shots' must be a non-empty list",
                                          "raw": text[:200]})
                continue
            for k, s in enumerate(shots):
                s = s if isinstance(s, dict) else {}
                subs = s.get("subjects") or []
                try:
                    subjects = "; ".join(
                        f"{d['subject']}|{d['colour']}|{d.get('count', 1)}|{d.get('motion', 'still')}" for d in subs
                    )
                except (KeyError, TypeError):
                    subjects = "<malformed>"
                rows.append({"line": line_no, "clip_id": clip_id, "shot_index": k, "subjects": subjects,
                             "scene": s.get("scene"), "style": s.get("style"), "camera": s.get("camera"),
                             "transition": s.get("transition"), "annotator": annotator})
    return rows


def _flatten_csv(path: Path, result: ImportResult) -> list[dict[str, Any]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.quarantine.append({"line": 0, "clip_id": "", "reason": f"file is not UTF-8: {exc}", "raw": ""})
        return []
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in CSV_COLUMNS[:7] if c not in (reader.fieldnames or [])]
    if missing:
        result.quarantine.append({"line": 1, "clip_id": "", "reason": f"missing columns {missing}", "raw": ""})
        return []
    rows = []
    for line_no, r in enumerate(reader, start=2):
        idx = r.get("shot_index")
        try:
            shot_index: Any = int(idx) if idx not in (None, "") else None
        except ValueError:
            shot_index = -1  # fails the range expectation, with the reason
        rows.append({"line": line_no, "clip_id": r.get("clip_id") or None, "shot_index": shot_index,
                     "subjects": r.get("subjects") or None,
                     **{k: (r.get(k) or None) for k in ("scene", "style", "camera", "transition")},
                     "annotator": r.get("annotator") or ""})
    return rows


def annotation_suite() -> list[Any]:
    """The GX suite every imported annotation row must pass."""
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="clip_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="shot_index"),
        gxe.ExpectColumnValuesToBeBetween(column="shot_index", min_value=0, max_value=MAX_SHOTS - 1),
        gxe.ExpectColumnValuesToNotBeNull(column="subjects"),
        gxe.ExpectColumnValuesToMatchRegex(column="subjects", regex=SUBJECTS_REGEX),
        gxe.ExpectColumnValuesToBeInSet(column="scene", value_set=V.keys("scene")),
        gxe.ExpectColumnValuesToBeInSet(column="style", value_set=V.keys("style")),
        gxe.ExpectColumnValuesToBeInSet(column="camera", value_set=V.keys("camera")),
        gxe.ExpectColumnValuesToBeInSet(column="transition", value_set=V.keys("transition")),
    ]


def _gx_row_failures(df: pd.DataFrame) -> tuple[dict[int, list[str]], bool, list[str]]:
    """Run the suite with COMPLETE results: row index -> reasons."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="ephemeral")
    batch = (ctx.data_sources.add_pandas(name="caption_annotations_import")
             .add_dataframe_asset(name="rows").add_batch_definition_whole_dataframe("whole")
             .get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name="caption_annotations_import", expectations=annotation_suite())
    res = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    reasons: dict[int, list[str]] = {}
    failed = []
    for r in res.results:
        if r.success:
            continue
        cfg = r.expectation_config
        name = f"{cfg.type}({cfg.kwargs.get('column', '')})"
        failed.append(name)
        for i in (r.result or {}).get("unexpected_index_list") or []:
            idx = int(i) if not isinstance(i, dict) else int(next(iter(i.values())))
            reasons.setdefault(idx, []).append(f"{name}: {df.loc[idx, cfg.kwargs.get('column')]!r}")
    return reasons, bool(res.success), failed


def _subjects(text: str) -> tuple[SubjectCaption, ...]:
    out = []
    for item in text.split(";"):
        if item.strip():
            s, c, n, m = (p.strip() for p in item.split("|"))
            out.append(SubjectCaption(s, c, int(n), m))
    return tuple(out)


def import_annotations(path: str | Path, known_clips: set[str] | None = None) -> ImportResult:
    """Read a CSV / JSONL annotation file; valid clips are imported, bad rows quarantined with reasons."""
    path = Path(path)
    result = ImportResult()
    if not path.exists():
        raise FileNotFoundError(f"annotation file {path} not found (captioning.annotation_path)")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _flatten_jsonl(path, result)
    elif suffix in (".csv", ".tsv"):
        rows = _flatten_csv(path, result)
    else:
        raise ValueError(f"annotation file must be .csv or .jsonl, got {path.name}")
    if not rows:
        return result
    df = pd.DataFrame(rows)
    df["shot_index"] = pd.to_numeric(df["shot_index"], errors="coerce").astype("Int64")
    reasons, result.gx_success, result.gx_failed = _gx_row_failures(df)

    by_clip: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, row in df.iterrows():
        rec = row.to_dict()
        why = list(reasons.get(int(i), []))
        shot = None
        if not why:
            try:
                shot = ShotCaption(_subjects(rec["subjects"]), scene=rec["scene"], style=rec["style"],
                                   camera=rec["camera"],
                                   transition=None if int(rec["shot_index"]) == 0 else rec["transition"])
            except (ValueError, TypeError) as exc:
                why.append(f"invalid shot: {exc}")
        if not why and known_clips is not None and rec["clip_id"] not in known_clips:
            why.append("unknown clip_id (not among the curated clips)")
        if why:
            result.quarantine.append({"line": int(rec["line"]), "clip_id": str(rec["clip_id"] or ""),
                                      "reason": "; ".join(why), "raw": json.dumps(_jsonable(rec), ensure_ascii=False)})
            by_clip.setdefault(str(rec["clip_id"]), []).append((-1, rec))
            continue
        by_clip.setdefault(str(rec["clip_id"]), []).append((int(rec["shot_index"]), {"shot": shot, **rec}))

    for clip_id, items in by_clip.items():
        if any(k < 0 for k, _ in items):
            # a clip with a bad shot is incomplete: keep none of it, say why for the good rows too
            for k, rec in items:
                if k >= 0:
                    result.quarantine.append({"line": int(rec["line"]), "clip_id": clip_id,
                                              "reason": "another shot of this clip was quarantined",
                                              "raw": json.dumps(_jsonable({x: y for x, y in rec.items() if x != "shot"}),
                                                                ensure_ascii=False)})
            continue
        indices = sorted(k for k, _ in items)
        if indices != list(range(len(indices))) or clip_id in result.annotations:
            for k, rec in items:
                result.quarantine.append({"line": int(rec["line"]), "clip_id": clip_id,
                                          "reason": f"shot indices must be 0..n-1 once per clip, got {indices}",
                                          "raw": ""})
            continue
        shots = [rec["shot"] for _, rec in sorted(items, key=lambda kv: kv[0])]
        result.annotations[clip_id] = (DenseCaption(tuple(shots)), str(items[0][1].get("annotator") or ""))
    result.quarantine.sort(key=lambda q: (q["line"], q["reason"]))
    return result


def _jsonable(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v is pd.NA else (int(v) if hasattr(v, "item") and not isinstance(v, str) else v))
            for k, v in rec.items()}
