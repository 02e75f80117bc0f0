"""Dagster wiring of the encoding group: `vae`, `thin_vae_decoder`, `packed_latents` (report 2.1, 3, 5.1).

The stage logic lives in plain modules (vae_training, packing, packed_dataset); this file adapts it
to Dagster: preset section, MLflow run, checkpoint storage, metadata, data versions and checks.
"""


import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from assets.common.manifest import read_manifest, write_manifest
from assets.common.outputs import manifest_output, markdown_table, value_version
from assets.encoding.settings import EncodingSettings
from resources.compute import ComputeResource
from resources.io_manager import ref_name
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "encoding"


def _manifest_of(value: Mapping[str, Any], keys: tuple[str, ...]) -> Mapping[str, Any]:
    """The manifest ref inside an upstream asset value (a bare ref or a dict of refs)."""
    if "path" in value and "sha256" in value:
        return value
    for k in keys:
        if k in value and isinstance(value[k], Mapping):
            return value[k]
    refs = [v for v in value.values() if isinstance(v, Mapping) and "path" in v and "sha256" in v]
    if len(refs) == 1:
        return refs[0]
    raise dg.Failure(f"cannot find the clip manifest in the upstream value (keys {sorted(value)}); expected one of {keys}")


def _settings(params: ParamsResource) -> tuple[EncodingSettings, int]:
    return params.section("encoding", EncodingSettings), params.seed


def _load_clips(store: ArtifactStore, value: Mapping[str, Any], s: EncodingSettings, seed: int):
    from assets.encoding.vae_training import load_clip, split_heldout

    table = read_manifest(store, _manifest_of(value, ("clips", "deduplicated_clips", "dataset")))
    rows = sorted(table.to_pylist(), key=lambda r: str(r["clip_id"]))
    if s.max_clips:
        rows = rows[: s.max_clips]
    if not rows:
        raise dg.Failure("deduplicated_clips is empty: nothing to train the VAE on")
    clips = {}
    for r in rows:
        try:
            clips[r["clip_id"]] = load_clip(str(store.local_path(r["path"])), str(r["clip_id"]), s)
        except Exception as exc:  # a broken clip must not stop training; it is reported
            dg.get_dagster_logger().warning(f"skipping clip {r['clip_id']}: {exc}")
    train_ids, held_ids = split_heldout(list(clips), s.heldout_fraction, seed)
    return [clips[c] for c in train_ids], [clips[c] for c in held_ids]


def _trainer_kwargs(compute: ComputeResource) -> dict[str, Any]:
    compute.apply_threads()
    return compute.trainer_kwargs()


def _log_pairs(run: Any, pairs: list, fps: float, name: str) -> None:
    from assets.encoding.video_io import write_side_by_side

    with tempfile.TemporaryDirectory() as tmp:
        for clip_id, orig, recon in pairs:
            run.log_video(write_side_by_side(orig, recon, Path(tmp) / f"{clip_id}_orig_vs_recon.mp4", fps), name)


