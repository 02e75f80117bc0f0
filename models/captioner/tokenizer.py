"""A phrase-level bilingual caption tokenizer that needs no download.

English is split into words and punctuation, then consecutive words are merged greedily (longest
match) into the phrases of an English lexicon (vocabulary names such as "moves to the left" and the
grammar's fixed phrases such as "The visual style is"); Chinese is segmented greedily over a lexicon
of phrases (the world's vocabulary names plus the caption grammar's fixed phrases), with single
characters as the fallback, so any Chinese text tokenizes. Phrase tokens keep a caption short
(~20-40 tokens), which is what makes the decoder cheap to train. The token list is fitted on the
training captions and saved as JSON next to the checkpoint.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>", "<en>", "<zh>", "<long>", "<short>")
PAD, BOS, EOS, UNK = 0, 1, 2, 3

_EN = re.compile(r"\[SHOT \d+\]|\[CUT\]|[A-Za-z][A-Za-z-]*|\d+|[^\sA-Za-z\d]")
_MARKER = re.compile(r"\[SHOT \d+\]|\[CUT\]")


class CaptionTokenizer:
    def __init__(self, tokens: list[str], lexicon: list[str], en_lexicon: Iterable[str] = ()):
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError("token list must start with the special tokens")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.lexicon = sorted(set(lexicon), key=len, reverse=True)
        self._max_phrase = max((len(p) for p in self.lexicon), default=1)
        self._lexset = set(self.lexicon)
        self.en_lexicon = sorted(set(en_lexicon))
        # phrases as word tuples, e.g. ("moves", "to", "the", "left")
        self._en_phrases = {tuple(_EN.findall(p)) for p in self.en_lexicon}
        self._en_max = max((len(p) for p in self._en_phrases), default=1)

    # -- segmentation -------------------------------------------------------------------------
    def _zh_pieces(self, text: str) -> list[str]:
        out: list[str] = []
        for chunk in re.split(r"(\[SHOT \d+\]|\[CUT\])", text):
            if not chunk:
                continue
            if _MARKER.fullmatch(chunk):
                out.append(chunk)
                continue
            i = 0
            while i < len(chunk):
                if chunk[i].isspace():
                    i += 1
                    continue
                for n in range(min(self._max_phrase, len(chunk) - i), 0, -1):
                    piece = chunk[i : i + n]
                    if n == 1 or piece in self._lexset:
                        out.append(piece)
                        i += n
                        break
        return out

    def _en_pieces(self, text: str) -> list[str]:
        words = _EN.findall(text)
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self._en_max, len(words) - i), 0, -1):
                if n == 1 or tuple(words[i : i + n]) in self._en_phrases:
                    out.append(" ".join(words[i : i + n]))
                    i += n
                    break
        return out

    def pieces(self, text: str, lang: str) -> list[str]:
        return self._en_pieces(text) if lang == "en" else self._zh_pieces(text)

    # -- ids ----------------------------------------------------------------------------------
    def encode(self, text: str, lang: str, form: str) -> list[int]:
        """<bos> <lang> <form> pieces... <eos>; the first three tokens are the prompt."""
        ids = [BOS, self.index[f"<{lang}>"], self.index[f"<{form}>"]]
        ids += [self.index.get(p, UNK) for p in self.pieces(text, lang)]
        return ids + [EOS]

    def prompt(self, lang: str, form: str) -> list[int]:
        return [BOS, self.index[f"<{lang}>"], self.index[f"<{form}>"]]

    def decode(self, ids: Iterable[int], lang: str) -> str:
        words = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i < len(SPECIALS):
                continue
            words.append(self.tokens[i])
        if lang == "zh":
            text = ""
            for w in words:
                text += f" {w} " if _MARKER.fullmatch(w) else w
            return re.sub(r"\s+", " ", text).strip()
        text = " ".join(words)
        return re.sub(r" ([.,;:!?])", r"\1", text)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    # -- fitting and persistence ------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Iterable[tuple[str, str]], lexicon: Iterable[str],
            en_lexicon: Iterable[str] = ()) -> "CaptionTokenizer":
        """`texts`: (text, lang) pairs. Tokens are ordered by frequency, then alphabetically."""
        lex, en_lex = list(lexicon), list(en_lexicon)
        probe = cls(list(SPECIALS), lex, en_lex)
        counts: Counter[str] = Counter()
        for text, lang in texts:
            counts.update(probe.pieces(text, lang))
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        return cls(list(SPECIALS) + ordered, lex, en_lex)

    def to_json(self) -> str:
        return json.dumps({"tokens": self.tokens, "lexicon": self.lexicon, "en_lexicon": self.en_lexicon},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "CaptionTokenizer":
        d = json.loads(text)
        return cls(d["tokens"], d["lexicon"], d.get("en_lexicon", ()))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "CaptionTokenizer":
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
