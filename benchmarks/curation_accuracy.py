"""Curation detectors against the synthetic world's ground truth -> results/curation_accuracy.json.

Per raw video, the single decode pass; then, per ground-truth shot, the detected segment that covers
it is scored by the same code the assets run (`clips.segment_scores`, `overlays`, the trained
scorers, `dedup`). Reported: hard-cut P/R/F1 within 1 frame (dissolves / fades separately), overlay
box IoU and the fraction of overlay shots whose crop excludes the overlay (or that are dropped),
blur / jitter / static / low-light / unsafe precision and recall, duplicate-pair precision and recall.
`evaluate_world(...)` is shared with tests/curation/test_world_accuracy.py.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assets.curation.analysis import analyse_video  # noqa: E402
from assets.curation.clips import cell_mask, segment_scores  # noqa: E402
from assets.curation.dedup import shot_embedding, similar_pairs  # noqa: E402
from assets.curation.overlays import best_crop, detect_overlays, iou, scale_box  # noqa: E402
from assets.curation.settings import CurationSettings  # noqa: E402


def _pr(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((pred & truth).sum())
    return {
        "precision": tp / max(1, int(pred.sum())),
        "recall": tp / max(1, int(truth.sum())),
        "positives": int(truth.sum()),
        "predicted": int(pred.sum()),
    }


def _match_cuts(pred: list[int], truth: list[int], tol: int) -> int:
    used, tp = set(), 0
    for c in truth:
        hit = [p for p in pred if abs(p - c) <= tol and p not in used]
        if hit:
            used.add(hit[0])
            tp += 1
    return tp


def duplicate_pair_scores(embeds: list[np.ndarray], groups: list[int], s: CurationSettings, names: list[str]) -> dict[str, Any]:
    """Near-duplicate shot pairs found by `dedup.similar_pairs` vs the world's duplicate groups (-1: none).
    Also the pair comparisons the clustering made against the n(n-1)/2 of an exhaustive search."""
    g = np.array(groups)
    stats: dict[str, int] = {}
    pairs = similar_pairs(np.stack(embeds), s.dedup_similarity, s.dedup_clusters, s.dedup_assign, s.seed, stats=stats) if embeds else set()
    truth = {(i, j) for i in range(len(g)) for j in range(i + 1, len(g)) if g[i] >= 0 and g[i] == g[j]}
    tp = len(pairs & truth)
    return {
        "true_pairs": len(truth), "predicted_pairs": len(pairs), "precision": tp / max(1, len(pairs)), "recall": tp / max(1, len(truth)),
        "missed": sorted([names[i], names[j]] for i, j in truth - pairs), "false": sorted([names[i], names[j]] for i, j in pairs - truth),
        "comparisons": stats.get("comparisons", 0), "exhaustive_comparisons": len(g) * (len(g) - 1) // 2,
    }  # fmt: skip


def evaluate_world(world_dir: Path, s: CurationSettings, safety=None, aesthetic=None) -> dict[str, Any]:
    shots = pq.read_table(world_dir / "ground_truth_shots.parquet").to_pylist()
    by_video: dict[str, list[dict[str, Any]]] = {}
    for r in shots:
        by_video.setdefault(r["video_id"], []).append(r)
    hard_tp = hard_pred_fp = hard_n = 0
    soft = {"dissolve": [0, 0], "fade": [0, 0]}  # found, total
    rows, embeds, groups = [], [], []
    frames, t0 = 0, time.perf_counter()
    for vid, gt in sorted(by_video.items()):
        a = analyse_video(world_dir / "videos" / f"{vid}.mp4", s)
        frames += a.n_frames
        hard = [r["start_frame"] for r in gt if r["transition_in"] == "cut"]
        soft_spans = [(r["start_frame"], r["start_frame"] + r["transition_frames"], r["transition_in"]) for r in gt if r["transition_in"] in soft]
        tp = _match_cuts(a.cuts, hard, 1)
        hard_tp += tp
        hard_n += len(hard)
        # A predicted cut is a false positive unless it matches a hard cut or falls in a soft transition.
        near_soft = [c for c in a.cuts if any(st - 2 <= c <= en + 2 for st, en, _ in soft_spans)]
        hard_pred_fp += len(a.cuts) - len(near_soft) - tp
        for st, en, kind in soft_spans:
            soft[kind][1] += 1
            soft[kind][0] += any(st - 2 <= c <= en + 2 for c in a.cuts)
        sx, sy = a.width / a.analysis_w, a.height / a.analysis_h
        for r in gt:
            # The shot's own frames (excluding the overlaps with its neighbours' transitions).
            lo = r["start_frame"] + r["transition_frames"]
            nxt = [x for x in gt if x["shot_index"] == r["shot_index"] + 1]
            hi = r["end_frame"] - (nxt[0]["transition_frames"] if nxt else 0)
            best, cover = None, 0
            for g in a.segments:
                ov = min(hi, g.end) - max(lo, g.start)
                if ov > cover:
                    best, cover = g, ov
            if best is None or cover < 0.8 * (hi - lo) or cover < 0.6 * best.n:
                rows.append({"video_id": vid, "shot": r["shot_index"], "evaluable": False})
                continue
            ef = best.edge_count / max(1, best.n)
            overlays = detect_overlays(ef, s)
            boxes = [scale_box(o.box, sx, sy, a.width, a.height, 0.0) for o in overlays]
            padded = [scale_box(o.box, sx, sy, a.width, a.height, s.overlay_pad) for o in overlays]
            crop = best_crop(padded, a.width, a.height, s)
            # As clip_analysis does: the scores of the picture the crop keeps (overlays left out).
            sc = segment_scores(best, cell_mask(crop, a.width, a.height, best.grid) if crop and padded else None)
            thumbs = np.stack([t for _, t in best.thumbs])
            row = {
                "video_id": vid, "shot": r["shot_index"], "evaluable": True, "defects": list(r["defects"]),
                "static_content": bool(r["static_content"]),
                "overlay": r["overlay"], "unsafe": bool(r["unsafe"]), **sc,
                "n_boxes": len(boxes),
                "safety": float(np.median(safety.score(thumbs))) if safety is not None else float("nan"),
                "aesthetic": float(np.mean(aesthetic.score(thumbs))) if aesthetic is not None else float("nan"),
            }
            if r["overlay"] != "none":
                gtb = (r["overlay_x0"], r["overlay_y0"], r["overlay_x1"], r["overlay_y1"])
                row["iou"] = max([iou(b, gtb) for b in boxes], default=0.0)
                # Rectified: the crop keeps none of the overlay; or the clip is dropped (no crop).
                if crop is None:
                    row["rectified"] = True
                else:
                    row["rectified"] = bool(boxes) and iou(crop, gtb) == 0.0 and (
                        min(crop[2], gtb[2]) <= max(crop[0], gtb[0]) or min(crop[3], gtb[3]) <= max(crop[1], gtb[1])
                    )
            rows.append(row)
            # Dedup embeds the rectified picture, as `deduplicated_clips` does (crop as frame fractions).
            frac = None if crop is None else (crop[0] / a.width, crop[1] / a.height, crop[2] / a.width, crop[3] / a.height)
            embeds.append(shot_embedding([t for _, t in best.thumbs], frac))
            groups.append(-1 if r["dup_group"] is None else int(r["dup_group"]))
    seconds = time.perf_counter() - t0
    ev = [r for r in rows if r["evaluable"]]

    def flag(key: str) -> np.ndarray:
        return np.array([key in r["defects"] for r in ev])

    col = {k: np.array([r[k] for r in ev]) for k in ("sharpness", "jitter", "change", "luminance", "safety")}
    out: dict[str, Any] = {
        "videos": len(by_video),
        "frames": frames,
        "analysis_fps": frames / max(seconds, 1e-9),
        "shots_total": len(rows),
        "shots_evaluable": len(ev),
        "hard_cuts": {
            "n": hard_n, "tp": hard_tp, "fp": hard_pred_fp,
            "precision": hard_tp / max(1, hard_tp + hard_pred_fp), "recall": hard_tp / max(1, hard_n),
            "f1": 2 * hard_tp / max(1, 2 * hard_tp + hard_pred_fp + (hard_n - hard_tp)),
        },  # fmt: skip
        "dissolves": {"found": soft["dissolve"][0], "n": soft["dissolve"][1]},
        "fades": {"found": soft["fade"][0], "n": soft["fade"][1]},
        "blur": _pr(col["sharpness"] < s.blur_threshold, flag("blur")),
        "jitter": _pr(col["jitter"] > s.jitter_threshold, flag("jitter")),
        # Static content: frozen shots and live shots where nothing moves (`ShotSpec.static_content`).
        "static": _pr(col["change"] < s.static_threshold, np.array([r["static_content"] for r in ev])),
        "low_light": _pr(col["luminance"] < s.low_light_threshold, flag("low_light")),
    }
    if safety is not None:
        out["unsafe"] = _pr(col["safety"] >= s.safety_threshold, np.array([r["unsafe"] for r in ev]))
    if aesthetic is not None:
        # "Low aesthetic" in the world's ground truth: the defects a frame shows (AESTHETIC_DEFECTS, the
        # scorer's training labels: blur, low light); mean thumbnail P(good) below the threshold flags it.
        from assets.curation.training import AESTHETIC_DEFECTS

        bad = np.array([any(d in r["defects"] for d in AESTHETIC_DEFECTS) for r in ev])
        out["low_aesthetic"] = _pr(np.array([r["aesthetic"] for r in ev]) < s.aesthetic_threshold, bad)
    ov = [r for r in ev if r["overlay"] != "none"]
    out["overlays"] = {
        "n": len(ov),
        "mean_iou": float(np.mean([r["iou"] for r in ov])) if ov else float("nan"),
        "iou_ge_0.7": float(np.mean([r["iou"] >= 0.7 for r in ov])) if ov else float("nan"),
        "rectified_or_dropped": float(np.mean([r["rectified"] for r in ov])) if ov else float("nan"),
        "false_positive_shots": int(sum(1 for r in ev if r["overlay"] == "none" and r["n_boxes"] > 0)),
        "clean_shots": int(sum(1 for r in ev if r["overlay"] == "none")),
    }
    out["duplicates"] = duplicate_pair_scores(embeds, groups, s, [f"{r['video_id']}:{r['shot']}" for r in ev])
    out["per_shot"] = [{k: v for k, v in r.items() if k != "defects"} | {"defects": ",".join(r.get("defects", []))} for r in rows]
    return out


def main() -> None:
    import torch

    from assets.curation.training import labelled_set
    from assets.sourcing.world.settings import WorldSettings
    from assets.sourcing.world.writer import write_world
    from benchmarks._machine import describe
    from models.curation.scorers import ThumbClassifierConfig, TrainedThumbScorer, train_thumb_classifier

    torch.set_num_threads(1)
    s = CurationSettings()
    world = WorldSettings(n_videos=60, seed=7, workers=2)
    with tempfile.TemporaryDirectory() as d:
        write_world(world, Path(d))
        lab = labelled_set(s, world, seed=123)  # rendered under its own seed: no shot of the evaluated world
        kw = dict(epochs=s.train_epochs, lr=s.train_lr, batch_size=s.train_batch, seed=0, groups=lab.groups)
        safety, m_s = train_thumb_classifier(lab.thumbs, lab.unsafe, ThumbClassifierConfig(task="safety"), **kw)
        aesthetic, m_a = train_thumb_classifier(lab.thumbs, lab.good, ThumbClassifierConfig(task="aesthetic"), **kw)
        res = evaluate_world(Path(d), s, TrainedThumbScorer(safety), TrainedThumbScorer(aesthetic))
    res["scorer_training"] = {"safety": m_s, "aesthetic": m_a}
    res["world"] = world.model_dump()
    res["settings"] = s.model_dump()
    res["machine"] = describe()
    out = ROOT / "benchmarks" / "results" / "curation_accuracy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=float))
    summary = {k: res[k] for k in ("hard_cuts", "dissolves", "fades", "blur", "jitter", "static", "low_light", "unsafe", "low_aesthetic", "overlays", "duplicates")}
    print(json.dumps(summary, indent=1, default=float))


if __name__ == "__main__":
    main()