def _curves(history: list[dict[str, float]]) -> dict[str, float]:
    if not history:
        return {}
    q = max(1, len(history) // 4)
    first = sum(h["l1"] for h in history[:q]) / q
    last = sum(h["l1"] for h in history[-q:]) / q
    return {"l1_first_quarter": first, "l1_last_quarter": last}


PSNR_CHECK = dg.AssetCheckSpec(
    name="heldout_psnr", asset="vae", blocking=True,
    description="Held-out reconstruction PSNR is at least encoding.min_heldout_psnr and beats the clips' mean-colour picture by encoding.min_psnr_gain_over_mean_colour (blocks packing).",
)
LEARNED_CHECK = dg.AssetCheckSpec(
    name="learned_over_shortcut", asset="vae", blocking=False,
    description="With encoding.latent_shortcut: held-out PSNR minus the parameter-free shortcut's alone is at least "
    "encoding.min_learned_gain_db (what the trained conv paths add; a diverged residual costs dB here).",
)


@dg.asset(
    group_name=GROUP,
    code_version="vae-v2",
    ins={"deduplicated_clips": dg.AssetIn("deduplicated_clips")},
    check_specs=[PSNR_CHECK, LEARNED_CHECK],
    description="Temporally causal video VAE (MAGVIT-style, 4x16x16, C latent channels) trained with "
    "L1 + KL + perceptual + hybrid-discriminator adversarial loss on curated clips and frames (report 2.1).",
)
def vae(
    context: AssetExecutionContext, params: ParamsResource, store: ArtifactStore, tracking: MlflowTracking,
    compute: ComputeResource, deduplicated_clips: Any,
) -> Iterator[Any]:
    from assets.encoding.checkpoints import store_vae
    from assets.encoding.vae_training import evaluate, fit_latent_normalisation, train_vae

    s, seed = _settings(params)
    train_clips, held = _load_clips(store, deduplicated_clips, s, seed)
    eval_set = held or train_clips[:1]
    t0 = time.time()
    with tracking.start_run(context, run_name="vae", params={"encoding": s.model_dump()}, preset=params.preset) as run:
        model, history, perceptual = train_vae(train_clips, s, seed, run.lightning_logger(), _trainer_kwargs(compute))
        model = fit_latent_normalisation(model, train_clips[:16] + held, s)
        metrics, pairs = evaluate(model, eval_set, s, perceptual, keep=s.sample_videos)
        backend = str(metrics.pop("lpips_backend"))
        run.log_metrics({f"val/{k}": float(v) for k, v in metrics.items()})
        run.set_tags({"perceptual_backend": backend})
        _log_pairs(run, pairs, s.pack_fps or 12.0, "reconstructions")
        ckpt = store_vae(store, model, "encoding/vae", extra={"steps": s.steps, "perceptual_backend": backend, **metrics})
        with tempfile.TemporaryDirectory() as tmp:
            from models.vae.checkpoint import save_vae

            tracking.register_model(run, save_vae(model, tmp), "seedflow-vae", "vae")
        url = run.url
    value = {"checkpoint": ckpt, "metrics": metrics, "perceptual_backend": backend,
             "latent_shift": model.cfg.latent_shift, "latent_scale": model.cfg.latent_scale}
    yield manifest_output(value, {
        "mlflow_run": dg.MetadataValue.url(url),
        "train_clips": len(train_clips), "heldout_clips": len(held), "steps": s.steps,
        "heldout_psnr": metrics["psnr"], "heldout_psnr_mean_colour": metrics["psnr_mean_colour"],
        **({"heldout_psnr_shortcut_only": metrics["psnr_shortcut_only"],
            "learned_gain_db": metrics["psnr"] - metrics["psnr_shortcut_only"]} if "psnr_shortcut_only" in metrics else {}),
        "heldout_ssim": metrics["ssim"],
        "heldout_lpips": metrics.get("lpips", float("nan")),
        "perceptual_backend": backend,  # "fallback:..." when the lpips package is unavailable
        "latent_shape_rule": f"(1+{s.temporal_ratio}n, {s.spatial_ratio}h, {s.spatial_ratio}w, 3) -> (1+n, h, w, {s.latent_channels})",
        "train_seconds": round(time.time() - t0, 1),
        **_curves(history),
    })
    gain = metrics["psnr"] - metrics["psnr_mean_colour"]
    yield dg.AssetCheckResult(
        check_name="heldout_psnr",
        passed=bool(metrics["psnr"] >= s.min_heldout_psnr and gain >= s.min_psnr_gain_over_mean_colour),
        metadata={"psnr": metrics["psnr"], "threshold": s.min_heldout_psnr,
                  "mean_colour_psnr": metrics["psnr_mean_colour"], "gain_db": gain,
                  "min_gain_db": s.min_psnr_gain_over_mean_colour, "clips": int(metrics["clips"])},
        description=f"held-out PSNR {metrics['psnr']:.2f} dB (floor {s.min_heldout_psnr} dB), "
        f"{gain:+.2f} dB over the clips' mean colour (at least {s.min_psnr_gain_over_mean_colour} dB)",
    )
    if "psnr_shortcut_only" in metrics:
        learned = metrics["psnr"] - metrics["psnr_shortcut_only"]
        yield dg.AssetCheckResult(
            check_name="learned_over_shortcut", passed=bool(learned >= s.min_learned_gain_db),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"learned_gain_db": learned, "min_learned_gain_db": s.min_learned_gain_db,
                      "shortcut_only_psnr": metrics["psnr_shortcut_only"], "psnr": metrics["psnr"]},
            description=f"the trained conv paths add {learned:+.2f} dB over the parameter-free latent shortcut alone "
            f"({metrics['psnr_shortcut_only']:.2f} dB; at least {s.min_learned_gain_db:+.1f} dB asked)",
        )
    else:
        yield dg.AssetCheckResult(
            check_name="learned_over_shortcut", passed=True, severity=dg.AssetCheckSeverity.WARN,
            description="no latent shortcut: every dB is learned (heldout_psnr compares with the mean colour)",
        )


