"""The embedded default tokenizer: byte-level BPE trained on the caption corpus, no downloads.

Qwen2.5 (the report's text-encoder / prompt-engineering LLM family) uses a byte-level BPE: every UTF-8
string is representable, so Chinese, English, emoji and typos never hit an unknown token. The embedded
default is the same kind of tokenizer, trained in milliseconds by `tokenizers` on the pipeline's own
captions, and saved as a standard `tokenizer.json` + `tokenizer_config.json`. It is therefore loaded
back with `transformers.AutoTokenizer.from_pretrained(path)`, the exact code path of a real checkpoint.

One deliberate difference from Qwen's pre-tokenizer: every CJK character (and CJK punctuation) is
isolated before BPE. With a corpus of a few hundred captions, BPE would otherwise merge whole Chinese
clauses ("红色的圆形向左移动") into single tokens, and a caption with one attribute swapped would fall
back to raw bytes; one token per character keeps Chinese compositional, like English words.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

EOS_TOKEN = "<|endoftext|>"  # end of text and padding, as in Qwen2.5
# Task and separator tokens of the prompt engineer (report 2.4: t2v and i2v prompts are styled apart).
TASK_TOKENS = ("<|t2v|>", "<|i2v|>", "<|caption|>")
SPECIAL_TOKENS = (EOS_TOKEN, *TASK_TOKENS)

# CJK ideographs, CJK symbols/punctuation, full-width forms, kana and hangul: one pre-token each.
_CJK_CHAR = r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `texts` (deterministic: same corpus, same merges, same bytes)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CJK_CHAR), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is ever unknown
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        additional_special_tokens=list(TASK_TOKENS),
        padding_side="right",
        model_max_length=4096,
    )
    return fast


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """Any HF tokenizer directory (the embedded BPE or a real Qwen2.5 checkpoint's)."""
    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        # Decoder-only checkpoints often ship without a pad token; EOS is the conventional stand-in
        # (padding positions are masked out, so its identity does not matter).
        tok.pad_token = tok.eos_token
    return tok
