"""The curation stages as plain functions: tables and settings in, tables out (no Dagster).

Each function takes the upstream manifest table(s), the artifact store, the preset section and an
executor (anything with `.map(fn, items) -> list[Result]`), and returns a `StageOutput` with its
manifests as pyarrow tables plus counts. `defs.py` wraps each in an asset.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa

from assets.common.manifest import rows_to_table
from assets.curation import schemas
from assets.curation.cache import analysis_from_bytes, cache_key
from assets.curation.clips import ClipPlan, cell_mask, clip_stats, motion_level, plan_clips
from assets.curation.dedup import duplicate_groups, shot_embedding, similar_pairs
from assets.curation.overlays import best_crop, clip_overlays, scale_box
from assets.curation.settings import CurationSettings
from assets.curation.tasks import analyse_task, write_task
from assets.curation.trimming import MIN_WEIGHTY_FRAMES, ShotVerdict, Stretch, shot_reasons, stretches, union_reasons

log = logging.getLogger(__name__)


@dataclass
class StageOutput:
    tables: dict[str, pa.Table]
    counts: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


def _analysis_loader(store):
    @lru_cache(maxsize=16)
    def load(path: str):
        return analysis_from_bytes(store.read_bytes(path))

    return load


def _quarantine_row(video_id, relpath, path, stage, result) -> dict[str, Any]:
    reason = "worker_crash" if result.kind == "crash" else ("decode_error" if "DecodeError" in result.error else "error")
    return {
        "video_id": video_id, "source_relpath": relpath, "source_path": path, "stage": stage,
        "reason": reason, "detail": result.error[:2000], "attempts": result.attempts,
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# shots: the single decode pass per video (cached by content hash + settings)


def run_shots(store, raw: pa.Table, s: CurationSettings, executor) -> StageOutput:
    rows = raw.to_pylist()
    fp = s.fingerprint()
    todo, paths, cached = [], {}, set()
    for r in rows:
        name = f"curation/analysis/{cache_key(r['sha256'], fp)}"
        if store.has_ref(name) and store.exists(store.get_ref(name)["path"]):
            paths[r["video_id"]] = store.get_ref(name)["path"]
            cached.add(r["video_id"])
        else:
            todo.append(r)
    items = [
        {"path": str(store.local_path(r["path"])), "rotation": int(r.get("rotation") or 0), "settings": s.model_dump()}
        for r in todo
    ]
    quarantine = []
    for r, res in zip(todo, executor.map(analyse_task, items), strict=True):
        if res.ok:
            ref = store.put_bytes(res.value, namespace="curation/analysis", suffix=".npz")
            store.put_ref(f"curation/analysis/{cache_key(r['sha256'], fp)}", {"path": ref.path, "sha256": ref.sha256})
            paths[r["video_id"]] = ref.path
        else:
            quarantine.append(_quarantine_row(r["video_id"], r["source_relpath"], r["path"], "shots", res))
    load = _analysis_loader(store)
    shot_rows, video_rows = [], []
    for r in rows:
        if r["video_id"] not in paths:
            continue
        a = load(paths[r["video_id"]])
        spans: dict[int, list[int]] = {}
        for g in a.segments:
            sp = spans.setdefault(g.shot_index, [g.start, g.end])
            sp[0], sp[1] = min(sp[0], g.start), max(sp[1], g.end)
        for k, (st, en) in sorted(spans.items()):
            shot_rows.append({
                "video_id": r["video_id"], "batch": r["batch"], "source_relpath": r["source_relpath"],
                "source_path": r["path"], "source_sha256": r["sha256"], "shot_index": k, "start_frame": st,
                "end_frame": en, "n_frames": en - st, "fps": a.fps,
                "cut_detector": "start" if k == 0 else a.cut_kinds[k - 1], "analysis_path": paths[r["video_id"]],
            })  # fmt: skip
        video_rows.append({
            "video_id": r["video_id"], "batch": r["batch"], "source_relpath": r["source_relpath"],
            "source_path": r["path"], "source_sha256": r["sha256"], "rotation": int(r.get("rotation") or 0),
            "n_frames": a.n_frames, "fps": a.fps, "width": a.width, "height": a.height, "n_shots": len(spans),
            "analysis_path": paths[r["video_id"]], "analysis_cached": r["video_id"] in cached,
        })  # fmt: skip
    return StageOutput(
        tables={
            "shots": rows_to_table(shot_rows, schemas.SHOTS),
            "videos": rows_to_table(video_rows, schemas.VIDEOS),
            "quarantine": rows_to_table(quarantine, schemas.QUARANTINE),
        },
        counts={
            "videos_in": len(rows), "videos_analysed": len(todo) - len(quarantine), "videos_cached": len(cached),
            "videos_quarantined": len(quarantine), "shots": len(shot_rows),
            "frames_decoded": int(sum(v["n_frames"] for v in video_rows if not v["analysis_cached"])),
        },  # fmt: skip
        reasons=dict(Counter(q["reason"] for q in quarantine)),
    )


# ---------------------------------------------------------------------------------------------
# segmented_clips: <= max_clip_s, one or more shots, written as mp4 in one decode per source


def _clip_row(v: dict[str, Any], plan: ClipPlan, fps: float, w: int, h: int) -> dict[str, Any]:
    n = plan.end - plan.start
    return {
        "clip_id": f"{v['video_id']}-c{plan.index:03d}", "path": "", "sha256": "", "video_id": v["video_id"],
        "batch": v["batch"], "source_relpath": v["source_relpath"], "source_path": v["source_path"],
        "analysis_path": v["analysis_path"], "start_frame": plan.start, "end_frame": plan.end, "n_frames": n,
        "fps": fps, "width": w, "height": h, "duration_s": n / fps if fps else 0.0,
        "shot_boundaries": plan.shot_boundaries, "n_shots": len(plan.shot_boundaries), "segments": plan.segments,
        "crop_x0": 0, "crop_y0": 0, "crop_x1": w, "crop_y1": h, "n_overlays": 0,
        "blur": float("nan"), "jitter": float("nan"), "motion": float("nan"), "change": float("nan"), "luminance": float("nan"),
        "aesthetic": float("nan"), "safety": float("nan"), "quality_score": float("nan"),
        "motion_level": "", "resolution": f"{w - w % 2}x{h - h % 2}", "dup_group": "",
    }  # fmt: skip


def _dropped(row: dict[str, Any], stage: str, reasons: list[str], detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "clip_id": row["clip_id"], "video_id": row["video_id"], "source_relpath": row["source_relpath"],
        "start_frame": row["start_frame"], "end_frame": row["end_frame"], "stage": stage, "reason": reasons[0],
        "reasons": reasons, "detail": json.dumps(detail, sort_keys=True, default=float),
    }  # fmt: skip


def run_segmented(store, videos: pa.Table, s: CurationSettings, executor, workdir: Path) -> StageOutput:
    load = _analysis_loader(store)
    clips, dropped, quarantine, items, per_video = [], [], [], [], []
    for v in videos.to_pylist():
        a = load(v["analysis_path"])
        plans, short = plan_clips(a, s)
        for d in short:
            pseudo = {"clip_id": f"{v['video_id']}-f{d.start:06d}", "video_id": v["video_id"],
                      "source_relpath": v["source_relpath"], "start_frame": d.start, "end_frame": d.end}  # fmt: skip
            dropped.append(_dropped(pseudo, "segmented_clips", [d.reason], {"frames": d.end - d.start, "min_clip_s": s.min_clip_s}))
        if not plans:
            continue
        rows = [_clip_row(v, p, a.fps, a.width, a.height) for p in plans]
        outs = [workdir / f"{r['clip_id']}.mp4" for r in rows]
        items.append({
            "src": str(store.local_path(v["source_path"])), "rotation": v["rotation"], "crf": s.clip_crf,
            "preset": s.clip_preset, "deterministic": s.clip_deterministic,
            "ranges": [{"start": p.start, "end": p.end, "out": str(o)} for p, o in zip(plans, outs, strict=True)],
        })  # fmt: skip
        per_video.append((v, rows, outs))
    for (v, rows, outs), res in zip(per_video, executor.map(write_task, items), strict=True):
        if not res.ok:
            quarantine.append(_quarantine_row(v["video_id"], v["source_relpath"], v["source_path"], "segmented_clips", res))
            for r in rows:
                dropped.append(_dropped(r, "segmented_clips", ["source_quarantined"], {"error": res.error[:200]}))
            continue
        for r, out, n in zip(rows, outs, res.value, strict=True):
            if n != r["n_frames"]:  # a truncated source: keep what exists, say so
                if n == 0:
                    dropped.append(_dropped(r, "segmented_clips", ["write_failed"], {"written": n}))
                    continue
                r["end_frame"] = r["start_frame"] + n
                r["n_frames"], r["duration_s"] = n, n / r["fps"]
                r["shot_boundaries"] = [b for b in r["shot_boundaries"] if b < n]
                r["n_shots"] = len(r["shot_boundaries"])
            ref = store.put_file(out, namespace="curation/clips", suffix=".mp4")
            r["path"], r["sha256"] = ref.path, ref.sha256
            clips.append(r)
    return StageOutput(
        tables={
            "clips": rows_to_table(clips, schemas.CLIPS),
            "dropped": rows_to_table(dropped, schemas.DROPPED),
            "quarantine": rows_to_table(quarantine, schemas.QUARANTINE),
        },
        counts={"clips": len(clips), "dropped": len(dropped), "videos_quarantined": len(quarantine),
                "multi_shot_clips": sum(1 for c in clips if c["n_shots"] > 1)},  # fmt: skip
        reasons=dict(Counter(d["reason"] for d in dropped)),
    )


# ---------------------------------------------------------------------------------------------
# clip_analysis: clip-level scores, overlays and the crop, summed from the cached analysis


def _plan_of(row: dict[str, Any]) -> ClipPlan:
    return ClipPlan(0, row["start_frame"], row["end_frame"], list(row["segments"]), list(row["shot_boundaries"]))


def run_clip_analysis(store, clips: pa.Table, s: CurationSettings) -> StageOutput:
    load = _analysis_loader(store)
    out, kinds = [], Counter()
    for r in clips.to_pylist():
        a = load(r["analysis_path"])
        plan = _plan_of(r)
        st = clip_stats(a, plan)
        w, h = a.width, a.height
        overlays = clip_overlays(st, s)
        sx, sy = w / a.analysis_w, h / a.analysis_h
        boxes = [scale_box(o.box, sx, sy, w, h, s.overlay_pad) for o in overlays]
        crop = best_crop(boxes, w, h, s)
        if crop is not None and boxes:  # scores of the picture that is kept, overlays left out
            st = clip_stats(a, plan, cell_mask(crop, w, h, s.cell_grid))
        kinds.update(o.kind for o in overlays)
        out.append({
            "clip_id": r["clip_id"], "video_id": r["video_id"], "blur": st.sharpness, "lapvar": st.lapvar,
            "jitter": st.jitter, "motion": st.motion, "change": st.change, "luminance": st.luminance,
            "shot_scores": json.dumps(st.shot_scores, default=float),
            "overlay_kinds": [o.kind for o in overlays], "overlay_boxes": [list(b) for b in boxes],
            "crop_x0": crop[0] if crop else -1, "crop_y0": crop[1] if crop else -1,
            "crop_x1": crop[2] if crop else -1, "crop_y1": crop[3] if crop else -1,
            "crop_area": ((crop[2] - crop[0]) * (crop[3] - crop[1]) / (w * h)) if crop else 0.0,
        })  # fmt: skip
    return StageOutput(
        tables={"analysis": rows_to_table(out, schemas.CLIP_ANALYSIS)},
        counts={"clips": len(out), "with_overlays": sum(1 for o in out if o["overlay_boxes"]),
                "no_valid_crop": sum(1 for o in out if o["crop_x0"] < 0)},  # fmt: skip
        reasons=dict(kinds),
    )


# ---------------------------------------------------------------------------------------------
# rectified_clips: crop away overlays (re-encode only clips that carry one)


def run_rectified(store, clips: pa.Table, analysis: pa.Table, s: CurationSettings, executor, workdir: Path) -> StageOutput:
    info = {r["clip_id"]: r for r in analysis.to_pylist()}
    kept, dropped, items, todo = [], [], [], []
    for r in clips.to_pylist():
        a = info[r["clip_id"]]
        for k in ("blur", "jitter", "motion", "change", "luminance"):
            r[k] = a[k]
        r["n_overlays"] = len(a["overlay_boxes"])
        if not a["overlay_boxes"]:
            kept.append(r)
            continue
        if a["crop_x0"] < 0:
            dropped.append(_dropped(r, "rectified_clips", ["no_valid_crop"], {"overlays": a["overlay_boxes"], "min_crop_area": s.min_crop_area}))
            continue
        crop = [a["crop_x0"], a["crop_y0"], a["crop_x1"], a["crop_y1"]]
        out = workdir / f"{r['clip_id']}-rect.mp4"
        items.append({"src": str(store.local_path(r["path"])), "rotation": 0, "crf": s.clip_crf, "preset": s.clip_preset,
                      "deterministic": s.clip_deterministic, "ranges": [{"start": 0, "end": r["n_frames"], "out": str(out), "crop": crop}]})  # fmt: skip
        todo.append((r, crop, out))
    for (r, crop, out), res in zip(todo, executor.map(write_task, items), strict=True):
        if not res.ok or not res.value or res.value[0] == 0:
            dropped.append(_dropped(r, "rectified_clips", ["rectify_failed"], {"error": res.error[:300]}))
            continue
        ref = store.put_file(out, namespace="curation/rectified", suffix=".mp4")
        r["path"], r["sha256"] = ref.path, ref.sha256
        r["crop_x0"], r["crop_y0"], r["crop_x1"], r["crop_y1"] = crop
        r["width"], r["height"] = crop[2] - crop[0], crop[3] - crop[1]
        r["resolution"] = f"{r['width']}x{r['height']}"
        kept.append(r)
    kept.sort(key=lambda r: r["clip_id"])
    return StageOutput(
        tables={"clips": rows_to_table(kept, schemas.CLIPS), "dropped": rows_to_table(dropped, schemas.DROPPED)},
        counts={"clips_in": clips.num_rows, "clips": len(kept), "rectified": len(todo), "dropped": len(dropped)},
        reasons=dict(Counter(d["reason"] for d in dropped)),
    )


# ---------------------------------------------------------------------------------------------
# filtered_clips: quality (blur, jitter, static, low light, aesthetic) and safety


def crop_thumbs(thumbs: list[np.ndarray], row: dict[str, Any], full_w: int, full_h: int) -> np.ndarray:
    """Thumbnails (of the full frame) cut to the clip's crop box and resized back to T x T."""
    if not thumbs:
        return np.zeros((0, 1, 1, 3), np.uint8)
    T = thumbs[0].shape[0]
    fx0, fy0 = row["crop_x0"] / full_w, row["crop_y0"] / full_h
    fx1, fy1 = row["crop_x1"] / full_w, row["crop_y1"] / full_h
    if (fx0, fy0, fx1, fy1) == (0.0, 0.0, 1.0, 1.0) or fx1 <= fx0:
        return np.stack(thumbs)
    x0, y0 = int(fx0 * T), int(fy0 * T)
    x1, y1 = max(x0 + 2, int(round(fx1 * T))), max(y0 + 2, int(round(fy1 * T)))
    return np.stack([cv2.resize(t[y0:y1, x0:x1], (T, T), interpolation=cv2.INTER_LINEAR) for t in thumbs])


