"""The `prompting` preset section: prompt-engineer SFT (full fine-tune) then DPO with LoRA (report 2.4)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from resources.params import Section


class PromptingSettings(Section):
    # Where the PE starts: the text encoder's LM (the report initialises the PE from a pretrained LLM,
    # Qwen2.5-14B; here the pipeline's own caption-pretrained LM) or a fresh model of the same size.
    init: Literal["text_encoder", "fresh"] = "text_encoder"
    max_tokens: int = Field(default=160, ge=16, le=8192)  # prompt + rewrite sequence budget
    max_subjects: int = Field(default=2, ge=1, le=4)  # subjects per synthesised prompt (1 keeps tiny runs short)
    i2v_fraction: float = Field(default=0.3, ge=0.0, le=1.0)  # share of image-to-video prompts
    # --- SFT (full fine-tune) ---
    sft_examples: int = Field(default=3000, ge=8, le=10_000_000)  # synthesised (prompt, caption) pairs
    sft_steps: int = Field(default=600, ge=1, le=10_000_000)
    sft_batch_size: int = Field(default=16, ge=1, le=4096)
    sft_lr: float = Field(default=5e-3, gt=0, le=1.0)
    # Share of SFT prompts drawn uniformly over the vocabulary instead of the world's long-tail prior:
    # a rewriter must map *every* phrasing to its value, and tail values seen a dozen times are not learnt.
    sft_uniform_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    # --- DPO (LoRA) ---
    dpo_prompts: int = Field(default=1024, ge=4, le=10_000_000)  # prompts whose rewrites are paired
    dpo_val_fraction: float = Field(default=0.125, ge=0.0, le=0.5)  # prompts whose pairs only measure the margin
    dpo_mirror_pairs: bool = True  # each on-policy pair also gets its mirror (see train.pairs_for)
    dpo_steps: int = Field(default=100, ge=1, le=10_000_000)
    dpo_batch_size: int = Field(default=16, ge=1, le=4096)
    dpo_lr: float = Field(default=2e-3, gt=0, le=1.0)
    # The margin is one divergent token: beta 2 stops pushing a pair once that token moved ~2 nats (a trust region).
    dpo_beta: float = Field(default=2.0, gt=0, le=10.0)
    dpo_sft_weight: float = Field(default=1.0, ge=0.0, le=10.0)  # chosen-NLL anchor (RPO); 0 = pure DPO
    lora_r: int = Field(default=8, ge=1, le=1024)
    lora_alpha: int = Field(default=16, ge=1, le=4096)
    lora_dropout: float = Field(default=0.0, ge=0.0, le=0.9)
    # --- evaluation (held-out prompts drawn uniformly over the vocabulary, so tail attributes count) ---
    eval_prompts: int = Field(default=256, ge=4, le=1_000_000)
    max_new_tokens: int = Field(default=96, ge=8, le=8192)
