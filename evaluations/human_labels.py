"""Human judgement in the arena: export blind pairs for raters, import their labels, validated.

Export: for every pair of models and every prompt both generated, one *pair* with the two videos in a
seeded random left/right order, so raters cannot learn which side is which model. Raters get
`pairs.csv` (pair_id, prompt, video_a, video_b) and `index.html`, a static page showing the two videos
side by side with the prompt; the key (`pairs_key.csv`: which model is A) stays with the organiser.

Import: raters return a CSV with columns `rater_id, pair_id, dimension, choice` where `choice` is
`A`, `B` or `same`. Every row is validated with Great Expectations (GX Core 1.x, ephemeral context):
known pair, known dimension, valid choice, well-formed rater id, one label per (rater, pair, dimension).
Rows failing any expectation are quarantined with the names of the failed expectations as the reason;
the rest become GSB outcomes of model_a vs model_b, which feed the same GSB and Bradley-Terry code as
the automatic raters.
"""

from __future__ import annotations

import csv
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evaluations.bradley_terry import Comparison

CHOICES = ("A", "B", "same")
LABEL_COLUMNS = ("rater_id", "pair_id", "dimension", "choice")
RATER_ID_REGEX = r"^[A-Za-z0-9_.\-]{1,64}$"


@dataclass(frozen=True)
class RatingPair:
    pair_id: str
    prompt_id: str
    prompt: str
    model_a: str  # shown as "A" (left)
    model_b: str  # shown as "B" (right)
    video_a: str  # path relative to the export folder
    video_b: str


def make_pairs(videos: dict[str, dict[str, str]], prompts: dict[str, str], seed: int) -> list[RatingPair]:
    """videos: model -> {prompt_id: video path}; one pair per model pair per shared prompt,
    sides shuffled with a seeded generator."""
    rng = np.random.default_rng(seed)
    models = sorted(videos)
    pairs = []
    for i, m1 in enumerate(models):
        for m2 in models[i + 1 :]:
            for pid in sorted(set(videos[m1]) & set(videos[m2])):
                a, b = (m1, m2) if rng.random() < 0.5 else (m2, m1)
                pairs.append(RatingPair(f"pair-{len(pairs):05d}", pid, prompts.get(pid, ""), a, b, videos[a][pid], videos[b][pid]))
    return pairs