def quality_score(row: dict[str, Any], s: CurationSettings) -> float:
    """One number per clip for dedup's "keep the best": aesthetic, sharpness and safety margin."""
    sharp = float(np.clip(row["blur"], 0.0, 1.0))  # log-scaled crisp-edge fraction, 0-1
    safe = 1.0 - row["safety"] if np.isfinite(row["safety"]) else 1.0
    return float(np.mean([row["aesthetic"], sharp, safe]))


def _shot_verdicts(a, r: dict[str, Any], s: CurationSettings, aesthetic, safety) -> tuple[list[ShotVerdict], dict[int, np.ndarray]]:
    """Per shot of clip row `r`: scores of the picture the crop keeps, and why it fails (if it does).

    Also each shot's aesthetic P(good) per thumbnail, so a run of shots gets the mean over its frames."""
    plan = _plan_of(r)
    cropped = (r["crop_x0"], r["crop_y0"], r["crop_x1"], r["crop_y1"]) != (0, 0, a.width, a.height)
    keep = cell_mask((r["crop_x0"], r["crop_y0"], r["crop_x1"], r["crop_y1"]), a.width, a.height, s.cell_grid) if cropped else None
    st = clip_stats(a, plan, keep)
    shot_ids = sorted({a.segments[i].shot_index for i in r["segments"]})  # position k <-> k-th shot in time
    thumbs = [t for i in r["segments"] for _, t in a.segments[i].thumbs]
    owner = np.array([shot_ids.index(a.segments[i].shot_index) for i in r["segments"] for _ in a.segments[i].thumbs], int)
    th = crop_thumbs(thumbs, r, a.width, a.height)
    p_good = aesthetic.score(th) if len(th) else np.zeros(0, np.float32)
    p_unsafe = safety.score(th) if safety is not None and len(th) else None
    any_weighty = any(x["n"] >= MIN_WEIGHTY_FRAMES for x in st.shot_scores)
    bounds = list(r["shot_boundaries"]) + [r["n_frames"]]
    verdicts, good_of = [], {}
    for k, sc in enumerate(st.shot_scores):
        mine = owner == k
        good_of[k] = p_good[mine]
        scores = {
            "blur": sc["sharpness"], "jitter": sc["jitter"], "motion": sc["motion"], "change": sc["change"],
            "luminance": sc["luminance"], "lapvar": sc["lapvar"],
            # a shot without a thumbnail cannot be judged on looks; 0 fails it rather than passing it blind
            "aesthetic": float(np.mean(p_good[mine])) if mine.any() else 0.0,
            # median over the shot's thumbnails: robust to one misfiring frame
            "safety": float(np.median(p_unsafe[mine])) if p_unsafe is not None and mine.any() else float("nan"),
        }  # fmt: skip
        weighty = sc["n"] >= MIN_WEIGHTY_FRAMES or not any_weighty
        verdicts.append(ShotVerdict(k, bounds[k], bounds[k + 1], shot_reasons(scores, weighty, s, safety is not None), scores, weighty))
    return verdicts, good_of


