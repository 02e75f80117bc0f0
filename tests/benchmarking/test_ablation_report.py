"""The temporal-text ablation in the benchmark report (issue 7 item 8), on hand-made scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from assets.benchmarking.defs import model_partition_keys
from assets.benchmarking.report_io import ablation_frame
from assets.benchmarking.settings import BenchmarkingSettings
from evaluations.arena import automatic_comparisons, gsb_table
from evaluations.bradley_terry import leaderboard
from evaluations.report import ABLATION_TITLE, ReportData, ablation_table, render_report

DIMS = ["motion_quality", "prompt_following"]
VARIANT, BASE = "dit_temporal_text_ablation", "dit_joint_low"


def _videos(variant_motion_gain: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(16):
        base = float(rng.uniform(0.3, 0.6))
        for m, mq in (("dit_t2i", base - 0.1), (BASE, base), (VARIANT, base + variant_motion_gain)):
            rows.append({"model": m, "prompt_id": f"p{i}", "motion_quality": mq, "prompt_following": 0.5,
                         "metrics": json.dumps({"temporal_flicker": mq, "proxy_dynamic_degree": 0.01})})
    return pd.DataFrame(rows)


def _likert(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("model")[DIMS].mean()
    return pd.DataFrame([{"model": m, "dimension": d, "raw": g.loc[m, d], "likert": 1 + 4 * g.loc[m, d], "n": 16}
                         for m in g.index for d in DIMS])


def test_ablation_table_intervals_and_verdict():
    df = _videos(0.08)
    gsb = gsb_table(df, ["dit_t2i", BASE, VARIANT], DIMS, tie_margin=0.05, n_boot=200, alpha=0.05, seed=0)
    table, summary = ablation_table(df, _likert(df), gsb, variant=VARIANT, baseline=BASE, n_boot=200)
    base, var = table.iloc[0], table.iloc[1]
    assert base.model == BASE and var.model == VARIANT and bool(var.temporal_sees_text)
    assert abs(var.delta_vs_baseline - 0.08) < 1e-9 and var.delta_low > 0  # paired: every prompt +0.08
    assert var.gsb_vs_baseline == 1.0 and var.gsb_low == 1.0  # variant better on every prompt, margin 0.05
    assert base.motion_low <= base.motion_raw <= base.motion_high
    assert abs(var.temporal_flicker - var.motion_raw) < 1e-9  # motion terms come from the metrics JSON
    assert "better" in summary and "16 prompts" in summary
    # the same comparison read the other way round in the GSB table flips sign and interval
    table2, _ = ablation_table(df, _likert(df), gsb, variant=BASE, baseline=VARIANT, n_boot=200)
    assert table2.iloc[1].gsb_vs_baseline == -1.0 and table2.iloc[1].gsb_high == -1.0
    # no real difference: no verdict either way
    df0 = _videos(0.0)
    df0.loc[df0.model == VARIANT, "motion_quality"] += np.random.default_rng(1).normal(0, 0.01, 16)
    _, s0 = ablation_table(df0, _likert(df0), gsb, variant=VARIANT, baseline=BASE, n_boot=200)
    assert "not significantly different" in s0


def test_report_renders_the_ablation_section_and_keeps_the_variant_out_of_the_stage_chain():
    df = _videos(-0.1)
    models = ["dit_t2i", BASE]
    gsb = gsb_table(df, models + [VARIANT], DIMS, tie_margin=0.05, n_boot=100, alpha=0.05, seed=0)
    likert = _likert(df)
    s = BenchmarkingSettings(temporal_text_variant=VARIANT, temporal_text_baseline=BASE, bootstrap=100)
    table, summary, note = ablation_frame(df, likert, gsb, s)
    assert note == "" and "worse" in summary
    comps = automatic_comparisons(df, models + [VARIANT], DIMS, 0.05)
    data = ReportData(
        title="t", models=models, extra_models=[VARIANT], likert=likert,
        categories=pd.DataFrame([{"model": m, "category": "action", "score": 0.5} for m in models + [VARIANT]]),
        leaderboard=leaderboard(comps, n_boot=30), gsb=gsb,
        shots=pd.DataFrame([{"model": m, "requested": 1, "detected": 1, "videos": 1} for m in models + [VARIANT]]),
        judges=pd.DataFrame([{"judge": "motion", "accuracy": 0.9, "floor": 0.4, "passed": True}]),
        ablation=table, ablation_summary=summary,
    )
    rep = render_report(data)
    assert f"<h2>{ABLATION_TITLE}</h2>" in rep.html and f"## {ABLATION_TITLE}" in rep.markdown
    assert summary in rep.markdown and "delta_vs_baseline" in rep.markdown and "gsb_vs_baseline" in rep.html
    assert VARIANT not in set(rep.progress["to"]) | set(rep.progress["from"])  # not a curriculum stage
    assert f"**dit_t2i -> {BASE}**" in rep.markdown
    # ablation off: no section, a note saying how to turn it on
    off = BenchmarkingSettings(temporal_text_variant="")
    assert ablation_frame(df, likert, gsb, off)[0] is None and "temporal_text_variant" in ablation_frame(df, likert, gsb, off)[2]


def test_variant_becomes_a_benchmark_partition():
    class Params:
        def section(self, name, cls):
            raise KeyError(name)

    s = BenchmarkingSettings(models=["dit_t2i", BASE], temporal_text_variant=VARIANT)
    keys, _ = model_partition_keys(s, Params())
    assert keys == ["dit_t2i", BASE, VARIANT]
