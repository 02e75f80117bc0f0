"""The work of one DiT training asset, shared by pre-training, continue training and SFT.

Resolves the packed latents and the preset, opens the MLflow run (one experiment for every stage,
so the curriculum compares side by side), trains through `curriculum.run_stage`, renders sample
videos for the preset's fixed prompts, stores the model directory and returns the asset value.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import torch

from assets.pretraining.curriculum import StageResult, loss_verdict
from assets.pretraining.settings import PretrainingSettings
from assets.pretraining.sources import PackedLatentSource


def latent_dims(source: Any) -> tuple[int, int]:
    """(latent channels, text width) from the first packed sample."""
    s = source.sample(0, "long")
    return int(s["latents"].shape[0]), int(s["text"].shape[-1])


def store_model(store: Any, result: StageResult, namespace: str) -> dict[str, dict[str, Any]]:
    refs = store.put_dir(result.model_dir, namespace=namespace)
    return {name: {"path": r.path, "sha256": r.sha256} for name, r in refs.items()}


def render_samples(
    context: dg.AssetExecutionContext,
    run: Any,
    store: Any,
    value: dict[str, Any],
    settings: PretrainingSettings,
    out_dir: Path,
    stage_name: str,
) -> dict[str, Any]:
    """Generate the fixed prompt set with this stage's model and log the mp4s to MLflow."""
    from assets.pretraining.generate import generate, load_model
    from assets.pretraining.video import write_mp4

    s = settings.samples
    try:
        model = load_model(store, value)
        videos = generate(model, s.prompts, s.seed, frames=s.frames, steps=s.steps, method=s.method, cfg_scale=s.cfg_scale)
    except (ImportError, AttributeError, ValueError, KeyError) as exc:
        # Not a fallback that pretends: the stage trained; only its previews are missing.
        context.log.warning(f"{stage_name}: sample videos skipped ({type(exc).__name__}: {exc})")
        return {"samples": dg.MetadataValue.text(f"skipped: {exc}")}
    paths = []
    for i, v in enumerate(videos):
        p = write_mp4(v, out_dir / f"{stage_name}_prompt{i}.mp4")
        run.log_video(p, f"samples/{stage_name}")
        paths.append(p.name)
    return {"samples": dg.MetadataValue.json(paths)}


def finish(
    context: dg.AssetExecutionContext,
    *,
    run: Any,
    tracking: Any,
    store: Any,
    result: StageResult,
    stage_name: str,
    namespace: str,
    upstream: dict[str, Any],
    settings: PretrainingSettings,
    latent_grid: tuple[int, int],
    extra_value: dict[str, Any] | None = None,
) -> dg.Output:
    value = {
        "model_files": store_model(store, result, namespace),
        "text_encoder": upstream.get("text_encoder"),
        "vae": upstream.get("vae"),
        "packed_latents": upstream.get("packed_latents"),
        "history": [round(x, 6) for x in result.history],
        "latent_grid": list(latent_grid),
        "tokens": result.tokens,
        "probe": {"start": result.probe_start, "end": result.probe_end},
        "heldout_probe": {"start": result.heldout_start, "end": result.heldout_end},
        **(extra_value or {}),
    }
    verdict = loss_verdict(result.history, result.probe_start, result.probe_end)
    first, last = verdict.train_first, verdict.train_last
    run.log_metrics({"stage/tokens_per_s": result.tokens_per_s, "stage/loss_first": first, "stage/loss_last": last,
                     **({"stage/probe_start": verdict.probe_start, "stage/probe_end": verdict.probe_end}
                        if verdict.probe_pairs else {})})
    version = tracking.register_model(run, result.model_dir, f"seedflow-{stage_name}", stage_name)
    md: dict[str, Any] = {
        "mlflow_run": dg.MetadataValue.url(run.url),
        "steps": dg.MetadataValue.int(len(result.history)),
        "loss_first": dg.MetadataValue.float(float(first)),
        "loss_last": dg.MetadataValue.float(float(last)),
        "probe_loss_start": dg.MetadataValue.float(float(verdict.probe_start)),
        "probe_loss_end": dg.MetadataValue.float(float(verdict.probe_end)),
        **_heldout_metadata(result),
        "tokens_per_s": dg.MetadataValue.float(float(result.tokens_per_s)),
        "parameters": dg.MetadataValue.int(int(sum(t.numel() for t in _weights(result)))),
        "registry_version": version or "off",
    }
    with tempfile.TemporaryDirectory() as tmp:
        md.update(render_samples(context, run, store, value, settings, Path(tmp), stage_name))
    from assets.common.outputs import manifest_output

    return manifest_output(value, metadata=md)


def _heldout_metadata(result: StageResult) -> dict[str, Any]:
    """Mean held-out probe loss before / after the stage: generalisation, reported beside the check."""
    if not result.heldout_start:
        return {}
    mean = lambda rows: float(torch.tensor(rows, dtype=torch.float64).mean())  # noqa: E731
    return {"heldout_probe_start": dg.MetadataValue.float(mean(result.heldout_start)),
            "heldout_probe_end": dg.MetadataValue.float(mean(result.heldout_end))}


def _weights(result: StageResult) -> list[torch.Tensor]:
    from safetensors.torch import load_file

    return list(load_file(str(result.model_dir / "model.safetensors")).values())


def packed_source(store: Any, packed_latents: Any) -> PackedLatentSource:
    return PackedLatentSource(store, packed_latents)
