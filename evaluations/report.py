"""The benchmark report: PNG plots, a self-contained HTML page and a Markdown summary (report 7.2).

Pure rendering: tables in, bytes and text out (no Dagster, no MLflow). The asset stores the files and
logs them; tests render a report from hand-made tables.

The question the report answers first: did each training stage improve on the one before it, where,
and by how much. `stage_progress` computes it from the GSB results of each consecutive pair of
models in curriculum order: a stage *improved* a dimension when the GSB interval of (later vs
earlier) lies above 0, *regressed* when it lies below, otherwise the change is not significant.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from evaluations.bradley_terry import LeaderboardRow  # noqa: E402

DIMENSION_LABELS = {
    "motion_quality": "Motion quality",
    "prompt_following": "Prompt following",
    "aesthetic": "Aesthetic quality (proxy)",
    "preservation": "Preservation (I2V)",
    "overall": "Overall",
}


ABLATION_TITLE = "Ablation: temporal layers see text (motion quality)"


@dataclass
class ReportData:
    title: str
    models: list[str]  # curriculum order (earlier stages first)
    likert: pd.DataFrame  # model, dimension, likert, raw, n   (references included, kind column)
    categories: pd.DataFrame  # model, category, score  (mean raw prompt following / motion, see asset)
    leaderboard: list[LeaderboardRow]
    gsb: pd.DataFrame  # model_a, model_b, dimension, good, same, bad, score, low, high
    shots: pd.DataFrame  # model, requested, detected, videos
    judges: pd.DataFrame  # judge, accuracy, floor, passed
    samples: dict[str, np.ndarray] = field(default_factory=dict)  # model -> frames strip [H, W, 3]
    ablation: pd.DataFrame | None = None  # `ablation_table`: baseline and variant in the motion dimension
    ablation_summary: str = ""  # one sentence: what the ablation found, with its intervals
    extra_models: list[str] = field(default_factory=list)  # shown in plots, not part of the curriculum chain
    references: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    calibration: pd.DataFrame | None = None  # dimension, low, high, source


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def plot_dimensions(likert: pd.DataFrame, order: list[str]) -> bytes:
    dims = [d for d in DIMENSION_LABELS if d in set(likert["dimension"])]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(order)), 3.6))
    width = 0.8 / max(len(dims), 1)
    x = np.arange(len(order))
    for k, d in enumerate(dims):
        sub = likert[likert["dimension"] == d].set_index("model")
        vals = [float(sub.loc[m, "likert"]) if m in sub.index else np.nan for m in order]
        ax.bar(x + (k - (len(dims) - 1) / 2) * width, vals, width, label=DIMENSION_LABELS[d])
    ax.set_xticks(x, order, rotation=30, ha="right")
    ax.set_ylim(0, 5.2)  # from 0, so a Likert-1 bar is visible
    ax.set_ylabel("absolute score (Likert 1-5)")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Absolute score per dimension")
    return _png(fig)


def plot_category_heatmap(categories: pd.DataFrame, order: list[str]) -> bytes:
    pivot = categories.pivot_table(index="model", columns="category", values="score", aggfunc="mean")
    pivot = pivot.reindex([m for m in order if m in pivot.index])
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * pivot.shape[1]), max(2.5, 0.45 * pivot.shape[0] + 1)))
    im = ax.imshow(pivot.values, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(pivot.shape[1]), pivot.columns, rotation=30, ha="right")
    ax.set_yticks(range(pivot.shape[0]), pivot.index)
    for i in range(pivot.shape[0]):
        for j in range(pivot.shape[1]):
            v = pivot.values[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.6 else "k")
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title("Mean raw score per taxonomy category")
    return _png(fig)


def plot_elo(rows: list[LeaderboardRow]) -> bytes:
    rows = sorted(rows, key=lambda r: r.elo)
    fig, ax = plt.subplots(figsize=(6, max(2.2, 0.4 * len(rows) + 1)))
    y = np.arange(len(rows))
    elo = np.array([r.elo for r in rows])
    # a percentile interval need not contain the point estimate (skewed bootstrap): clip at 0 for the bars
    err = np.clip(np.array([[r.elo - r.low for r in rows], [r.high - r.elo for r in rows]]), 0, None)
    ax.errorbar(elo, y, xerr=err, fmt="o", capsize=3)
    ax.set_yticks(y, [r.model for r in rows])
    ax.set_xlabel("Elo (Bradley-Terry), 95% bootstrap interval")
    ax.set_title("Arena leaderboard")
    return _png(fig)


def plot_gsb_matrix(gsb: pd.DataFrame, order: list[str], dimension: str = "overall") -> bytes:
    sub = gsb[gsb["dimension"] == dimension]
    m = np.full((len(order), len(order)), np.nan)
    idx = {k: i for i, k in enumerate(order)}
    for r in sub.itertuples():
        if r.model_a in idx and r.model_b in idx:
            m[idx[r.model_a], idx[r.model_b]] = r.score
            m[idx[r.model_b], idx[r.model_a]] = -r.score
    fig, ax = plt.subplots(figsize=(max(4, 0.7 * len(order) + 2), max(3.5, 0.6 * len(order) + 1.5)))
    im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu")
    ax.set_xticks(range(len(order)), order, rotation=40, ha="right")
    ax.set_yticks(range(len(order)), order)
    for i in range(len(order)):
        for j in range(len(order)):
            if np.isfinite(m[i, j]):
                ax.text(j, i, f"{m[i, j]:+.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.04)
    ax.set_title(f"GSB of row model vs column model ({DIMENSION_LABELS.get(dimension, dimension)})")
    return _png(fig)


def plot_samples(samples: dict[str, np.ndarray]) -> bytes:
    names = list(samples)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.1 * max(len(names), 1) + 0.3), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        ax.imshow(samples[name])
        ax.set_axis_off()
        ax.set_title(name, fontsize=8, loc="left")
    fig.suptitle("Sample frames (same prompt and seed for every model)", fontsize=9)
    return _png(fig)


def plot_shots(shots: pd.DataFrame, order: list[str]) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3))
    for m in [m for m in order if m in set(shots["model"])]:
        sub = shots[shots["model"] == m].groupby("requested")["detected"].mean()
        ax.plot(sub.index, sub.values, marker="o", label=m)
    lim = max(4, int(shots["requested"].max()) if len(shots) else 4)
    ax.plot([1, lim], [1, lim], "k--", lw=0.8, label="ideal")
    ax.set_xlabel("requested shots")
    ax.set_ylabel("mean detected shots")
    ax.legend(fontsize=6)
    ax.set_title("Multi-shot: requested vs produced")
    return _png(fig)


def stage_progress(gsb: pd.DataFrame, likert: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """For each consecutive pair (earlier, later) in curriculum order and each dimension:
    GSB of later vs earlier with its interval, Likert change and the verdict."""
    rows = []
    for a, b in zip(models[:-1], models[1:]):
        for d in sorted(set(gsb["dimension"])):
            hit = gsb[(gsb["model_a"] == b) & (gsb["model_b"] == a) & (gsb["dimension"] == d)]
            sign = 1.0
            if hit.empty:
                hit = gsb[(gsb["model_a"] == a) & (gsb["model_b"] == b) & (gsb["dimension"] == d)]
                sign = -1.0
            if hit.empty:
                continue
            r = hit.iloc[0]
            score, lo, hi = sign * r["score"], sign * (r["low"] if sign > 0 else r["high"]), sign * (r["high"] if sign > 0 else r["low"])
            la = likert[(likert["model"] == a) & (likert["dimension"] == d)]["likert"]
            lb = likert[(likert["model"] == b) & (likert["dimension"] == d)]["likert"]
            delta = float(lb.iloc[0] - la.iloc[0]) if len(la) and len(lb) else float("nan")
            verdict = "improved" if lo > 0 else "regressed" if hi < 0 else "no significant change"
            rows.append({"from": a, "to": b, "dimension": d, "gsb": score, "low": lo, "high": hi,
                         "likert_delta": delta, "verdict": verdict})
    return pd.DataFrame(rows)


MOTION_METRICS = ("temporal_flicker", "proxy_motion_smoothness", "proxy_warping_error", "proxy_dynamic_degree")


def ablation_table(
    videos: pd.DataFrame,
    likert: pd.DataFrame,
    gsb: pd.DataFrame,
    *,
    variant: str,
    baseline: str,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, str]:
    """The temporal-text ablation in the motion-quality dimension: baseline row, variant row, and a verdict.

    videos: per-video scores (model, prompt_id, motion_quality, optional `metrics` JSON with the motion
    terms). Per model: mean raw motion quality with a percentile bootstrap interval over prompts, the
    Likert score, and the mean of each motion term. Variant row: the paired difference variant - baseline
    over the prompts both generated (one bootstrap draw of prompts serves both), and the GSB of variant vs
    baseline on motion quality with its interval from the arena. The verdict calls a difference only when
    the paired interval excludes 0.
    """
    import json

    rng = np.random.default_rng(seed)
    mq = videos.pivot_table(index="prompt_id", columns="model", values="motion_quality", aggfunc="mean")
    if variant not in mq.columns or baseline not in mq.columns:
        return pd.DataFrame(), ""
    both = mq[[baseline, variant]].dropna()
    n = len(both)
    draws = rng.integers(0, n, size=(n_boot, n)) if n else np.zeros((n_boot, 0), int)
    q = [alpha / 2, 1 - alpha / 2]
    rows = []
    for m in (baseline, variant):
        vals = both[m].to_numpy()
        lo, hi = np.quantile(vals[draws].mean(1), q) if n else (np.nan, np.nan)
        lk = likert[(likert["model"] == m) & (likert["dimension"] == "motion_quality")]["likert"]
        row = {"model": m, "temporal_sees_text": m == variant, "prompts": n, "motion_raw": float(vals.mean()) if n else np.nan,
               "motion_low": float(lo), "motion_high": float(hi), "motion_likert": float(lk.iloc[0]) if len(lk) else np.nan}
        if "metrics" in videos.columns:
            sub = videos[(videos["model"] == m) & videos["prompt_id"].isin(both.index)]
            parsed = [json.loads(x) if isinstance(x, str) and x else {} for x in sub["metrics"]]
            for k in MOTION_METRICS:
                xs = [p[k] for p in parsed if k in p]
                row[k] = float(np.mean(xs)) if xs else np.nan
        rows.append(row)
    diff = (both[variant] - both[baseline]).to_numpy()
    d_lo, d_hi = np.quantile(diff[draws].mean(1), q) if n else (np.nan, np.nan)
    rows[1].update({"delta_vs_baseline": float(diff.mean()) if n else np.nan, "delta_low": float(d_lo), "delta_high": float(d_hi)})
    g = gsb[(gsb["dimension"] == "motion_quality") & (((gsb["model_a"] == variant) & (gsb["model_b"] == baseline)) |
                                                       ((gsb["model_a"] == baseline) & (gsb["model_b"] == variant)))]
    if len(g):
        r = g.iloc[0]
        flip = r["model_a"] != variant  # GSB of (a vs b) = -GSB of (b vs a); the interval flips too
        rows[1].update({"gsb_vs_baseline": -float(r["score"]) if flip else float(r["score"]),
                        "gsb_low": -float(r["high"]) if flip else float(r["low"]),
                        "gsb_high": -float(r["low"]) if flip else float(r["high"])})
    table = pd.DataFrame(rows)
    verdict = ("better" if d_lo > 0 else "worse" if d_hi < 0 else "not significantly different") if n else "not measured"
    gsb_txt = (f", GSB {rows[1]['gsb_vs_baseline']:+.2f} [{rows[1]['gsb_low']:+.2f}, {rows[1]['gsb_high']:+.2f}]"
               if "gsb_vs_baseline" in rows[1] else "")
    summary = (f"With temporal layers that see the text, motion quality is {verdict} than the default ({variant} vs "
               f"{baseline}, same stages, data, seeds and steps): paired change {rows[1]['delta_vs_baseline']:+.3f} "
               f"[{d_lo:+.3f}, {d_hi:+.3f}] over {n} prompts{gsb_txt}.")
    return table, summary


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    if df is None or df.empty:
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            s = floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v)
            cells.append(f"<td>{html.escape(s)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def markdown_table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    if df is None or df.empty:
        return "_(none)_"
    cols = list(df.columns)
    out = ["| " + " | ".join(map(str, cols)) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in row) + " |")
    return "\n".join(out)


def leaderboard_frame(rows: list[LeaderboardRow]) -> pd.DataFrame:
    return pd.DataFrame([{"model": r.model, "elo": r.elo, "low": r.low, "high": r.high, "comparisons": r.comparisons,
                          "wins": r.wins} for r in rows])


def absolute_frame(likert: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    p = likert.pivot_table(index="model", columns="dimension", values="likert", aggfunc="mean")
    p = p.reindex([m for m in order if m in p.index])
    return p.reset_index()


@dataclass
class RenderedReport:
    html: str
    markdown: str
    pngs: dict[str, bytes]
    progress: pd.DataFrame


def render_report(data: ReportData) -> RenderedReport:
    order_all = list(data.models) + [m for m in data.extra_models if m not in data.models]
    order_all += [r for r in data.references if r not in order_all]
    pngs = {
        "dimensions.png": plot_dimensions(data.likert, order_all),
        "categories.png": plot_category_heatmap(data.categories, order_all),
        "elo.png": plot_elo(data.leaderboard) if data.leaderboard else b"",
        "gsb_matrix.png": plot_gsb_matrix(data.gsb, order_all) if len(order_all) > 1 and len(data.gsb) else b"",
        "shots.png": plot_shots(data.shots, order_all) if len(data.shots) else b"",
        "samples.png": plot_samples(data.samples) if data.samples else b"",
    }
    pngs = {k: v for k, v in pngs.items() if v}
    progress = stage_progress(data.gsb, data.likert, data.models) if len(data.gsb) else pd.DataFrame()
    absolute = absolute_frame(data.likert, order_all)
    board = leaderboard_frame(data.leaderboard)
    shots_summary = pd.DataFrame()
    if len(data.shots):  # data.shots: one row per video (or per group with `videos` as its weight)
        sh = data.shots.assign(exact=(data.shots["requested"] == data.shots["detected"]).astype(float))
        rows = []
        for m, g in sh.groupby("model", sort=False):
            w = g["videos"].astype(float)
            multi = g[g["requested"] > 1]
            rows.append({"model": m, "videos": int(w.sum()), "exact_share": float(np.average(g["exact"], weights=w)),
                         "multi_shot_videos": int(multi["videos"].sum()),
                         "multi_shot_requested": float(np.average(multi["requested"], weights=multi["videos"])) if len(multi) else float("nan"),
                         "multi_shot_detected": float(np.average(multi["detected"], weights=multi["videos"])) if len(multi) else float("nan"),
                         "multi_shot_exact": float(np.average(multi["exact"], weights=multi["videos"])) if len(multi) else float("nan")})
        shots_summary = pd.DataFrame(rows)

    # ---------------- Markdown summary (Dagster metadata, MLflow text)
    md = [f"# {data.title}", ""]
    md.append("## Did each training stage improve on the one before it?")
    if progress.empty:
        md.append("_Fewer than two models were benchmarked; nothing to compare yet._")
    else:
        for (a, b), grp in progress.groupby(["from", "to"], sort=False):
            parts = [f"{r.dimension}: {r.verdict} (GSB {r.gsb:+.2f} [{r.low:+.2f}, {r.high:+.2f}]{_likert(r.likert_delta)})"
                     for r in grp.itertuples()]
            md.append(f"- **{a} -> {b}**: " + "; ".join(parts))
        best = progress.loc[progress["gsb"].abs().idxmax()]
        md.append(f"\nLargest change: {best['from']} -> {best['to']} on {best['dimension']} (GSB {best['gsb']:+.2f}).")
    md += ["", "## Leaderboard (Elo, 95% bootstrap interval)", markdown_table(board, "{:.1f}"), "",
           "## Absolute scores (Likert 1-5)", markdown_table(absolute, "{:.2f}"), "",
           "## Multi-shot: requested vs produced shots", markdown_table(shots_summary, "{:.2f}"), "",
           "## Judges (held-out accuracy vs floor)", markdown_table(data.judges, "{:.3f}")]
    if data.ablation is not None and not data.ablation.empty:
        md += ["", f"## {ABLATION_TITLE}", data.ablation_summary, "", markdown_table(data.ablation, "{:.3f}")]
    if data.notes:
        md += ["", "## Notes"] + [f"- {n}" for n in data.notes]
    markdown = "\n".join(md)

    # ---------------- HTML page (PNG plots embedded, so the file opens anywhere)
    def img(name: str) -> str:
        if name not in pngs:
            return ""
        return f"<img alt='{name}' src='data:image/png;base64,{base64.b64encode(pngs[name]).decode()}'>"

    sections = [
        ("Did each training stage improve on the one before it?", _table(progress, "{:+.3f}")),
        ("Arena leaderboard", img("elo.png") + _table(board, "{:.1f}")),
        ("Absolute scores per dimension", img("dimensions.png") + _table(absolute, "{:.2f}")),
        ("Taxonomy categories", img("categories.png")),
        ("Good-Same-Bad between models", img("gsb_matrix.png") + _table(data.gsb, "{:+.3f}")),
        ("Multi-shot generation", img("shots.png") + _table(shots_summary, "{:.2f}")),
        ("Sample frames", img("samples.png")),
        ("Judges", _table(data.judges)),
    ]
    if data.ablation is not None and not data.ablation.empty:
        sections.append((ABLATION_TITLE, f"<p>{html.escape(data.ablation_summary)}</p>" + _table(data.ablation)))
    if data.calibration is not None:
        sections.append(("Likert calibration anchors", _table(data.calibration)))
    if data.notes:
        sections.append(("Notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in data.notes) + "</ul>"))
    body = "".join(f"<section><h2>{html.escape(t)}</h2>{c}</section>" for t, c in sections)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(data.title)}</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}"
        "table{border-collapse:collapse;font-size:12px;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%;display:block;margin:.5em 0}h2{border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>{html.escape(data.title)}</h1>{body}</body></html>"
    )
    return RenderedReport(page, markdown, pngs, progress)


def _likert(delta: float) -> str:
    """The Likert change, or nothing for a dimension without a Likert scale (`overall` is a vote)."""
    return "" if delta != delta else f", Likert {delta:+.2f}"
