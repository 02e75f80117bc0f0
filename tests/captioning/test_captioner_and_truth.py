"""Captioner plumbing (tokenizer, checkpoints), the ground-truth join and the accuracy metric."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from assets.captioning import stages
from assets.captioning.captioner import captioner_config, fit_tokenizer, shot_texts
from assets.captioning.ground_truth import clip_truth, gt_shots_from_plan, shot_ranges
from assets.captioning.schema import DenseCaption, ShotCaption, render_shot
from assets.captioning.settings import CaptioningSettings
from assets.sourcing.world.plan import plan_world
from assets.sourcing.world.settings import WorldSettings
from models.captioner.embedded import EmbeddedCaptioner


def _shots(n: int = 20) -> list[ShotCaption]:
    from assets.captioning.ground_truth import shot_caption_from_spec
    from assets.sourcing.world.plan import sample_shot

    rng = np.random.default_rng(0)
    return [shot_caption_from_spec(sample_shot(rng, WorldSettings()), None) for _ in range(n)]


def test_tokenizer_roundtrips_both_languages() -> None:
    shots = _shots()
    tok = fit_tokenizer(shots)
    for shot in shots:
        for text, lang, form in shot_texts(shot):
            ids = tok.encode(text, lang, form)
            assert 3 not in ids  # no <unk>
            assert tok.decode(ids[3:], lang) == text


def test_checkpoint_roundtrip_is_exact(tmp_path) -> None:
    torch.manual_seed(0)
    tok = fit_tokenizer(_shots())
    s = CaptioningSettings(width=32, heads=2, decoder_layers=1, max_tokens=24, frames_per_shot=4, frame_size=16)
    model = EmbeddedCaptioner(captioner_config(s, tok), tok)
    frames = torch.rand(2, 4, 3, 16, 16)
    before = model.caption(frames, "zh", "short")
    model.save_pretrained(tmp_path)
    assert not list(tmp_path.glob("*.bin")) and (tmp_path / "model.safetensors").exists()
    again = EmbeddedCaptioner.from_pretrained(tmp_path)
    assert again.caption(frames, "zh", "short") == before
    assert not any(p.requires_grad for p in again.encoder.parameters())  # the visual side stays frozen


def test_ground_truth_join_follows_frame_ranges() -> None:
    videos = plan_world(WorldSettings(n_videos=3, seed=1))
    gt = gt_shots_from_plan(videos)
    v = videos[0]
    spans = v.shot_spans()
    by_video = {v.video_id: [g for g in gt if g.video_id == v.video_id]}
    # a clip covering shots 0..1 of the video, with the detected cut at the true boundary
    a, b = spans[0][0], spans[min(1, len(spans) - 1)][1]
    clip = {"source_relpath": f"{v.video_id}.mp4", "start_frame": a, "end_frame": b, "n_frames": b - a,
            "shot_boundaries": [spans[1][0] - a] if len(spans) > 1 else []}
    t = clip_truth(clip, by_video)
    assert t is not None and t.n_shots == min(2, len(spans))
    assert t.caption.shots[0] == gt[0].caption
    assert len(t.shot_labels) == len(shot_ranges(b - a, clip["shot_boundaries"]))
    assert t.caption.shots[0].transition is None


def _ann_and_caps(texts_for):
    shots = _shots(30)
    ann, caps = [], []
    for i, s in enumerate(shots):
        ann.append({"clip_id": f"c{i}", "split": "heldout", "true_n_shots": 1,
                    "shot_labels_json": json.dumps([s.to_dict()])})
        caps.append({"clip_id": f"c{i}", "n_shots": 1, "shot_captions_en": [render_shot(texts_for(i, shots), "en")],
                     "shot_captions_zh": [render_shot(texts_for(i, shots), "zh")]})
    return pd.DataFrame(ann), pd.DataFrame(caps)


def test_accuracy_is_perfect_for_truth_and_fails_for_shuffled_captions() -> None:
    ann, caps = _ann_and_caps(lambda i, shots: shots[i])
    acc = stages.heldout_accuracy(ann, caps)
    assert all(v == 1.0 for v in acc["mean"].values()) and acc["shot_count"] == 1.0
    ann, caps = _ann_and_caps(lambda i, shots: shots[(i * 7 + 3) % len(shots)])  # captions of other clips
    bad = stages.heldout_accuracy(ann, caps)
    assert bad["mean"]["motion"] < 0.5 and bad["mean"]["colour"] < 0.6


def test_caption_rows_assemble_multi_shot_captions() -> None:
    shots = _shots(3)
    clip = {"clip_id": "x", "path": "p", "sha256": "0" * 64, "n_frames": 48, "fps": 12.0, "width": 64, "height": 36,
            "shot_boundaries": [24]}
    gen = {(l, f): [render_shot(s, l, f) for s in shots[:2]] for l in ("en", "zh") for f in ("long", "short")}
    (row,) = stages.caption_rows([clip], [2], gen, "embedded")
    assert row["caption_valid"] and row["caption_long_en"].startswith("[SHOT 1]") and "[CUT] [SHOT 2]" in row["caption_long_zh"]
    assert DenseCaption.from_dict(json.loads(row["caption_json"])).n_shots == 2
    assert row["shot_captions_short_en"] == gen[("en", "short")]


def _seq_logp(decoder, prompt, memory, ids, eos: int) -> torch.Tensor:
    """Summed log-probability of generated ids (up to and including the first eos) under teacher forcing."""
    full = torch.cat([prompt, ids], dim=1)
    logp = decoder(full, memory)[:, prompt.shape[1] - 1:-1].log_softmax(-1)  # (B, L, V)
    tok = logp.gather(-1, ids[..., None])[..., 0]  # (B, L)
    after_eos = (ids == eos).cumsum(1) - (ids == eos).long() > 0  # positions after the first eos
    return tok.masked_fill(after_eos, 0.0).sum(1)


def test_beam_search_orders_beams_and_the_grammar_filter_skips_rejected_captions() -> None:
    from models.captioner.tokenizer import EOS

    torch.manual_seed(0)
    tok = fit_tokenizer(_shots())
    s = CaptioningSettings(width=32, heads=2, decoder_layers=1, max_tokens=16, frames_per_shot=4, frame_size=16)
    model = EmbeddedCaptioner(captioner_config(s, tok), tok)
    frames = torch.rand(3, 4, 3, 16, 16)
    with torch.no_grad():
        memory = model.encoder(frames)
        prompt = torch.tensor([tok.prompt("en", "long")] * 3)
        greedy = model.decoder.generate(prompt, memory, 16, EOS)
        one = model.decoder.beam_generate(prompt, memory, 16, EOS, beams=1)[:, 0]
        assert torch.equal(one[:, :greedy.shape[1]], greedy)  # one beam is greedy decoding
        beams = model.decoder.beam_generate(prompt, memory, 16, EOS, beams=3)  # (3, 3, L)
        scores = torch.stack([_seq_logp(model.decoder, prompt, memory, beams[:, k], EOS) for k in range(3)], 1)
        assert (scores[:, :-1] >= scores[:, 1:] - 1e-4).all()  # most likely first
        # the best beam is at least as likely as the greedy caption (both padded with eos to one length:
        # the shorter one finished every row before the common step limit)
        n = max(greedy.shape[1], beams.shape[-1])
        pad = lambda x: torch.nn.functional.pad(x, (0, n - x.shape[-1]), value=EOS)  # noqa: E731
        best = _seq_logp(model.decoder, prompt, memory, pad(beams[:, 0]), EOS)
        assert (best >= _seq_logp(model.decoder, prompt, memory, pad(greedy), EOS) - 1e-4).all()
    model.cfg.beams = 3
    texts = [[tok.decode(r.tolist(), "en") for r in b] for b in beams]
    model.accept = lambda text, lang: text != texts[0][0]  # reject the first shot's most likely caption
    out = model.caption_memory(memory, "en", "long")
    # per shot: the most likely accepted caption, or the most likely one when none is accepted
    assert out == [next((t for t in b if model.accept(t, "en")), b[0]) for b in texts]
    assert out[0] != texts[0][0] or all(t == texts[0][0] for t in texts[0])