def _run_row(r: dict[str, Any], a, piece: Stretch, verdicts: list[ShotVerdict], good_of: dict[int, np.ndarray],
             s: CurationSettings, whole: bool) -> dict[str, Any]:
    """The manifest row of a kept run of shots: frame range, shots, segments and the run's own scores."""
    shots = verdicts[piece.first : piece.last + 1]
    weighty = [v.scores for v in shots if v.weighty] or [v.scores for v in shots]
    row = dict(r)
    if not whole:
        ids = sorted({a.segments[i].shot_index for i in r["segments"]})[piece.first : piece.last + 1]
        row.update(
            clip_id=f"{r['clip_id']}-s{piece.first}", start_frame=r["start_frame"] + piece.start,
            end_frame=r["start_frame"] + piece.end, n_frames=piece.end - piece.start,
            duration_s=(piece.end - piece.start) / r["fps"], shot_boundaries=[v.start - piece.start for v in shots],
            n_shots=len(shots), segments=[i for i in r["segments"] if a.segments[i].shot_index in ids],
        )  # fmt: skip
    # As clip_stats: the worst shot decides each technical score (a clip is as blurred as its blurriest shot).
    row["blur"] = min(x["blur"] for x in weighty)
    row["jitter"] = max(x["jitter"] for x in weighty)
    row["motion"] = min(x["motion"] for x in weighty)
    row["change"] = min(x["change"] for x in weighty)
    row["luminance"] = min(x["luminance"] for x in weighty)
    goods = np.concatenate([good_of[v.position] for v in shots]) if shots else np.zeros(0)
    row["aesthetic"] = float(np.mean(goods)) if len(goods) else 0.0
    unsafe = [v.scores["safety"] for v in shots if np.isfinite(v.scores["safety"])]
    row["safety"] = float(max(unsafe)) if unsafe else float("nan")  # the most unsafe shot decides
    row["quality_score"] = quality_score(row, s)
    row["motion_level"] = motion_level(row["motion"], row["change"], s)
    return row


