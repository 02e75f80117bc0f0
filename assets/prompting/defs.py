"""Dagster definitions of the prompting group: `prompt_engineer_sft` -> `prompt_engineer` (report 2.4).

`text_encoder` -> `prompt_engineer_sft` (full fine-tune on synthesised prompt/caption pairs, t2v and i2v
styles) -> `prompt_engineer` (DPO with LoRA on correct vs hallucinated rewrites). Both report attribute
preservation and hallucination rate on the same held-out prompts; a blocking check asserts that DPO
lowered hallucination. `assets.prompting.engineer.load_prompt_engineer(store, value)` loads either.
"""


import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from assets.common.outputs import manifest_output, markdown_table
from assets.prompting.settings import PromptingSettings
from resources.compute import ComputeResource
from resources.params import ParamsResource
from resources.store import ArtifactStore
from resources.tracking import MlflowTracking

GROUP = "prompting"
FIGURES = ("attribute_preservation", "hallucination_rate", "hallucinated_facts_per_rewrite", "parse_rate",
           "exact_match", "t2v_hallucination_rate", "i2v_hallucination_rate")


def _figures(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(float(metrics[k]), 4) for k in FIGURES if k in metrics}


def _samples_md(samples: list[dict[str, str]]) -> str:
    return markdown_table([{k: v[:160] for k, v in s.items()} for s in samples])


@dg.asset(
    group_name=GROUP,
    code_version="prompt-engineer-sft-v1",
    ins={"text_encoder": dg.AssetIn()},
    description="Prompt engineer, stage 1: full fine-tune of the LLM to rewrite user prompts into dense captions.",
)
def prompt_engineer_sft(
    context: dg.AssetExecutionContext,
    params: ParamsResource,
    store: ArtifactStore,
    tracking: MlflowTracking,
    compute: ComputeResource,
    text_encoder: dict[str, Any],
) -> dg.Output:
    from assets.prompting.train import train_prompt_engineer_sft
    from assets.text_encoding.checkpoint import materialize_checkpoint, store_checkpoint

    s = params.section("prompting", PromptingSettings)
    compute.apply_threads()
    backend = f"{text_encoder.get('backend', 'unknown')}+sft"
    with tracking.start_run(context, run_name="prompt_engineer_sft", params={"prompting": s.model_dump()},
                            preset=params.preset) as run, tempfile.TemporaryDirectory() as tmp:
        base = materialize_checkpoint(store, text_encoder["files"], Path(tmp) / "base")
        result = train_prompt_engineer_sft(
            base, s, params.seed, Path(tmp) / "sft", trainer_kwargs=compute.trainer_kwargs(),
            logger=run.lightning_logger(),
        )
        run.log_metrics({f"val/{k}": v for k, v in _figures(result.metrics).items()})
        run.log_text(json.dumps(result.samples, ensure_ascii=False, indent=1), "samples.json")
        files = store_checkpoint(store, result.directory, "prompting/prompt_engineer_sft")
        version = tracking.register_model(run, result.directory, "seedflow-prompt-engineer-sft", "sft")
        url = run.url
    figures = _figures(result.metrics)
    value = {"files": files, "backend": backend, "metrics": figures}
    return manifest_output(value, {
        "backend": backend,
        "init": s.init,
        "train_examples": result.n_examples,
        "parameters": result.params,
        **{k: v for k, v in figures.items()},
        "samples": dg.MetadataValue.md(_samples_md(result.samples)),
        "model_version": version or "",
        "mlflow_run": dg.MetadataValue.url(url),
    })


@dg.asset(
    group_name=GROUP,
    code_version="prompt-engineer-dpo-v1",
    ins={"prompt_engineer_sft": dg.AssetIn()},
    description="Prompt engineer, stage 2: DPO with LoRA adapters on correct vs hallucinated rewrites.",
)
def prompt_engineer(
    context: dg.AssetExecutionContext,
    params: ParamsResource,
    store: ArtifactStore,
    tracking: MlflowTracking,
    compute: ComputeResource,
    prompt_engineer_sft: dict[str, Any],
) -> dg.Output:
    from assets.prompting.train import train_prompt_engineer_dpo
    from assets.text_encoding.checkpoint import materialize_checkpoint, store_checkpoint

    s = params.section("prompting", PromptingSettings)
    compute.apply_threads()
    backend = f"{prompt_engineer_sft.get('backend', 'unknown')}+dpo-lora"
    with tracking.start_run(context, run_name="prompt_engineer", params={"prompting": s.model_dump()},
                            preset=params.preset) as run, tempfile.TemporaryDirectory() as tmp:
        sft_dir = materialize_checkpoint(store, prompt_engineer_sft["files"], Path(tmp) / "sft")
        result = train_prompt_engineer_dpo(
            sft_dir, s, params.seed, Path(tmp) / "adapters", trainer_kwargs=compute.trainer_kwargs(),
            logger=run.lightning_logger(),
        )
        before, after = _figures(result.before), _figures(result.after)
        run.log_metrics({**{f"val/before_{k}": v for k, v in before.items()}, **{f"val/{k}": v for k, v in after.items()}})
        run.log_text(json.dumps(result.samples, ensure_ascii=False, indent=1), "samples.json")
        adapter_files = store_checkpoint(store, result.adapter_dir, "prompting/prompt_engineer_lora")
        version = tracking.register_model(run, result.adapter_dir, "seedflow-prompt-engineer", "dpo_lora")
        url = run.url
    value = {
        "base_files": prompt_engineer_sft["files"],
        "adapter_files": adapter_files,
        "backend": backend,
        "before": before,
        "after": after,
    }
    table = [{"metric": k, "sft": before.get(k), "sft+dpo": after.get(k)} for k in FIGURES if k in before]
    return manifest_output(value, {
        "backend": backend,
        "pairs": result.n_pairs,
        "on_policy_pairs": result.n_on_policy,
        "lora_trainable_parameters": result.trainable_params,
        "hallucination_rate_before": before["hallucination_rate"],
        "hallucination_rate_after": after["hallucination_rate"],
        "attribute_preservation_before": before["attribute_preservation"],
        "attribute_preservation_after": after["attribute_preservation"],
        "before_after": dg.MetadataValue.md(markdown_table(table)),
        "samples": dg.MetadataValue.md(_samples_md(result.samples)),
        "model_version": version or "",
        "mlflow_run": dg.MetadataValue.url(url),
    })


@dg.asset_check(asset=prompt_engineer, name="dpo_lowers_hallucination", blocking=True,
                description="On the held-out prompts, DPO lowered the hallucination rate of the SFT model.")
def dpo_lowers_hallucination(context: dg.AssetCheckExecutionContext, store: ArtifactStore) -> dg.AssetCheckResult:
    from resources.io_manager import ref_name

    value = store.get_ref(ref_name(dg.AssetKey("prompt_engineer"), None))
    before, after = value["before"]["hallucination_rate"], value["after"]["hallucination_rate"]
    passed = after < before
    return dg.AssetCheckResult(
        passed=passed,
        metadata={"hallucination_rate_before": before, "hallucination_rate_after": after},
        description=None if passed else "DPO did not lower hallucination: raise prompting.dpo_steps or dpo_prompts",
    )


defs = dg.Definitions(assets=[prompt_engineer_sft, prompt_engineer], asset_checks=[dpo_lowers_hallucination])
