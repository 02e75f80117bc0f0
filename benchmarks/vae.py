"""Benchmark: thin VAE decoder vs full decoder (report 5.1) on the tiny preset.

Trains the tiny-preset VAE on synthetic-world clips, retrains the thin decoder with the encoder frozen,
then on the same held-out latents measures decode wall time (best of N, one thread) and reconstruction
PSNR of both decoders. Writes benchmarks/results/vae.json. Targets: speed-up >= 2x, PSNR drop <= 0.5 dB.

    python benchmarks/vae.py [--steps N] [--thin-steps N] [--clips N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    try:
        from benchmarks._machine import describe  # type: ignore

        return describe()
    except Exception:
        return {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
                "python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads()}


def world_clips(n: int, frames: int, seed: int, out: Path) -> list:
    """n single-shot synthetic-world clips (144x256, 12 fps) decoded back as training clips."""
    from assets.encoding.vae_training import ClipFrames
    from assets.sourcing.world import vocabulary as V
    from assets.sourcing.world.plan import make_shot
    from assets.sourcing.world.render import render_shot

    rng = np.random.default_rng(seed)
    keys = lambda a: [t.key for t in V.VOCABULARY[a]]  # noqa: E731
    clips = []
    for i in range(n):
        pick = lambda a: keys(a)[int(rng.integers(len(keys(a))))]  # noqa: E731
        motion = pick("motion")
        motion = "left" if motion == "still" else motion
        shot = make_shot(subject=pick("subject"), colour=pick("colour"), motion=motion, camera=pick("camera"),
                         scene=pick("scene"), n_frames=frames, seed=seed * 1000 + i)
        clips.append(ClipFrames(f"world{i:03d}", render_shot(shot, 144, 256, 12)))
    return clips


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=0, help="VAE steps (0 = tiny preset)")
    ap.add_argument("--thin-steps", type=int, default=0, help="thin decoder steps (0 = tiny preset)")
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")

    from assets.encoding.settings import EncodingSettings
    from assets.encoding.vae_training import (
        build_perceptual_net, eval_clip, evaluate, resize_short_side, split_heldout, train_thin_decoder, train_vae)
    from orchestration.presets import render_preset

    preset = render_preset("tiny")
    over = {k: v for k, v in {"steps": args.steps, "thin_steps": args.thin_steps}.items() if v}
    s = EncodingSettings(**(preset["encoding"] | over))
    seed = int(preset.get("seed", 0))
    with tempfile.TemporaryDirectory() as tmp:
        raw = world_clips(args.clips, s.max_frames_in_memory, seed, Path(tmp))
    from assets.encoding.vae_training import ClipFrames, training_scale

    clips = [ClipFrames(c.clip_id, resize_short_side(c.frames, training_scale(s), s.spatial_ratio)) for c in raw]
    train_ids, held_ids = split_heldout([c.clip_id for c in clips], 0.2, seed)
    train = [c for c in clips if c.clip_id in train_ids]
    held = [c for c in clips if c.clip_id in held_ids]

    from models.vae.autoencoder import CausalVAE

    torch.manual_seed(seed)
    m_untrained, _ = evaluate(CausalVAE(s.vae_config()), held, s)
    # a "broken" VAE that outputs each clip's mean colour: the floor a working VAE must clear
    from models.vae.metrics import psnr as _psnr

    mean_colour = float(np.mean([float(_psnr(x, x.mean((2, 3, 4), keepdim=True).expand_as(x)))
                                 for x in (eval_clip(c, s) for c in held)]))
    # weight-free references: each frame's p x p block averages, upsampled back (what a latent carrying only
    # per-cell mean colours would give); a VAE at 16x spatial compression should approach the 16x16 one
    import torch.nn.functional as F

    def block_average(x: torch.Tensor, p: int) -> torch.Tensor:
        b, c, t, h, w = x.shape  # (B, 3, T, H, W)
        y = x.transpose(1, 2).reshape(b * t, c, h, w)
        y = F.interpolate(F.avg_pool2d(y, p), scale_factor=p, mode="nearest")
        return y.reshape(b, t, c, h, w).transpose(1, 2)

    block_psnr = {f"block_average_{p}x{p}": float(np.mean([float(_psnr(x, block_average(x, p)))
                                                          for x in (eval_clip(c, s) for c in held)]))
                  for p in (4, 16)}
    t0, c0 = time.time(), time.process_time()
    full, hist, perceptual = train_vae(train, s, seed, trainer_kwargs={"enable_progress_bar": False})
    t_vae, c_vae = time.time() - t0, time.process_time() - c0
    t0, c0 = time.time(), time.process_time()
    thin, thin_hist, _ = train_thin_decoder(full, train, s, seed, trainer_kwargs={"enable_progress_bar": False})
    t_thin, c_thin = time.time() - t0, time.process_time() - c0
    m_full, _ = evaluate(full, held, s, perceptual)
    m_thin, _ = evaluate(thin, held, s, perceptual)

    # decode speed on the same latents: held-out clips at the largest packing resolution
    from assets.encoding.video_io import to_tensor
    from models.vae.shapes import conform_video

    big = max(s.pack_resolutions)
    src = raw[clips.index(held[0])] if held else raw[0]
    x = to_tensor(resize_short_side(src.frames[:17], big, s.spatial_ratio))[None]
    x, _ = conform_video(x, s.temporal_ratio, s.spatial_ratio, "trim")
    with torch.no_grad():
        z = full.encode(x).mode()
        timing = {}
        for name, model in (("full", full), ("thin", thin)):
            model.decode(z)
            runs = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                model.decode(z)
                runs.append(time.perf_counter() - t)
            timing[name] = min(runs)
    result = {
        "benchmark": "thin VAE decoder vs full decoder (report 5.1)",
        "preset": "tiny",
        "decode_input": {"latent_shape_BCTHW": list(z.shape), "pixels_TxHxW": list(x.shape[2:])},
        "decoder_channels": {"full": list(full.cfg.decoder_channels), "thin": list(thin.cfg.decoder_channels)},
        "decoder_params": {"full": sum(p.numel() for p in full.decoder.parameters()),
                           "thin": sum(p.numel() for p in thin.decoder.parameters())},
        "decode_seconds": timing,
        "decode_speedup": timing["full"] / timing["thin"],
        "heldout_psnr_db": {"full": m_full["psnr"], "thin": m_thin["psnr"], "untrained": m_untrained["psnr"],
                            # with the latent shortcut: the parameter-free path alone (what the conv paths add to)
                            "shortcut_only": m_full.get("psnr_shortcut_only"),
                            "mean_colour_baseline": mean_colour, **block_psnr, "check_threshold": s.min_heldout_psnr},
        "psnr_drop_db": m_full["psnr"] - m_thin["psnr"],
        "heldout_ssim": {"full": m_full["ssim"], "thin": m_thin["ssim"]},
        "heldout_perceptual": {"full": m_full.get("lpips"), "thin": m_thin.get("lpips"),
                               "backend": m_full.get("lpips_backend")},
        "targets": {"decode_speedup_min": 2.0, "psnr_drop_max_db": 0.5},
        "training": {"vae_steps": s.steps, "thin_steps": s.thin_steps, "vae_seconds": t_vae, "thin_seconds": t_thin,
                     "vae_cpu_seconds": c_vae, "thin_cpu_seconds": c_thin,
                     "train_clips": len(train), "heldout_clips": len(held), "data": "synthetic world, 144x256 -> short side "
                     f"{training_scale(s)}, {s.crop_size}px crops"},
        "machine": machine(),
    }
    result["meets_targets"] = bool(result["decode_speedup"] >= 2.0 and result["psnr_drop_db"] <= 0.5
                                   and m_full["psnr"] >= s.min_heldout_psnr)
    out = ROOT / "benchmarks" / "results" / "vae.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("decode_speedup", "heldout_psnr_db", "psnr_drop_db", "training")}, indent=1))


if __name__ == "__main__":
    main()