def _piece_dropped(r: dict[str, Any], piece: Stretch, verdicts: list[ShotVerdict], whole: bool) -> dict[str, Any]:
    shots = verdicts[piece.first : piece.last + 1]
    detail = {"shots": [{"position": v.position, "reasons": list(v.reasons), **v.scores} for v in shots]}
    if whole:
        return _dropped(r, "filtered_clips", union_reasons(verdicts), detail)
    part = dict(r, clip_id=f"{r['clip_id']}-s{piece.first}", start_frame=r["start_frame"] + piece.start,
                end_frame=r["start_frame"] + piece.end)  # fmt: skip
    return _dropped(part, "filtered_clips", list(piece.reasons), detail | {"cut_from": r["clip_id"]})


def run_filtered(store, clips: pa.Table, s: CurationSettings, aesthetic, safety, executor=None, workdir: Path | None = None) -> StageOutput:
    """Quality and safety verdicts per shot; a clip is kept whole, cut to its runs of passing shots
    (`trim_failing_shots`, needs `executor` and `workdir` for the cuts), or dropped whole.

    `aesthetic` / `safety`: scorers with `.score(thumbs)`; `safety` None = not configured."""
    load = _analysis_loader(store)
    kept, dropped, cuts = [], [], []
    min_frames = lambda fps: int(np.ceil(s.min_clip_s * fps - 1e-6))  # noqa: E731  (as plan_clips)
    for r in clips.to_pylist():
        a = load(r["analysis_path"])
        verdicts, good_of = _shot_verdicts(a, r, s, aesthetic, safety)
        whole = Stretch(0, len(verdicts) - 1, 0, r["n_frames"])
        if not any(v.reasons for v in verdicts):
            kept.append(_run_row(r, a, whole, verdicts, good_of, s, whole=True))
            continue
        pieces = stretches(verdicts, min_frames(r["fps"])) if s.trim_failing_shots and executor is not None else []
        if not any(p.kept for p in pieces):
            dropped.append(_piece_dropped(r, whole, verdicts, whole=True))
            continue
        cuts.append((r, a, verdicts, good_of, pieces))
    items = [
        {"src": str(store.local_path(r["path"])), "rotation": 0, "crf": s.clip_crf, "preset": s.clip_preset,
         "deterministic": s.clip_deterministic,
         "ranges": [{"start": p.start, "end": p.end, "out": str(workdir / f"{r['clip_id']}-s{p.first}.mp4")} for p in pieces if p.kept]}
        for r, _, _, _, pieces in cuts
    ]  # fmt: skip
    n_cut_shots = 0
    for (r, a, verdicts, good_of, pieces), item, res in zip(cuts, items, executor.map(write_task, items) if items else [], strict=True):
        runs = [p for p in pieces if p.kept]
        for p, rng, n in zip(runs, item["ranges"], res.value if res.ok else [0] * len(runs), strict=True):
            if n != p.end - p.start:  # a cut that did not come out whole is not kept half-written
                dropped.append(_dropped(dict(r, clip_id=f"{r['clip_id']}-s{p.first}", start_frame=r["start_frame"] + p.start,
                                             end_frame=r["start_frame"] + p.end), "filtered_clips", ["write_failed"],
                                        {"written": n, "error": res.error[:200] if not res.ok else ""}))  # fmt: skip
                continue
            row = _run_row(r, a, p, verdicts, good_of, s, whole=False)
            ref = store.put_file(Path(rng["out"]), namespace="curation/filtered", suffix=".mp4")
            row["path"], row["sha256"] = ref.path, ref.sha256
            kept.append(row)
        for p in pieces:
            if not p.kept:
                dropped.append(_piece_dropped(r, p, verdicts, whole=False))
                n_cut_shots += p.last - p.first + 1
    kept.sort(key=lambda r: r["clip_id"])
    return StageOutput(
        tables={"clips": rows_to_table(kept, schemas.CLIPS), "dropped": rows_to_table(dropped, schemas.DROPPED)},
        counts={"clips_in": clips.num_rows, "clips": len(kept), "dropped": len(dropped), "clips_cut_to_passing_shots": len(cuts),
                "shots_cut_away": n_cut_shots},  # fmt: skip
        reasons=dict(Counter(x for d in dropped for x in d["reasons"])),
    )


