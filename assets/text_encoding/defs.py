"""Dagster definitions of the encoding group's `text_encoder` asset (report 2.2).

`captions` -> `text_encoder`: a decoder-only causal LM (embedded small Qwen2 + byte-level BPE trained
here, or a local HF checkpoint fine-tuned here) whose hidden states condition the DiT. The value holds
the checkpoint's files in the artifact store; `assets.text_encoding.load_text_encoder(store, value)`
gives downstream stages (packing, DiT, generation) a ready `TextEncoder`.
"""


import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from assets.common.manifest import read_manifest
from assets.common.outputs import manifest_output, markdown_table
from assets.common.seeding import stable_seed
from assets.text_encoding.settings import TextEncoderSettings
from resources.compute import ComputeResource
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "encoding"


def _captions_table(store: ArtifactStore, value: dict[str, Any]):
    ref = value if "path" in value and "rows" in value else value["captions"]
    return read_manifest(store, ref)


@dg.asset(
    group_name=GROUP,
    code_version="text-encoder-v1",
    ins={"captions": dg.AssetIn()},
    description="Decoder-only LLM text encoder (per-token hidden states + mask), trained on the caption corpus.",
)
def text_encoder(
    context: dg.AssetExecutionContext,
    params: ParamsResource,
    store: ArtifactStore,
    tracking: MlflowTracking,
    compute: ComputeResource,
    captions: dict[str, Any],
) -> dg.Output:
    from assets.text_encoding.checkpoint import store_checkpoint
    from assets.text_encoding.corpus import corpus_from_captions
    from assets.text_encoding.train import train_text_encoder
    from models.text_encoder.encoder import load_text_encoder_dir

    s = params.section("text_encoder", TextEncoderSettings)
    seed = stable_seed(params.seed, "text_encoder")
    compute.apply_threads()
    corpus = corpus_from_captions(_captions_table(store, captions))
    context.log.info(f"text encoder corpus: {len(corpus)} caption texts; backend {s.backend}")
    with tracking.start_run(context, run_name="text_encoder", params={"text_encoder": s.model_dump(), "seed": seed},
                            preset=params.preset) as run, tempfile.TemporaryDirectory() as tmp:
        result = train_text_encoder(
            corpus, s, seed, Path(tmp) / "text_encoder",
            trainer_kwargs=compute.trainer_kwargs(), logger=run.lightning_logger(),
        )
        run.log_metrics(result.metrics)
        run.set_tags({"seedflow.backend": result.backend})
        # A smoke encode through the stored layout: shapes and the truncation report for metadata.
        encoder = load_text_encoder_dir(result.directory)
        sample = corpus[:4]
        enc = encoder.encode_batch(sample, s.max_tokens)
        files = store_checkpoint(store, result.directory, "encoding/text_encoder")
        version = tracking.register_model(run, result.directory, "seedflow-text-encoder", "text_encoder")
        run_url = run.url
    metrics = {k: round(v, 4) for k, v in result.metrics.items()}
    value = {
        "files": files,
        "metrics": metrics,
        "backend": result.backend,
        "dim": encoder.dim,
        "layer": s.layer,
        "max_tokens": s.max_tokens,
        "vocab_size": len(encoder.tokenizer),
    }
    return manifest_output(value, {
        "backend": result.backend,
        "parameters": result.params,
        "hidden_dim": encoder.dim,
        "vocab_size": len(encoder.tokenizer),
        "train_texts": result.n_train,
        "val_texts": result.n_val,
        "metrics": dg.MetadataValue.json(metrics),
        "val_loss": metrics.get("val/loss", float("nan")),
        "val_loss_before": metrics.get("val/loss_before", float("nan")),
        "sample_shapes": dg.MetadataValue.md(markdown_table(
            [{"text": t[:80], "tokens": n, "truncated": tr} for t, n, tr in zip(sample, enc.n_tokens, enc.truncated)]
        )),
        "model_version": version or "",
        "mlflow_run": dg.MetadataValue.url(run_url),
    })


@dg.asset_check(asset=text_encoder, name="learned_caption_language", blocking=True,
                description="Training at least halved the held-out caption loss (nats/token).")
def learned_caption_language(context: dg.AssetCheckExecutionContext, store: ArtifactStore, params: ParamsResource) -> dg.AssetCheckResult:
    from resources.io_manager import ref_name

    s = params.section("text_encoder", TextEncoderSettings)
    value = store.get_ref(ref_name(dg.AssetKey("text_encoder"), None))
    files_ok = all(store.verify(f["path"], f["sha256"]) for f in value["files"].values())
    before, after = value["metrics"].get("val/loss_before"), value["metrics"].get("val/loss")
    if s.steps == 0 or before is None or after is None:  # a real checkpoint used as is: only integrity
        return dg.AssetCheckResult(passed=files_ok, metadata={"files_verified": files_ok})
    b, a = float(before), float(after)
    # From random weights the loss must at least halve; a pretrained checkpoint must not get worse.
    passed = files_ok and a <= (0.5 * b if s.backend == "embedded" else b)
    return dg.AssetCheckResult(
        passed=passed,
        metadata={"val_loss_before": b, "val_loss": a, "files_verified": files_ok,
                  "checkpoint_files": dg.MetadataValue.json(sorted(value["files"]))},
        description=None if passed else f"held-out loss {a:.3f} is not below half the untrained {b:.3f}: raise text_encoder.steps",
    )


defs = dg.Definitions(assets=[text_encoder], asset_checks=[learned_caption_language])
