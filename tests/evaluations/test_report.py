"""Arena tables from per-video scores and the report's rendering, on hand-made numbers."""

import numpy as np
import pandas as pd

from evaluations.arena import automatic_comparisons, gsb_table, pair_outcomes
from evaluations.bradley_terry import leaderboard
from evaluations.report import ReportData, render_report, stage_progress

DIMS = ["motion_quality", "prompt_following"]


def scores_frame():
    # three stages; stage_b better than stage_a on prompt following on every prompt, same motion;
    # stage_c worse than stage_b on motion on every prompt
    rows = []
    for i in range(12):
        rows.append({"model": "stage_a", "prompt_id": f"p{i}", "motion_quality": 0.6, "prompt_following": 0.3})
        rows.append({"model": "stage_b", "prompt_id": f"p{i}", "motion_quality": 0.6, "prompt_following": 0.8})
        rows.append({"model": "stage_c", "prompt_id": f"p{i}", "motion_quality": 0.2, "prompt_following": 0.8})
    return pd.DataFrame(rows)


def test_pair_outcomes_and_gsb_hand_computed():
    df = scores_frame()
    po = pair_outcomes(df, "stage_b", "stage_a", DIMS, tie_margin=0.05)
    assert po["prompt_following"].tolist() == [1.0] * 12 and po["motion_quality"].tolist() == [0.0] * 12
    assert po["overall"].tolist() == [1.0] * 12  # one Good, one Same -> Good
    g = gsb_table(df, ["stage_a", "stage_b", "stage_c"], DIMS, tie_margin=0.05, n_boot=50, alpha=0.05, seed=0)
    row = g[(g.model_a == "stage_a") & (g.model_b == "stage_b") & (g.dimension == "prompt_following")].iloc[0]
    assert (row.good, row.same, row.bad, row.score) == (0, 0, 12, -1.0)
    row = g[(g.model_a == "stage_b") & (g.model_b == "stage_c") & (g.dimension == "motion_quality")].iloc[0]
    assert row.score == 1.0 and row.low == 1.0
    comps = automatic_comparisons(df, ["stage_a", "stage_b", "stage_c"], DIMS, 0.05)
    assert len(comps) == 36
    board = leaderboard(comps, n_boot=50)
    assert board[0].model == "stage_b"


def test_stage_progress_verdicts_and_report_rendering():
    df = scores_frame()
    models = ["stage_a", "stage_b", "stage_c"]
    gsb = gsb_table(df, models, DIMS, tie_margin=0.05, n_boot=50, alpha=0.05, seed=0)
    likert = pd.DataFrame([{"model": m, "dimension": d, "likert": v, "raw": v / 5, "n": 12}
                           for m, vals in {"stage_a": (4, 2), "stage_b": (4, 4), "stage_c": (2, 4)}.items()
                           for d, v in zip(DIMS, vals)])
    prog = stage_progress(gsb, likert, models)
    verdict = {(r["from"], r["dimension"]): r["verdict"] for r in prog.to_dict("records")}
    assert verdict[("stage_a", "prompt_following")] == "improved"
    assert verdict[("stage_a", "motion_quality")] == "no significant change"
    assert verdict[("stage_b", "motion_quality")] == "regressed"
    row = prog[(prog["from"] == "stage_a") & (prog["dimension"] == "prompt_following")].iloc[0]
    assert row.gsb == 1.0 and row.likert_delta == 2.0

    comps = automatic_comparisons(df, models, DIMS, 0.05)
    data = ReportData(
        title="test report", models=models, likert=likert,
        categories=pd.DataFrame([{"model": m, "category": c, "score": 0.5} for m in models for c in ("subject", "camera")]),
        leaderboard=leaderboard(comps, n_boot=50), gsb=gsb,
        shots=pd.DataFrame([{"model": m, "requested": k, "detected": 1.0, "videos": 3} for m in models for k in (1, 2)]),
        judges=pd.DataFrame([{"judge": "style", "accuracy": 0.9, "floor": 0.7, "passed": True}]),
        samples={m: np.zeros((8, 48, 3), np.uint8) for m in models}, notes=["a note"],
    )
    rep = render_report(data)
    assert set(rep.pngs) == {"dimensions.png", "categories.png", "elo.png", "gsb_matrix.png", "shots.png", "samples.png"}
    assert all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in rep.pngs.values())
    assert rep.html.count("data:image/png;base64,") == 6 and "<h2>Judges</h2>" in rep.html
    assert "**stage_a -> stage_b**: motion_quality: no significant change" in rep.markdown
    assert "prompt_following: improved (GSB +1.00" in rep.markdown
    assert "**stage_b -> stage_c**: motion_quality: regressed (GSB -1.00" in rep.markdown
    assert "Largest change" in rep.markdown and "a note" in rep.markdown
