"""Dedup: embeddings of rendered near-duplicates, clustering cost, groups, keeping the best clip."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import cv2
import numpy as np
import pyarrow as pa
import pytest

from assets.curation import stages
from assets.curation.dedup import (
    FRAMES, duplicate_groups, frame_rows, frame_weights, kmeans, pair_similarity, shot_embedding, similar_pairs, similarity_matrix,
)
from assets.curation.settings import CurationSettings
from assets.sourcing.world.render import iter_shot, make_shot

H, W, FPS, N = 144, 256, 12, 24
THRESHOLD = CurationSettings().dedup_similarity


def _thumbs(shot) -> list[np.ndarray]:
    """Like the analysis pass: 8 evenly spaced frames of the shot, area-resized to 32 x 32."""
    keep = set(np.linspace(0, shot.n_frames - 1, 8).round().astype(int).tolist())
    return [cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for i, f in enumerate(iter_shot(shot, H, W, FPS)) if i in keep]


@pytest.fixture(scope="module")
def shots() -> dict[str, list[np.ndarray]]:
    """An original, three near-duplicate re-renders of it (new noise; a centre crop; a lower internal
    resolution), and two different
    shots of the same scene and camera (other seeds and subjects)."""
    orig = make_shot(subjects=[("fish", "red", "left"), ("star", "yellow", "still")], scene="grass",
                     camera="pan_right", n_frames=N, seed=11, noise_sigma=2.0)  # fmt: skip
    other = make_shot(subjects=[("circle", "blue", "right")], scene="grass", camera="pan_right", n_frames=N, seed=12, noise_sigma=2.0)
    other2 = make_shot(subjects=[("square", "red", "up"), ("bird", "white", "right")], scene="grass",
                       camera="pan_right", n_frames=N, seed=13, noise_sigma=2.0)  # fmt: skip
    return {
        "orig": _thumbs(orig),
        "noise": _thumbs(replace(orig, dup_variant="noise", noise_seed=7, noise_sigma=5.0)),
        "crop": _thumbs(replace(orig, dup_variant="crop", noise_seed=8, crop=0.8)),
        "res": _thumbs(replace(orig, dup_variant="resolution", noise_seed=9, resample=0.5)),
        "other": _thumbs(other),
        "other2": _thumbs(other2),
    }


def _segment_thumbs(shot, lo: int, hi: int) -> list[np.ndarray]:
    """8 evenly spaced 32 x 32 thumbnails of frames [lo, hi) of a shot (a detected segment)."""
    keep = set(np.linspace(lo, hi - 1, 8).round().astype(int).tolist())
    return [cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for i, f in enumerate(iter_shot(shot, H, W, FPS)) if i in keep]


def test_frame_weights_smooth_over_neighbours_only() -> None:
    w = frame_weights(5)
    assert w.shape == (5, 5) and np.allclose(w.sum(1), 1.0)
    assert np.allclose(np.triu(w, 2), 0) and np.allclose(np.tril(w, -2), 0)  # local in time
    assert w[2, 2] == pytest.approx(0.5) and w[2, 1] == w[2, 3] == pytest.approx(0.25)
    assert np.allclose(frame_weights(1), 1.0)
    rows = frame_rows(np.eye(3, 4, dtype=np.float32))  # a pretrained encoder's 3 frame vectors
    assert rows.shape == (FRAMES, 4) and np.allclose(np.linalg.norm(rows[:3], axis=1), 1) and not rows[3:].any()


def test_segment_running_into_the_next_shot_still_matches() -> None:
    """A missed cut: the copy's detected segment ends with frames of another shot. Pooled time bins
    averaged them into the signature; the trimmed frame matching leaves them out."""
    orig = make_shot(subjects=[("square", "red", "right")], scene="grass", camera="zoom_in", n_frames=36, seed=31, noise_sigma=2.0)
    copy = replace(orig, dup_variant="noise", noise_seed=6, noise_sigma=4.0)
    nxt = make_shot(subjects=[("bird", "white", "left")], scene="city", camera="static", n_frames=36, seed=32, noise_sigma=2.0)
    a = shot_embedding(_segment_thumbs(orig, 0, 36))
    spill = _segment_thumbs(copy, 0, 36)[:5] + _segment_thumbs(nxt, 0, 36)[:3]  # 3 of 8 thumbnails foreign
    b = shot_embedding(spill)
    c = shot_embedding(_segment_thumbs(nxt, 0, 36))
    assert pair_similarity(a, b) >= max(THRESHOLD, 0.95), pair_similarity(a, b)  # pooled time bins: 0.86
    # the segment holds 3 of the next shot's frames, but not the other way round: no match with it either
    assert pair_similarity(a, c) < THRESHOLD and pair_similarity(b, c) < THRESHOLD, (pair_similarity(a, c), pair_similarity(b, c))


def test_pretrained_per_frame_vectors_use_the_same_matching() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 32)).astype(np.float32)
    copy = base + rng.normal(0, 0.1, size=base.shape).astype(np.float32)
    copy[-1] = rng.normal(size=32)  # one foreign frame at the end
    other = rng.normal(size=(6, 32)).astype(np.float32)
    s = similarity_matrix(np.stack([frame_rows(base), frame_rows(copy), frame_rows(other)]))
    assert s.shape == (3, 3) and s[0, 1] > 0.9 and s[0, 2] < 0.5 and s[1, 2] < 0.5, s


def test_copy_whose_segment_covers_another_stretch_still_matches() -> None:
    """A copy's detected segment is often cut a few frames differently from its original's (a dissolve
    on one side only); pooled time bins then compared different moments of a moving shot."""
    orig = make_shot(subjects=[("circle", "red", "right"), ("square", "green", "up")], scene="ocean",
                     camera="zoom_in", n_frames=36, seed=21, noise_sigma=2.0)  # fmt: skip
    copy = replace(orig, dup_variant="noise", noise_seed=5, noise_sigma=4.0)
    other = make_shot(subjects=[("star", "red", "left")], scene="ocean", camera="zoom_in", n_frames=36, seed=22, noise_sigma=2.0)
    a = shot_embedding(_segment_thumbs(orig, 0, 36))
    b = shot_embedding(_segment_thumbs(copy, 0, 26))  # the first 72 % of the shot (3 disjoint time bins: 0.75)
    c = shot_embedding(_segment_thumbs(other, 0, 36))
    assert pair_similarity(a, b) >= THRESHOLD, pair_similarity(a, b)
    assert pair_similarity(a, c) < THRESHOLD, pair_similarity(a, c)


def test_rendered_duplicates_match_and_other_shots_of_the_scene_do_not(shots) -> None:
    names = list(shots)
    emb = np.stack([shot_embedding(shots[k]) for k in names])  # (6, V, FRAMES, D)
    sim = {(a, b): pair_similarity(emb[i], emb[j]) for i, a in enumerate(names) for j, b in enumerate(names) if i < j}
    for pair in [("orig", "noise"), ("orig", "crop"), ("orig", "res"), ("crop", "res")]:
        assert sim[pair] >= THRESHOLD, (pair, sim[pair])
    for pair in [("orig", "other"), ("orig", "other2"), ("other", "other2"), ("crop", "other2")]:
        assert sim[pair] < THRESHOLD, (pair, sim[pair])
    pairs = similar_pairs(emb, THRESHOLD, 0, 2, seed=0)
    assert pairs == {(i, j) for i in range(4) for j in range(i + 1, 4)}
    # A crop box (a rectified clip) is applied before the descriptor: the full frame is the identity.
    assert np.allclose(shot_embedding(shots["orig"], (0.0, 0.0, 1.0, 1.0)), emb[0])


def test_rectification_crop_masks_the_overlay_instead_of_moving_the_picture(shots) -> None:
    # A ticker-like bar burnt into the bottom of one copy, cut away by its rectification crop only.
    ticker = [t.copy() for t in shots["noise"]]
    for i, t in enumerate(ticker):
        t[27:, :] = 0
        t[28:31, (i * 3) % 8 :: 8] = 255  # moving "text"
    bare = pair_similarity(shot_embedding(shots["orig"]), shot_embedding(ticker))
    masked = pair_similarity(shot_embedding(shots["orig"]), shot_embedding(ticker, (0.0, 0.0, 1.0, 0.8)))
    assert masked >= THRESHOLD and masked > bare, (masked, bare)  # (bare: its 0.76 zoom view drops the bar)
    # Different crops of the same shot (e.g. a false overlay on one copy) still match.
    assert pair_similarity(shot_embedding(shots["crop"], (0.1, 0.0, 0.9, 0.85)), shot_embedding(shots["orig"])) >= THRESHOLD


def test_clustering_compares_subquadratically_and_finds_planted_pairs() -> None:
    def run(n: int) -> tuple[int, bool]:
        rng = np.random.default_rng(n)
        x = rng.normal(size=(n, 64))
        x[n // 2 : n // 2 + n // 10] = x[: n // 10] + rng.normal(0, 0.05, size=(n // 10, 64))  # planted copies
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        stats: dict[str, int] = {}
        pairs = similar_pairs(x.astype(np.float32), 0.9, 0, 2, seed=0, stats=stats)
        planted = {(i, n // 2 + i) for i in range(n // 10)}
        return stats["comparisons"], planted <= pairs and len(pairs) == len(planted)

    small, ok_small = run(200)
    big, ok_big = run(800)
    assert ok_small and ok_big
    assert big < 0.25 * 800 * 799 / 2  # far from exhaustive
    assert big / small < 11  # ~ n^1.5 grows 8x for 4x the shots; n^2 would grow 16x


def test_groups_use_containment_of_shots() -> None:
    # clip 0: shots {0}; clip 1: shots {1, 2}; clip 2: shots {3}. Shot 0 ~ shot 1, shot 3 ~ nothing.
    groups = duplicate_groups([[0], [1, 2], [3]], {(0, 1)})
    assert groups[0] == groups[1] != groups[2]  # clip 0 is contained in clip 1
    # The bigger clip alone is not contained in the smaller one, but they still share a group.
    assert duplicate_groups([[0, 1], [2]], {(0, 2)}) == [0, 0]
    assert duplicate_groups([[0, 1], [2, 3]], {(0, 2)}) == [0, 1]  # partial overlap: not duplicates


def test_kmeans_is_seeded() -> None:
    x = np.random.default_rng(0).normal(size=(50, 8))
    assert np.array_equal(kmeans(x, 5, seed=5), kmeans(x, 5, seed=5))


def test_run_dedup_keeps_the_best_quality_clip(shots, monkeypatch) -> None:
    # One analysis per clip (a single segment holding its shot's thumbnails); the stage reads them by path.
    analyses = {k: SimpleNamespace(width=W, height=H, segments=[SimpleNamespace(shot_index=0, thumbs=list(enumerate(t)))])
                for k, t in shots.items()}  # fmt: skip
    monkeypatch.setattr(stages, "_analysis_loader", lambda store: analyses.__getitem__)
    quality = {"orig": 0.5, "noise": 0.8, "crop": 0.6, "res": 0.7, "other": 0.9, "other2": 0.1}
    rows = [{"clip_id": k, "video_id": k, "source_relpath": f"{k}.mp4", "analysis_path": k, "start_frame": 0, "end_frame": N,
             "segments": [0], "crop_x0": 0, "crop_y0": 0, "crop_x1": W, "crop_y1": H, "quality_score": q}
            for k, q in quality.items()]  # fmt: skip
    cols = {f.name: [r.get(f.name) for r in rows] for f in stages.schemas.CLIPS}
    out = stages.run_dedup(None, pa.table(cols, schema=stages.schemas.CLIPS), CurationSettings())
    kept = out.tables["clips"].to_pylist()
    assert sorted(r["clip_id"] for r in kept) == ["noise", "other", "other2"]
    dropped = {r["clip_id"]: r for r in out.tables["dropped"].to_pylist()}
    assert set(dropped) == {"orig", "crop", "res"}
    assert all(r["reason"] == "near_duplicate" and '"dup_of": "noise"' in r["detail"] for r in dropped.values())
    assert {r["clip_id"]: r["dup_group"] for r in kept}["noise"] == "noise"
    assert out.counts["duplicate_groups"] == 1


def _tiny_clip_encoder(path) -> None:
    """A randomly initialised 2-layer CLIP vision tower + processor, saved like a real checkpoint."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg = CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, projection_dim=16)  # fmt: skip
    CLIPVisionModel(cfg).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)


