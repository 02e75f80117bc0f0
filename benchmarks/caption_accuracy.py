"""Caption accuracy of the embedded captioner against ground truth on held-out shots.

Uses the tiny preset's captioning settings (`render_preset("tiny")["captioning"]`, what `make demo` trains;
`--no-detector` turns the subject detector off for the before/after comparison). Trains the captioner
exactly as the `captioner` asset does (phase 1: visual encoder pre-training
then frozen; phase 2: bilingual decoder) on world shots rendered with ground truth (natural shot
durations, clean, long tail flattened to 0.3), captions held-out shots (another seed) in EN and ZH,
parses the texts back and scores each attribute. CPU times are `time.process_time()` (one thread). The majority-class baseline is
reported beside it (a captioner must beat it). Shot-count accuracy on curated clips is in the
`captions` asset's `heldout_accuracy` metadata (it depends on curation's shot boundaries).
Captions are decoded as the preset says (beam search, the most likely caption that follows the grammar);
`<lang>.greedy` is the same decoder greedy and unfiltered (its own consistency). Writes
benchmarks/results/caption_accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from assets.captioning.captioner import (
    SHOT_ATTRIBUTES,
    CaptionerData,
    label_tensors,
    majority_baseline,
    parse_or_none,
    render_augmentation,
    shot_accuracy,
    train_captioner,
)
from assets.captioning.settings import CaptioningSettings
from orchestration.presets import render_preset

_CAPTIONER_KEYS = ("frames_per_shot", "frame_size", "view_height", "view_width", "perception_frames", "detector_shots",
                   "detector_epochs", "detector_width", "percept_epochs", "channels", "width", "decoder_layers",
                   "encoder_epochs", "decoder_epochs", "batch_size", "lr", "beams")

# styles in which a subject's colour is visible (bw/ink/retro map colours to grey or sepia tones)
COLOUR_STYLES = ("natural", "neon", "pastel")
OUT = Path(__file__).resolve().parent / "results" / "caption_accuracy.json"


def machine() -> dict:
    try:
        from benchmarks._machine import describe  # type: ignore

        return describe()
    except Exception:
        return {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark; `main()` with no arguments uses the defaults (not the caller's sys.argv)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=800)
    ap.add_argument("--test", type=int, default=300)
    ap.add_argument("--no-detector", action="store_true", help="the tiny preset without the subject detector")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args([] if argv is None else argv)
    torch.set_num_threads(1)
    t0, c0 = time.time(), time.process_time()
    # the tiny preset's captioning settings (what `make demo` trains), only the shot counts differ
    s = CaptioningSettings(**render_preset("tiny")["captioning"])
    if args.no_detector:
        s = s.model_copy(update={"view_height": 0, "view_width": 0})
    frames, shots = render_augmentation(args.train, seed=1, frames=s.frames_per_shot, size=s.view_shape)
    test_frames, test_shots = render_augmentation(args.test, seed=2, frames=s.frames_per_shot, size=s.view_shape)
    render_cpu = time.process_time() - c0
    data = CaptionerData(frames, shots, 0)
    c1 = time.process_time()
    model, report, _ = train_captioner(s, data, seed=0)
    train_cpu = time.process_time() - c1
    result = {"train_shots": args.train, "test_shots": args.test, "preset": "tiny",
              "settings": {k: v for k, v in s.model_dump().items() if k in _CAPTIONER_KEYS},
              "render_cpu_s": render_cpu, "train_cpu_s": train_cpu, "detector_cpu_s": report.detector_cpu_s,
              "encoder_cpu_s": report.encoder_cpu_s, "decoder_cpu_s": report.decoder_cpu_s, "backend": model.backend,
              "subject_detector": bool(s.view_height), "detector_threshold": model.cfg.detector_threshold}
    visible = [i for i, t in enumerate(test_shots) if t.style in COLOUR_STYLES]
    c2 = time.process_time()
    with torch.no_grad():  # the frozen encoder's memory of every test shot, computed once
        memory = torch.cat([model.encoder(test_frames[i:i + 64]) for i in range(0, len(test_frames), 64)])
    greedy = model.cfg.beams <= 1
    caption_cpu = time.process_time() - c2
    for lang in ("en", "zh"):
        c3 = time.process_time()
        texts = model.caption_memory(memory, lang, "long")
        caption_cpu += time.process_time() - c3
        parsed = [parse_or_none(t, lang) for t in texts]
        result[lang] = shot_accuracy(parsed, test_shots)
        if not greedy:  # the decoder's own consistency: greedy decoding, no grammar filter
            model.cfg.beams = 1
            plain = [parse_or_none(t, lang) for t in model.caption_memory(memory, lang, "long")]
            model.cfg.beams = s.beams
            result[lang]["greedy"] = shot_accuracy(plain, test_shots)
        result[lang]["colour_visible_styles"] = shot_accuracy([parsed[i] for i in visible],
                                                              [test_shots[i] for i in visible])["colour"]
        result[lang]["colour_by_style"] = {
            st: shot_accuracy([parsed[i] for i, t in enumerate(test_shots) if t.style == st],
                              [t for t in test_shots if t.style == st])["colour"]
            for st in sorted({t.style for t in test_shots})}
        result[f"samples_{lang}"] = texts[:3]
    result["caption_cpu_s_per_shot_per_lang"] = caption_cpu / (2 * args.test)
    with torch.no_grad():  # the frozen encoder's own attribute heads (phase-1 quality)
        parts = [model.encoder.classify(test_frames[i:i + 64]) for i in range(0, len(test_frames), 64)]
        logits = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    truth = label_tensors(test_shots)
    result["encoder_heads"] = {k: float((logits[k].argmax(-1) == truth[k]).float().mean()) for k in SHOT_ATTRIBUTES}
    result["majority_baseline"] = majority_baseline(shots, test_shots)
    result["colour_visible_share"] = len(visible) / max(len(test_shots), 1)
    result["targets"] = {"subject": 0.6, "colour": 0.8, "count": 0.8, "motion": 0.6, "camera": 0.85, "scene": 0.85,
                         "style": 0.85, "parsed": 0.9}
    result["final_encoder_loss"] = report.encoder_loss[-1]
    result["final_decoder_loss"] = report.decoder_loss[-1]
    result["wall_s"] = time.time() - t0
    result["machine"] = machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("en", "zh", "encoder_heads", "majority_baseline", "train_cpu_s",
                                             "detector_cpu_s", "encoder_cpu_s", "decoder_cpu_s")}, indent=1))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
