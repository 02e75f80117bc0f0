"""`arena` logic: automatic GSB + Elo from the scores, the raters' export, and the human-label import."""

from __future__ import annotations

import base64
import tempfile
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from assets.benchmarking.settings import BenchmarkingSettings
from assets.common.manifest import read_manifest, write_manifest
from assets.common.outputs import markdown_table
from evaluations.arena import automatic_comparisons, gsb_from_comparisons, gsb_table
from evaluations.bradley_terry import leaderboard
from evaluations.gsb import gsb_with_bootstrap
from evaluations.human_labels import export_pairs, import_labels, make_pairs, read_key
from evaluations.scoring import DIMENSIONS

GROUP = "benchmarking"


def ordered_models(df: pd.DataFrame, order: list[str]) -> list[str]:
    present = list(dict.fromkeys(df["model"]))
    return [m for m in order if m in present] + [m for m in present if m not in order]


def board_records(rows) -> list[dict]:
    return [{"model": r.model, "elo": r.elo, "low": r.low, "high": r.high, "strength": r.strength,
             "comparisons": r.comparisons, "wins": r.wins} for r in rows]


def run_arena(store, s: BenchmarkingSettings, seed: int, scores_value: dict[str, Any], prompts, *, order: list[str],
              log=None) -> tuple[dict[str, Any], dict[str, Any]]:
    df = read_manifest(store, scores_value["videos"]).to_pandas()
    models = ordered_models(df, order)
    dims = list(DIMENSIONS)
    gsb = gsb_table(df, models, dims, tie_margin=s.tie_margin, n_boot=s.bootstrap, alpha=s.alpha, seed=seed)
    comps = automatic_comparisons(df, models, dims, s.tie_margin)
    board = leaderboard(comps, models, prior=s.bt_prior, n_boot=s.bootstrap, alpha=s.alpha, seed=seed)
    gsb_ref = write_manifest(store, f"{GROUP}/arena", pa.Table.from_pandas(gsb, preserve_index=False))

    # ---- raters' export: a seeded sample of pairs, videos embedded so the page is one file
    videos = {m: dict(zip(g["prompt_id"], g["video_path"])) for m, g in df.groupby("model")}
    texts = {p.prompt_id: p.text for p in prompts}
    pairs = make_pairs(videos, texts, seed)
    rng = np.random.default_rng(seed)
    if len(pairs) > s.export_pairs:
        keep = sorted(rng.choice(len(pairs), size=s.export_pairs, replace=False).tolist())
        pairs = [pairs[i] for i in keep]

    def data_uri(path: str) -> str:
        return "data:video/mp4;base64," + base64.b64encode(store.read_bytes(path)).decode()

    with tempfile.TemporaryDirectory() as tmp:
        files = export_pairs(pairs, tmp, tuple(dims), video_src=data_uri)
        export = {k: store.put_file(p, namespace=f"{GROUP}/arena_export", suffix=p.suffix).path for k, p in files.items()}

    value: dict[str, Any] = {"gsb": gsb_ref, "leaderboard": board_records(board), "export": export, "models": models}
    md: dict[str, Any] = {
        "leaderboard": dg.MetadataValue.md(markdown_table(board_records(board))),
        "gsb_overall": dg.MetadataValue.md(markdown_table(gsb[gsb["dimension"] == "overall"].round(3).to_dict("records"))),
        "raters_page": dg.MetadataValue.path(str(store.local_path(export["html"]))),
        "comparisons": len(comps),
    }

    # ---- human labels: same GSB and Bradley-Terry code, rater verdicts instead of automatic ones
    if s.human_labels:
        key = read_key(store.local_path(export["key"]))
        labels = import_labels(s.human_labels, key, tuple(dims))
        q_ref = write_manifest(store, f"{GROUP}/arena_quarantine",
                               pa.Table.from_pandas(labels.quarantined.astype(str), preserve_index=False))
        human_rows, human_board = [], []
        for d in dims:
            hc = labels.comparisons(d)
            for i, a in enumerate(models):
                for b in models[i + 1:]:
                    o = gsb_from_comparisons(hc, a, b)
                    if o.size:
                        r = gsb_with_bootstrap({d: o}, n_boot=s.bootstrap, alpha=s.alpha, seed=seed)[0]
                        human_rows.append({"model_a": a, "model_b": b, "dimension": d, "good": r.good, "same": r.same,
                                           "bad": r.bad, "score": r.score, "low": r.low, "high": r.high})
            if hc and d == "prompt_following":
                human_board = board_records(leaderboard(hc, prior=s.bt_prior, n_boot=s.bootstrap, seed=seed))
        value["human"] = {"accepted": int(len(labels.accepted)), "quarantined": q_ref, "gsb": human_rows,
                          "leaderboard": human_board}
        md["human_labels"] = dg.MetadataValue.md(
            f"{len(labels.accepted)} labels accepted, {len(labels.quarantined)} quarantined\n\n"
            + markdown_table(labels.quarantined.astype(str).to_dict("records"), limit=20))
        if log is not None and len(labels.quarantined):
            log.warning(f"{len(labels.quarantined)} human labels quarantined (see metadata human_labels)")
    return value, md
