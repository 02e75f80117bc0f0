"""Dagster: captions -> text_encoder -> prompt_engineer_sft -> prompt_engineer on tiny sizes."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from assets.common.manifest import write_manifest
from assets.common.outputs import manifest_output
from assets.text_encoding.corpus import synthetic_caption_corpus

TE = dict(vocab_size=320, hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=64,
          steps=100, batch_size=8, lr=1e-2, max_tokens=96)
PE = dict(max_subjects=1, sft_examples=200, sft_steps=20, sft_batch_size=8, dpo_prompts=8, dpo_steps=3,
          dpo_batch_size=4, eval_prompts=6, max_new_tokens=24)


def _captions_asset(store):
    texts = synthetic_caption_corpus(40, seed=2)
    half = len(texts) // 2
    table = pa.table({"clip_id": [f"c{i}" for i in range(half)], "caption_long_en": texts[:half],
                      "caption_short_zh": texts[half: 2 * half]})
    ref = write_manifest(store, "captioning/captions", table)

    @dg.asset(name="captions")
    def captions() -> dg.Output:
        return manifest_output({"captions": ref, "accuracy": "n/a"})

    return captions


def test_text_encoder_and_prompt_engineer_materialize(params_file, store, dagster_instance):
    from assets.prompting.defs import defs as prompting
    from assets.prompting.engineer import load_prompt_engineer
    from assets.text_encoding import load_text_encoder
    from assets.text_encoding.defs import defs as encoding
    from resources.compute import ComputeResource
    from resources.io_manager import RefIOManager, ref_name
    from resources.params import ParamsResource
    from resources.tracking import MlflowTracking

    params_file({"text_encoder": TE, "prompting": PE})
    resources = {"store": store, "io_manager": RefIOManager(store=store), "params": ParamsResource(),
                 "tracking": MlflowTracking(), "compute": ComputeResource()}
    assets = [_captions_asset(store), *encoding.assets, *encoding.asset_checks, *prompting.assets]
    res = dg.materialize(assets, resources=resources, instance=dagster_instance)
    assert res.success
    checks = {e.check_name: e.passed for e in res.get_asset_check_evaluations()}
    assert checks["learned_caption_language"]

    te_md = res.asset_materializations_for_node("text_encoder")[0].metadata
    assert te_md["backend"].value == "fallback:embedded-qwen2" and "mlflow_run" in te_md
    value = store.get_ref(ref_name(dg.AssetKey("text_encoder"), None))
    assert value["files"]["model.safetensors"]["path"].startswith("encoding/text_encoder/")
    hidden, mask = load_text_encoder(store, value).encode(["A red circle.", "红色的圆形向左移动。"])
    assert hidden.shape[0] == 2 and hidden.shape[-1] == 32 and mask.dtype.is_floating_point is False

    pe_md = res.asset_materializations_for_node("prompt_engineer")[0].metadata
    for key in ("hallucination_rate_before", "hallucination_rate_after", "attribute_preservation_before",
                "attribute_preservation_after", "before_after", "mlflow_run"):
        assert key in pe_md
    pe_value = store.get_ref(ref_name(dg.AssetKey("prompt_engineer"), None))
    assert "adapter_model.safetensors" in pe_value["adapter_files"]
    engineer = load_prompt_engineer(store, pe_value, max_new_tokens=8)
    out = engineer.rewrite("[SHOT 1] a red circle going left [CUT] [SHOT 2] 蓝色方块弹来弹去", task="t2v")
    assert len(out.shots) == 2 and out.caption.startswith("[SHOT 1]")