def test_run_dedup_with_a_pretrained_encoder_from_a_local_path(shots, monkeypatch, tmp_path) -> None:
    _tiny_clip_encoder(tmp_path / "enc")
    clips = {"orig": shots["orig"], "copy": [t.copy() for t in shots["orig"]], "other": shots["other"],
             "other2": shots["other2"]}  # fmt: skip
    analyses = {k: SimpleNamespace(width=W, height=H, segments=[SimpleNamespace(shot_index=0, thumbs=list(enumerate(t)))])
                for k, t in clips.items()}  # fmt: skip
    monkeypatch.setattr(stages, "_analysis_loader", lambda store: analyses.__getitem__)
    quality = {"orig": 0.5, "copy": 0.8, "other": 0.9, "other2": 0.1}
    rows = [{"clip_id": k, "video_id": k, "source_relpath": f"{k}.mp4", "analysis_path": k, "start_frame": 0, "end_frame": N,
             "segments": [0], "crop_x0": 0, "crop_y0": 0, "crop_x1": W, "crop_y1": H, "quality_score": q}
            for k, q in quality.items()]  # fmt: skip
    cols = {f.name: [r.get(f.name) for r in rows] for f in stages.schemas.CLIPS}
    s = CurationSettings(embedder="pretrained", embedder_path=str(tmp_path / "enc"), pretrained_similarity=0.999)
    out = stages.run_dedup(None, pa.table(cols, schema=stages.schemas.CLIPS), s)
    assert sorted(r["clip_id"] for r in out.tables["clips"].to_pylist()) == ["copy", "other", "other2"]
    assert [r["clip_id"] for r in out.tables["dropped"].to_pylist()] == ["orig"]
    assert out.counts["shot_pairs_matched"] == 1 and out.counts["shot_pairs_compared"] >= 1


def test_pretrained_embedder_without_a_local_checkpoint_says_what_to_do(tmp_path) -> None:
    from models.curation.embedders import PretrainedShotEmbedder

    with pytest.raises(ValueError, match="embedder_path"):
        PretrainedShotEmbedder(tmp_path / "missing")