# ---------------------------------------------------------------------------------------------
# deduplicated_clips


def clip_shot_embeddings(store, rows: list[dict[str, Any]], embedder: Any = None) -> tuple[np.ndarray, list[list[int]]]:
    """Embedding per (clip, shot) and, per clip, the indices of its shots' embeddings.

    `embedder`: None for the weight-free descriptor (`dedup.shot_embedding`), else an object with
    `embed(thumbs, crop) -> (D,)` (`models.curation.embedders.PretrainedShotEmbedder`)."""
    load = _analysis_loader(store)
    emb, clip_shots = [], []
    for r in rows:
        a = load(r["analysis_path"])
        crop = (r["crop_x0"] / a.width, r["crop_y0"] / a.height, r["crop_x1"] / a.width, r["crop_y1"] / a.height)
        by_shot: dict[int, list[np.ndarray]] = {}
        for i in r["segments"]:
            by_shot.setdefault(a.segments[i].shot_index, []).extend(t for _, t in a.segments[i].thumbs)
        idx = []
        for _, thumbs in sorted(by_shot.items()):
            idx.append(len(emb))
            emb.append(shot_embedding(thumbs, crop) if embedder is None else embedder.embed(thumbs, crop))
        clip_shots.append(idx)
    return (np.stack(emb) if emb else np.zeros((0, 576), np.float32)), clip_shots


