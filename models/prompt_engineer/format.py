"""The prompt engineer's text format: `<|task|>user prompt<|caption|>dense caption<|endoftext|>`.

The task token separates the two user-prompt styles the report trains apart (t2v vs i2v). With the
embedded tokenizer the markers are single special tokens; with a real checkpoint's tokenizer they are
ordinary text pieces, which fine-tuning learns just as well, so the format needs no tokenizer surgery.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from models.text_encoder.lm_module import IGNORE, LMExample

TASKS = ("t2v", "i2v")
CAPTION_MARK = "<|caption|>"


def format_prompt(task: str, prompt: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return f"<|{task}|>{prompt.strip()}{CAPTION_MARK}"


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, task: str, prompt: str, rewrite: str, max_tokens: int
) -> tuple[list[int], list[int]]:
    """Token ids of the formatted prompt and of the rewrite + EOS (rewrite cut to fit `max_tokens`)."""
    head = tokenizer(format_prompt(task, prompt), add_special_tokens=False)["input_ids"]
    tail = tokenizer(rewrite, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if len(head) >= max_tokens:
        head = head[: max_tokens // 2]  # an over-long user prompt keeps its start; the rewrite must fit
    return head, tail[: max_tokens - len(head)]


def sft_example(tokenizer: PreTrainedTokenizerBase, task: str, prompt: str, rewrite: str, max_tokens: int) -> LMExample:
    """Loss on the rewrite only: the model learns to write captions, not to predict user prompts."""
    head, tail = encode_pair(tokenizer, task, prompt, rewrite, max_tokens)
    return LMExample(input_ids=head + tail, labels=[IGNORE] * len(head) + tail)