def export_pairs(pairs: list[RatingPair], folder: str | Path, dimensions: tuple[str, ...],
                 video_src: Callable[[str], str] | None = None) -> dict[str, Path]:
    """Write pairs.csv (for raters), pairs_key.csv (organiser only), labels_template.csv, index.html.

    `video_src` maps a video path to the `src` used in the page (e.g. a base64 data URI, so the page
    is one self-contained file); default: the path itself, relative to the page."""
    src = video_src or (lambda p: p)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "pairs.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["pair_id", "prompt_id", "prompt", "video_a", "video_b"])
        for p in pairs:
            w.writerow([p.pair_id, p.prompt_id, p.prompt, p.video_a, p.video_b])
    with open(folder / "pairs_key.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["pair_id", "prompt_id", "model_a", "model_b"])
        for p in pairs:
            w.writerow([p.pair_id, p.prompt_id, p.model_a, p.model_b])
    with open(folder / "labels_template.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(LABEL_COLUMNS)
        for p in pairs:
            for d in dimensions:
                w.writerow(["", p.pair_id, d, ""])
    rows = []
    for p in pairs:
        rows.append(
            f"<section><h3>{html.escape(p.pair_id)}</h3><p class='prompt'>{html.escape(p.prompt)}</p>"
            f"<div class='pair'><figure><video src='{html.escape(src(p.video_a))}' controls loop muted autoplay></video>"
            f"<figcaption>A</figcaption></figure><figure><video src='{html.escape(src(p.video_b))}' controls loop muted autoplay>"
            f"</video><figcaption>B</figcaption></figure></div></section>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>seedflow arena: rate pairs</title>"
        "<style>body{font-family:sans-serif;max-width:980px;margin:auto}.pair{display:flex;gap:16px}"
        "video{width:320px;image-rendering:pixelated;background:#000}.prompt{color:#333}</style></head><body>"
        "<h1>Which video is better?</h1><p>For each pair and each dimension ("
        + ", ".join(html.escape(d) for d in dimensions)
        + ") write A, B or same in <code>labels_template.csv</code> with your rater id.</p>"
        + "".join(rows)
        + "</body></html>"
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    return {k: folder / f for k, f in
            (("pairs", "pairs.csv"), ("key", "pairs_key.csv"), ("template", "labels_template.csv"), ("html", "index.html"))}


def read_key(path: str | Path) -> dict[str, tuple[str, str, str]]:
    """pair_id -> (prompt_id, model_a, model_b)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {r["pair_id"]: (r["prompt_id"], r["model_a"], r["model_b"]) for r in csv.DictReader(f)}


def _expectations(pair_ids: list[str], dimensions: tuple[str, ...]):
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="rater_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="rater_id", regex=RATER_ID_REGEX),
        gxe.ExpectColumnValuesToBeInSet(column="pair_id", value_set=pair_ids),
        gxe.ExpectColumnValuesToBeInSet(column="dimension", value_set=list(dimensions)),
        gxe.ExpectColumnValuesToBeInSet(column="choice", value_set=list(CHOICES)),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["rater_id", "pair_id", "dimension"]),
    ]


def _describe(cfg) -> str:
    kw = cfg.kwargs
    col = kw.get("column") or "+".join(kw.get("column_list", []))
    return f"{cfg.type}({col})"


@dataclass
class ImportedLabels:
    accepted: pd.DataFrame  # LABEL_COLUMNS + prompt_id, model_a, model_b
    quarantined: pd.DataFrame  # LABEL_COLUMNS + reason

    def comparisons(self, dimension: str) -> list[Comparison]:
        """Accepted labels of one dimension as model_a-vs-model_b outcomes (+1 A better, -1 B better)."""
        sub = self.accepted[self.accepted["dimension"] == dimension]
        out = {"A": 1, "B": -1, "same": 0}
        return [Comparison(r.model_a, r.model_b, out[r.choice], r.prompt_id) for r in sub.itertuples()]


def import_labels(path: str | Path, key: dict[str, tuple[str, str, str]], dimensions: tuple[str, ...]) -> ImportedLabels:
    """Read a raters' CSV, validate every row with GX, quarantine bad rows with reasons."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in LABEL_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {list(LABEL_COLUMNS)} (see labels_template.csv)")
    df = df[list(LABEL_COLUMNS)].reset_index(drop=True)
    df["choice"] = df["choice"].str.strip()
    # "a"/"b"/"Same" are the same intent as "A"/"B"/"same"; anything else is left for GX to reject
    df["choice"] = df["choice"].map(lambda c: {"a": "A", "b": "B", "same": "same"}.get(str(c).lower(), c) if isinstance(c, str) else c)

    ctx = gx.get_context(mode="ephemeral")
    source = ctx.data_sources.add_pandas(name="human_labels")
    asset = source.add_dataframe_asset(name="labels")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name="human_labels", expectations=_expectations(sorted(key), dimensions))
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})

    reasons: dict[int, list[str]] = {}
    for r in result.results:
        if r.success:
            continue
        for idx in (r.result or {}).get("unexpected_index_list") or []:
            i = int(idx["index"]) if isinstance(idx, dict) else int(idx)
            reasons.setdefault(i, []).append(_describe(r.expectation_config))
    # ExpectCompoundColumnsToBeUnique flags every copy; keep the first label, quarantine the repeats
    dup = df.duplicated(subset=["rater_id", "pair_id", "dimension"], keep="first")
    for i in range(len(df)):
        rs = reasons.get(i, [])
        if any(x.startswith("expect_compound_columns_to_be_unique") for x in rs) and not dup[i]:
            rs = [x for x in rs if not x.startswith("expect_compound_columns_to_be_unique")]
        if rs:
            reasons[i] = rs
        else:
            reasons.pop(i, None)
    bad = sorted(reasons)
    quarantined = df.loc[bad].copy()
    quarantined["reason"] = ["; ".join(reasons[i]) for i in bad]
    accepted = df.drop(index=bad).copy()
    accepted["prompt_id"] = [key[p][0] for p in accepted["pair_id"]]
    accepted["model_a"] = [key[p][1] for p in accepted["pair_id"]]
    accepted["model_b"] = [key[p][2] for p in accepted["pair_id"]]
    return ImportedLabels(accepted.reset_index(drop=True), quarantined.reset_index(drop=True))