THIN_CHECK = dg.AssetCheckSpec(
    name="thin_psnr_drop", asset="thin_vae_decoder", blocking=False,
    description="Held-out PSNR of the thin decoder is within encoding.max_thin_psnr_drop of the full decoder.",
)


@dg.asset(
    group_name=GROUP,
    code_version="thin-vae-v1",
    ins={"vae": dg.AssetIn("vae"), "deduplicated_clips": dg.AssetIn("deduplicated_clips")},
    check_specs=[THIN_CHECK],
    description="Thin VAE decoder (report 5.1): narrower pixel-side decoder stages retrained with the encoder frozen.",
)
def thin_vae_decoder(
    context: AssetExecutionContext, params: ParamsResource, store: ArtifactStore, tracking: MlflowTracking,
    compute: ComputeResource, vae: Any, deduplicated_clips: Any,
) -> Iterator[Any]:
    import torch

    from assets.encoding.checkpoints import load_stored_vae, store_vae
    from assets.encoding.vae_training import build_perceptual_net, eval_clip, evaluate, train_thin_decoder

    s, seed = _settings(params)
    full = load_stored_vae(store, vae)
    train_clips, held = _load_clips(store, deduplicated_clips, s, seed)
    eval_set = held or train_clips[:1]
    with tracking.start_run(context, run_name="thin_vae_decoder", params={"encoding": s.model_dump()}, preset=params.preset) as run:
        thin, history, fresh = train_thin_decoder(full, train_clips, s, seed, run.lightning_logger(), _trainer_kwargs(compute))
        perceptual = build_perceptual_net(s, seed)
        m_full, _ = evaluate(full, eval_set, s, perceptual)
        m_thin, pairs = evaluate(thin, eval_set, s, perceptual, keep=s.sample_videos)
        backend = str(m_thin.pop("lpips_backend"))
        m_full.pop("lpips_backend", None)
        # decode time on the same latents (a quick in-asset figure; benchmarks/vae.py measures properly)
        with torch.no_grad():
            z = full.encode(eval_clip(eval_set[0], s)).mode()
            times = {}
            for name, model in (("full", full), ("thin", thin)):
                model.decode(z)
                t = time.perf_counter()
                for _ in range(3):
                    model.decode(z)
                times[name] = (time.perf_counter() - t) / 3
        speedup = times["full"] / max(times["thin"], 1e-9)
        drop = m_full["psnr"] - m_thin["psnr"]
        run.log_metrics({"val/psnr": m_thin["psnr"], "val/ssim": m_thin["ssim"], "val/psnr_full": m_full["psnr"],
                         "val/psnr_drop": drop, "val/decode_speedup": speedup})
        _log_pairs(run, pairs, s.pack_fps or 12.0, "reconstructions_thin")
        ckpt = store_vae(store, thin, "encoding/thin_vae", extra={"steps": s.thin_steps, **m_thin})
        url = run.url
    value = {"checkpoint": ckpt, "metrics": m_thin, "full_metrics": m_full, "decode_speedup": speedup}
    yield manifest_output(value, {
        "mlflow_run": dg.MetadataValue.url(url),
        "decoder_channels_full": str(list(full.cfg.decoder_channels)),
        "decoder_channels_thin": str(list(thin.cfg.decoder_channels)),
        "fresh_tensors": len(fresh), "steps": s.thin_steps,
        "heldout_psnr_thin": m_thin["psnr"], "heldout_psnr_full": m_full["psnr"], "psnr_drop_db": drop,
        "decode_speedup": speedup, "perceptual_backend": backend, **_curves(history),
    })
    yield dg.AssetCheckResult(
        check_name="thin_psnr_drop", passed=bool(drop <= s.max_thin_psnr_drop),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"psnr_drop_db": drop, "limit_db": s.max_thin_psnr_drop, "decode_speedup": speedup},
    )


