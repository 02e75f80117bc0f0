"""Generation from any DiT model asset: prompt (single or multi-shot) + optional frames -> mp4.

    python -m assets.pretraining.generate --model merged_model --prompt "[SHOT 1] ... [SHOT 2] ..." \
        [--frames first.png@0 --frames last.png@-1] --out out.mp4 [--seed 0 --steps 20 --cfg 3]

The model asset's value (read through the artifact store's refs, like the IO manager does) names its
safetensors directory and the `text_encoder` and `vae` assets it was trained with, so the prompt is
embedded by the same text encoder and the latents decoded by the same VAE.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from models.dit.checkpoint import load_dit
from models.dit.model import SeedDiT
from models.dit.sampling import frame_shots, pack_shot_captions, sample_latents
from models.flow.schedule import FlowConfig


@dataclass
class LoadedModel:
    dit: SeedDiT
    flow: FlowConfig
    config: dict[str, Any]
    text_encoder: Any  # .encode(list[str]) -> (emb (N, L, Dt), mask (N, L))
    vae: Any  # .encode(video (B, 3, T', H', W')) / .decode(latents (B, C, T, H, W)) in [-1, 1]


def load_model(store: Any, value: dict[str, Any]) -> LoadedModel:
    """Materialise a model asset's directory from the store and load it (meta-device init)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = store.materialize_dir({k: v["path"] for k, v in value["model_files"].items()}, Path(tmp) / "model")
        dit, cfg = load_dit(d)
    text_encoder = vae = None
    if value.get("text_encoder") is not None:
        from assets.text_encoding import load_text_encoder  # other engineer's loader

        text_encoder = load_text_encoder(store, value["text_encoder"])
    if value.get("vae") is not None:
        from assets.encoding.checkpoints import load_stored_vae

        vae = load_stored_vae(store, value["vae"]).eval()
    return LoadedModel(dit, FlowConfig(**cfg["flow"]), cfg, text_encoder, vae)


def encode_prompt(model: LoadedModel, prompt: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Split a multi-shot prompt and embed each shot's caption -> text (L, Dt), mask, shot ids, n_shots."""
    from assets.prompting.multishot import parse_multishot

    shots = parse_multishot(prompt).shots
    emb, mask = model.text_encoder.encode(shots)  # (S, L, Dt), (S, L)
    text, tmask, tshot = pack_shot_captions([(emb[k], mask[k]) for k in range(len(shots))])
    return text, tmask, tshot, len(shots)


def generate(
    model_ref: LoadedModel | tuple[Any, dict[str, Any]],
    prompts: Sequence[str],
    seed: int,
    *,
    frames: int = 3,
    grid: tuple[int, int] | None = None,
    steps: int = 20,
    method: str = "heun",
    cfg_scale: float = 3.0,
    conditions: Sequence[tuple[np.ndarray, int]] = (),  # (image (H', W', 3) uint8, latent frame index)
) -> list[np.ndarray]:
    """Generate one video per prompt -> list of (T', H', W', 3) uint8 frames (decoded with the VAE)."""
    model = model_ref if isinstance(model_ref, LoadedModel) else load_model(*model_ref)
    if model.text_encoder is None or model.vae is None:
        raise ValueError("this model asset names no text_encoder / vae; generation needs both")
    h, w = grid or tuple(model.config.get("latent_grid", (8, 8)))
    c = model.dit.config.latent_channels
    out = []
    for i, prompt in enumerate(prompts):
        text, tmask, tshot, n_shots = encode_prompt(model, prompt)
        known = known_mask = None
        if conditions:
            known = torch.zeros(1, c, frames, h, w)
            known_mask = torch.zeros(1, frames)
            for img, idx in conditions:
                idx = idx % frames
                pix = torch.from_numpy(img).permute(2, 0, 1).float().div(127.5).sub(1.0)  # (3, H', W')
                z = _latent(model.vae, model.vae.encode(pix[None, :, None]))  # (1, C, 1, h, w): an image
                known[:, :, idx] = z[:, :, 0, :h, :w]
                known_mask[:, idx] = 1.0
        lat = sample_latents(
            model.dit, model.flow, text=text[None], text_mask=tmask[None], text_shot=tshot[None],
            frame_shot=frame_shots(frames, n_shots)[None], shape=(1, c, frames, h, w),
            seed=seed + i, steps=steps, method=method, cfg_scale=cfg_scale, known=known, known_mask=known_mask,
        )
        with torch.no_grad():
            # the DiT works on normalised latents (as packed); the VAE decodes raw ones
            denorm = getattr(model.vae, "denormalize_latents", None)
            video = model.vae.decode(denorm(lat) if denorm else lat)  # (1, 3, T', H', W')
        from assets.encoding.video_io import to_uint8

        out.append(to_uint8(video[0]))
    return out


def _latent(vae: Any, encoded: Any) -> torch.Tensor:
    """The posterior's mode, normalised as packed_latents stores it for the DiT."""
    if not isinstance(encoded, torch.Tensor) and hasattr(encoded, "mode"):  # a posterior (Tensor.mode is a statistic)
        z = encoded.mode()
    else:
        z = encoded[0] if isinstance(encoded, tuple) else encoded
    norm = getattr(vae, "normalize_latents", None)
    return norm(z) if norm else z


def _read_image(spec: str) -> tuple[np.ndarray, int]:
    path, _, idx = spec.rpartition("@")
    if not path:
        path, idx = spec, "0"
    import av

    with av.open(path) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    return frame, int(idx)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model asset name, e.g. dit_t2i or merged_model")
    p.add_argument("--prompt", required=True, action="append", help="prompt (multi-shot markers allowed); repeatable")
    p.add_argument("--frames", action="append", default=[], help="conditioning image PATH@LATENT_FRAME (-1 = last)")
    p.add_argument("--out", required=True, help="output mp4 (one per prompt: _1, _2 suffixes after the first)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg", type=float, default=3.0)
    p.add_argument("--latent-frames", type=int, default=3)
    p.add_argument("--method", choices=("euler", "heun"), default="heun")
    p.add_argument("--fps", type=float, default=12.0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from orchestration.resources import build_resources
    from assets.pretraining.video import write_mp4

    import dagster as dg

    from resources.io_manager import ref_name

    store = build_resources()["store"]
    name = ref_name(dg.AssetKey(args.model), None)
    if not store.has_ref(name):
        print(f"no materialized asset {args.model!r} in the store; materialize it first (make demo)", file=sys.stderr)
        return 2
    value = store.get_ref(name)
    videos = generate(
        (store, value), args.prompt, args.seed, frames=args.latent_frames, steps=args.steps, method=args.method,
        cfg_scale=args.cfg, conditions=[_read_image(s) for s in args.frames],
    )
    out = Path(args.out)
    for i, v in enumerate(videos):
        target = out if i == 0 else out.with_name(f"{out.stem}_{i}{out.suffix}")
        write_mp4(v, target, args.fps)
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
