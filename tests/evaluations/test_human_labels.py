"""Raters' export and the validated import of their labels (bad rows quarantined with reasons)."""

import pytest

from evaluations.human_labels import export_pairs, import_labels, make_pairs, read_key

DIMS = ("motion_quality", "prompt_following")


@pytest.fixture()
def exported(tmp_path):
    # store paths are content hashes in production: nothing in a path names the model
    videos = {"m1": {"p1": "v/0a.mp4", "p2": "v/0b.mp4"}, "m2": {"p1": "v/0c.mp4", "p2": "v/0d.mp4"}}
    pairs = make_pairs(videos, {"p1": "a red circle", "p2": "两个蓝色的鱼"}, seed=0)
    files = export_pairs(pairs, tmp_path, DIMS)
    return tmp_path, pairs, read_key(files["key"]), files


def test_export_is_blind_and_complete(exported):
    folder, pairs, key, files = exported
    assert len(pairs) == 2 and {p.prompt_id for p in pairs} == {"p1", "p2"}
    page = files["html"].read_text(encoding="utf-8")
    assert "m1" not in page and "m2" not in page  # raters never see model names
    assert "两个蓝色的鱼" in page and page.count("<video") == 4
    assert "model_a" not in files["pairs"].read_text() and "model_a" in files["key"].read_text()
    assert files["template"].read_text().count("\n") == 1 + 2 * len(DIMS)
    assert set(key) == {p.pair_id for p in pairs}


def test_import_quarantines_bad_rows_with_reasons(exported):
    folder, pairs, key, _ = exported
    p0, p1 = pairs[0].pair_id, pairs[1].pair_id
    (folder / "labels.csv").write_text(
        "rater_id,pair_id,dimension,choice\n"
        f"r1,{p0},motion_quality,A\n"  # ok
        f"r1,{p0},motion_quality,B\n"  # duplicate of the row above
        f"r1,{p1},motion_quality,maybe\n"  # bad choice
        f",{p1},prompt_following,same\n"  # missing rater
        "r2,pair-99999,motion_quality,A\n"  # unknown pair
        f"r2,{p1},aesthetics,A\n"  # unknown dimension
        f"bad id!,{p1},motion_quality,b\n"  # malformed rater id
        f"r2,{p1},motion_quality,b\n"  # ok (lower case normalised)
        f"r2,{p1},prompt_following,Same\n",  # ok
        encoding="utf-8",
    )
    res = import_labels(folder / "labels.csv", key, DIMS)
    assert len(res.accepted) == 3 and len(res.quarantined) == 6
    # quarantined rows keep their file order: duplicate, bad choice, no rater, unknown pair, unknown
    # dimension, malformed rater id - each with the failed expectation named
    expected = ["compound_columns_to_be_unique", "to_be_in_set(choice)", "not_be_null(rater_id)",
                "to_be_in_set(pair_id)", "to_be_in_set(dimension)", "match_regex(rater_id)"]
    for reason, want in zip(res.quarantined["reason"], expected):
        assert want in reason
    comps = res.comparisons("motion_quality")
    a0 = pairs[0]
    assert comps[0].model_a == a0.model_a and comps[0].outcome == 1
    assert comps[1].outcome == -1  # "b": model B of pair 1 preferred
    assert res.comparisons("prompt_following")[0].outcome == 0


def test_import_rejects_missing_columns(exported, tmp_path):
    folder, _, key, _ = exported
    (folder / "bad.csv").write_text("rater,pair_id,choice\nr1,x,A\n")
    with pytest.raises(ValueError, match="missing columns"):
        import_labels(folder / "bad.csv", key, DIMS)