def _packed_suite() -> list[Any]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="shard_path"),
        gxe.ExpectColumnValuesToBeUnique(column="sample_id"),
        gxe.ExpectColumnValuesToBeBetween(column="n_tokens", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="sampling_weight", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="latent_t", min_value=1),
    ]


@dg.asset(
    group_name=GROUP,
    code_version="packed-latents-v1",
    ins={"training_dataset": dg.AssetIn("training_dataset"), "vae": dg.AssetIn("vae"),
         "text_encoder": dg.AssetIn("text_encoder")},
    description="Offline packing (report 3, fig. 3): every training clip's latents, caption embeddings, i2v "
    "condition, latent shot starts and sampling weight in sharded safetensors with a parquet index.",
)
def packed_latents(
    context: AssetExecutionContext, params: ParamsResource, store: ArtifactStore,
    training_dataset: Any, vae: Any, text_encoder: Any,
) -> dg.Output:
    from assets.encoding.checkpoints import load_stored_vae, weights_sha
    from assets.encoding.packing import pack_clips
    from assets.encoding.schemas import PACKED_INDEX_SCHEMA
    from assets.text_encoding.settings import TextEncoderSettings

    s, _ = _settings(params)
    from resources.params import ParamsError

    try:
        max_tokens = params.section("text_encoder", TextEncoderSettings).max_tokens
    except ParamsError:  # preset without a text_encoder section: that section's default budget
        max_tokens = TextEncoderSettings().max_tokens
        context.log.warning(f"params have no text_encoder section; using max_tokens={max_tokens}")
    table = read_manifest(store, _manifest_of(training_dataset, ("dataset", "training_dataset")))
    model = load_stored_vae(store, vae)
    previous = None
    prev_name = ref_name(context.asset_key, None)
    if store.has_ref(prev_name):  # the last materialisation's value: its index is the packing cache
        try:
            previous = read_manifest(store, store.get_ref(prev_name)["index"])
        except Exception as exc:
            context.log.warning(f"previous packed index unreadable, re-encoding everything: {exc}")

    class _LazyText:
        """Loads the text encoder only if some clip misses the cache."""

        encoder = None

        def encode(self, texts: list[str], max_tokens: int):
            if self.encoder is None:
                from assets.text_encoding import load_text_encoder

                self.encoder = load_text_encoder(store, text_encoder)
            return self.encoder.encode(texts, max_tokens)

    t0 = time.time()
    index, stats = pack_clips(store, table, model, weights_sha(store, vae), _LazyText(), value_version(text_encoder),
                              s, max_tokens, previous_index=previous)
    ref = write_manifest(store, "encoding/packed_index", index, PACKED_INDEX_SCHEMA)
    rows = index.to_pylist()
    by_res: dict[int, dict[str, Any]] = {}
    for r in rows:
        b = by_res.setdefault(int(r["resolution"]), {"resolution": int(r["resolution"]), "samples": 0, "tokens": 0})
        b["samples"] += 1
        b["tokens"] += int(r["n_tokens"])
    return manifest_output({"index": ref, "stats": stats}, {
        **{k: int(v) for k, v in stats.items()},
        "pack_seconds": round(time.time() - t0, 1),
        "by_resolution": dg.MetadataValue.md(markdown_table(list(by_res.values()))),
        "latent_channels": int(rows[0]["latent_c"]) if rows else 0,
        "loader": "assets.encoding.packed_dataset.PackedLatentDataset + TokenBucketBatchSampler",
    })


def _packed_check() -> dg.AssetChecksDefinition:
    from assets.common.checks import check_manifest

    @dg.asset_check(asset="packed_latents", name="manifest_valid", blocking=True, required_resource_keys={"store"},
                    description="Great Expectations suite over the packed-latents index.")
    def _check(context: AssetCheckExecutionContext) -> dg.AssetCheckResult:
        store: ArtifactStore = context.resources.store
        value = store.get_ref(ref_name(dg.AssetKey("packed_latents"), None))
        return check_manifest(store, value["index"], asset_key="packed_latents", suite_name="packed_latents_index",
                              build_suite=_packed_suite)

    return _check


defs = dg.Definitions(assets=[vae, thin_vae_decoder, packed_latents], asset_checks=[_packed_check()])