def run_dedup(store, clips: pa.Table, s: CurationSettings) -> StageOutput:
    rows = clips.to_pylist()
    embedder, threshold = None, s.dedup_similarity
    if s.embedder == "pretrained":
        from models.curation.embedders import PretrainedShotEmbedder

        embedder, threshold = PretrainedShotEmbedder(s.embedder_path), s.pretrained_similarity
    emb, clip_shots = clip_shot_embeddings(store, rows, embedder)
    stats: dict[str, int] = {}
    pairs = similar_pairs(emb, threshold, s.dedup_clusters, s.dedup_assign, s.seed, stats=stats)
    groups = duplicate_groups(clip_shots, pairs)
    # clips holding a shot that matched a shot of another clip, yet not grouped: their other shots are new
    # content (a clip is dropped only when all of its shots are contained in another clip)
    owner = {i: c for c, shots in enumerate(clip_shots) for i in shots}
    sharing = {owner[i] for pair in pairs for i in pair if owner[pair[0]] != owner[pair[1]]}
    size = Counter(groups)
    grouped = {i for i, g in enumerate(groups) if size[g] > 1}
    best: dict[int, int] = {}
    for i, g in enumerate(groups):
        if g not in best or (rows[i]["quality_score"], rows[best[g]]["clip_id"]) > (rows[best[g]]["quality_score"], rows[i]["clip_id"]):
            best[g] = i
    kept, dropped = [], []
    for i, r in enumerate(rows):
        winner = rows[best[groups[i]]]
        r["dup_group"] = winner["clip_id"]
        if best[groups[i]] == i:
            kept.append(r)
        else:
            dropped.append(_dropped(r, "deduplicated_clips", ["near_duplicate"], {"dup_of": winner["clip_id"], "quality_score": r["quality_score"], "kept_quality_score": winner["quality_score"]}))
    n_groups = sum(1 for c in size.values() if c > 1)
    return StageOutput(
        tables={"clips": rows_to_table(kept, schemas.CLIPS), "dropped": rows_to_table(dropped, schemas.DROPPED)},
        counts={"clips_in": len(rows), "clips": len(kept), "dropped": len(dropped), "duplicate_groups": n_groups,
                "shot_pairs_compared": int(stats.get("comparisons", 0)), "shot_pairs_matched": len(pairs),
                "clips_sharing_a_shot_not_grouped": len(sharing - grouped)},  # fmt: skip
        reasons=dict(Counter(d["reason"] for d in dropped)),
    )


def scratch_dir(root: Path) -> Path:
    """A private work dir for clip files before they enter the store (removed by the caller)."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="curation-", dir=root))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
