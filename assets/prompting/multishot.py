"""Multi-shot prompts: one user prompt -> one caption per shot.

Seedance 1.0 generates several consecutive shots from one prompt (report 2.2 "Multishot MM-RoPE": each
shot has its own caption; 7.3 multi-shot generation). Users mark the cuts in many ways; this module
accepts the forms the practitioner's notes (seeds/000) found to work and the report's own examples:

    explicit markers   [SHOT 1] ... [CUT] [SHOT 2] ...     <SHOT> ... <CUT> ...     Shot 1: ... Shot 2: ...
                       [镜头1] ...    镜头1：... 镜头2：...    分镜1：...
    arrows             A -> B -> C          A → B → C          (also =>, ⟶, ➔, ⇒)
    Chinese cut words  ... ,转为 ... ,接着是 ... ,最后切到 ...   ... 。镜头切换,...   切至 / 切换为 / 再是 / 最后以 / 最终定格在 ...
    English cut words  "... . Cut to ..."  (only at the start of a sentence or clause)

Precedence: explicit markers win (text inside a marked shot is never split again, so "Shot 4: Cut to the
referee" stays one shot); otherwise arrows; otherwise cut words. A prompt without any cut is one shot.

With explicit shot markers, text before the first marker is a *preamble* (global context such as a style
or a time of day written once for the whole video); it is prepended to every shot, because each shot's
caption must stand on its own in the DiT sequence. With arrows and cut words the text before the first
cut is the first shot itself, as in the report's examples ("从观众视角切入场内灯光聚焦,转为...").

Bad input: an empty or whitespace-only prompt raises `MultiShotPromptError` (a ValueError); bytes that are
not valid UTF-8 raise it naming the byte offset; a prompt beyond the token budget is truncated and a
warning is returned (callers put `warnings` in asset metadata); mixed Chinese/English text is handled by
the same rules (the patterns are language-agnostic and the default token counter counts CJK characters).

The default token counter is an approximation (one token per CJK character, per Latin word or number,
per punctuation mark); pass `count_tokens=` the real text encoder's tokenizer length for exact budgets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "MultiShotPrompt",
    "MultiShotPromptError",
    "approx_token_count",
    "parse_multishot",
]


class MultiShotPromptError(ValueError):
    """The prompt cannot be parsed at all (empty, not UTF-8). The message says what to fix."""


@dataclass(frozen=True)
class MultiShotPrompt:
    shots: list[str]  # one caption text per shot, in temporal order
    warnings: list[str] = field(default_factory=list)  # for asset metadata / CLI output
    syntax: str = "single"  # which form was recognised: markers | arrows | cut_words | single
    preamble: str = ""  # global context found before the first explicit shot marker (already in shots)

    @property
    def n_shots(self) -> int:
        return len(self.shots)


# ---------------------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------------------

_CN_NUM = "0-9０-９一二三四五六七八九十"

# Explicit shot-open markers. Group "num" carries the written shot number when there is one.
_SHOT_OPEN = re.compile(
    r"""
    [\[<【]\s*(?:shot|镜头|分镜)\s*(?P<n1>[""" + _CN_NUM + r"""]+)?\s*[\]>】]     # [SHOT 1]  <SHOT>  【镜头1】
    | \b(?:shot)\s*(?P<n2>\d+)\s*(?:[:：)]|\.(?!\d)|\s[-–—])                        # Shot 1:  Shot 2)  Shot 3 -
    | (?:镜头|分镜)\s*(?P<n3>[""" + _CN_NUM + r"""]+)\s*[:：.)、]                 # 镜头1：  分镜二：
    | 第\s*(?P<n4>[""" + _CN_NUM + r"""]+)\s*个?(?:镜头|分镜)\s*[:：]?                # 第一个镜头：
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Explicit cut markers: end the current shot.
_CUT_MARK = re.compile(r"[\[<【]\s*(?:cut|切换|切)\s*[\]>】]", re.IGNORECASE)

_ARROW = re.compile(r"\s*(?:-{1,2}>|=>|→|⟶|➔|➜|⇒|⟹)\s*")

# Chinese cut words, recognised only at the start of a clause (after start, punctuation or an arrow), so
# that "切入" inside "从观众视角切入场内" is not a cut. Optional sequencing adverb + a cut verb, or a
# sequencing adverb + 是/以 ("接着是", "最后以").
_ZH_ADVERB = r"(?:然后|接着|随后|之后|再|又|最后|最终|最後)"
_ZH_CUT_VERB = (
    r"(?:镜头切换|画面切换|镜头一转|切换为|切换成|切换到|切换至|切到|切至|切向|转为|转成|转到|转至|转向|定格在|定格于)"
)
_CLAUSE_START = r"(?:^|(?<=[，,。.；;！!？?\n]))\s*"
_ZH_CUT = re.compile(
    _CLAUSE_START
    + r"(?:"
    + _ZH_ADVERB
    + r"?\s*"
    + _ZH_CUT_VERB
    + r"|"
    + _ZH_ADVERB
    + r"\s*(?:是|以))"
    + r"\s*[，,:：]?\s*"
)
# English cut words at the start of a sentence / clause: "Cut to ...", "Then cut to ...", "Switch to ...".
_EN_CUT = re.compile(
    _CLAUSE_START
    + r"(?:(?:and\s+)?then\s+|finally\s+|final\s+|next\s+)?"
    + r"(?:hard\s+)?(?:cut|switch|transition|change)(?:es|s)?\s+(?:to|into)\b\s*[,:]?\s*",
    re.IGNORECASE,
)
# Leading transition words left at the start of an arrow segment ("switch to the boxer ...").
_LEADING_TRANSITION = re.compile(
    r"^(?:(?:and\s+)?then\s+|finally\s+|final\s+|next\s+)?(?:hard\s+)?(?:cut|switch|transition|change)(?:es|s)?"
    r"\s+(?:to|into)\b\s*[,:]?\s*"
    r"|^" + _ZH_ADVERB + r"?\s*" + _ZH_CUT_VERB + r"\s*[，,:：]?\s*",
    re.IGNORECASE,
)

_TRAILING_PUNCT = " \t\n\r，,；;、:：-–—"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_APPROX_TOKEN = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]"  # one CJK character
    r"|[A-Za-z0-9\u00c0-\u024f]+(?:['’][A-Za-z]+)?"  # one Latin word or number
    r"|[^\sA-Za-z0-9\u00c0-\u024f]",  # one punctuation mark / symbol
)


def approx_token_count(text: str) -> int:
    """Tokens of `text` under the default approximation (CJK char / Latin word / punctuation = 1)."""
    return len(_APPROX_TOKEN.findall(text))


# ---------------------------------------------------------------------------------------------------
# Input hygiene
# ---------------------------------------------------------------------------------------------------


def _decode(prompt: str | bytes | bytearray) -> str:
    if isinstance(prompt, (bytes, bytearray)):
        try:
            text = bytes(prompt).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MultiShotPromptError(
                f"prompt is not valid UTF-8 (bad byte 0x{prompt[exc.start]:02x} at offset {exc.start}); "
                "re-save the prompt file as UTF-8"
            ) from None
    elif isinstance(prompt, str):
        text = prompt
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates, e.g. from a surrogateescape'd file read
            raise MultiShotPromptError(
                f"prompt holds characters that are not valid UTF-8 (position {exc.start}); "
                "re-save the prompt file as UTF-8"
            ) from None
    else:
        raise MultiShotPromptError(f"prompt must be str or bytes, got {type(prompt).__name__}")
    return text.lstrip("\ufeff")


def _normalise(text: str, warnings: list[str]) -> str:
    # NFKC folds full-width Latin letters/digits ("ＳＨＯＴ １") but would also fold "，" into ",":
    # both are accepted by the patterns, so folding is harmless and keeps one code path.
    text = unicodedata.normalize("NFKC", text)
    cleaned = []
    dropped = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t":
            cleaned.append(ch)
        elif cat in ("Cc", "Cf", "Cs", "Co") or ch == "\x00":
            dropped += 1
        else:
            cleaned.append(ch)
    if dropped:
        warnings.append(f"removed {dropped} control/format character(s) from the prompt")
    return "".join(cleaned)


def _clean_shot(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s*\n\s*", " ", text)
    text = text.strip(_TRAILING_PUNCT)
    # A stray line-wrap space between two CJK characters (PDF copy-paste: "切至头部 光学镜头") is noise.
    text = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", text)
    return text.strip()


def _strip_leading_transition(text: str) -> str:
    stripped = _LEADING_TRANSITION.sub("", text, count=1).strip()
    return stripped or text


# ---------------------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------------------


def _cn_to_int(num: str) -> int | None:
    num = unicodedata.normalize("NFKC", num)
    if num.isdigit():
        return int(num)
    digits = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if num == "十":
        return 10
    if num.startswith("十") and len(num) == 2 and num[1] in digits:
        return 10 + digits[num[1]]
    if len(num) == 1 and num in digits:
        return digits[num]
    if len(num) == 2 and num[0] in digits and num[1] == "十":
        return digits[num[0]] * 10
    if len(num) == 3 and num[0] in digits and num[1] == "十" and num[2] in digits:
        return digits[num[0]] * 10 + digits[num[2]]
    return None


def _split_markers(text: str, warnings: list[str]) -> tuple[list[str], str] | None:
    events: list[tuple[int, int, str, int | None]] = []  # (start, end, kind, number)
    for m in _SHOT_OPEN.finditer(text):
        raw = next((g for g in (m.group("n1"), m.group("n2"), m.group("n3"), m.group("n4")) if g), None)
        events.append((m.start(), m.end(), "shot", _cn_to_int(raw) if raw else None))
    for m in _CUT_MARK.finditer(text):
        events.append((m.start(), m.end(), "cut", None))
    if not events:
        return None
    events.sort()
    shots: list[str] = []
    numbers: list[int] = []
    preamble = ""
    cursor = 0
    opened_by_shot = False  # did the pending segment start with a shot marker?
    for i, (start, end, kind, number) in enumerate(events):
        segment = _clean_shot(text[cursor:start])
        if i == 0 and kind == "shot" and segment:
            preamble = segment
        elif segment:
            shots.append(segment)
        elif opened_by_shot and kind == "shot":
            warnings.append("an explicit shot marker had no text after it; the empty shot was dropped")
        if kind == "shot":
            opened_by_shot = True
            if number is not None:
                numbers.append(number)
        else:
            opened_by_shot = False
        cursor = end
    tail = _clean_shot(text[cursor:])
    if tail:
        shots.append(tail)
    elif opened_by_shot:
        warnings.append("the last shot marker had no text after it; the empty shot was dropped")
    if numbers and numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        warnings.append(
            f"shot numbers {numbers} are not consecutive; shots are kept in the order they are written"
        )
    if preamble:
        shots = [_join(preamble, s) for s in shots]
        if not shots:
            shots = [preamble]
    return shots, preamble


def _join(head: str, tail: str) -> str:
    """Join two texts, with a space only between non-CJK neighbours."""
    cjk_or_punct = re.compile(r"[\u3000-\u303f\uff00-\uffef]")
    if _CJK.match(head[-1:]) or _CJK.match(tail[:1]) or cjk_or_punct.match(head[-1:]):
        return head + tail
    return f"{head} {tail}"


def _split_on(pattern: re.Pattern[str], text: str) -> list[str]:
    return [s for s in (_clean_shot(p) for p in pattern.split(text)) if s]


def parse_multishot(
    prompt: str | bytes,
    max_tokens: int | None = None,
    *,
    count_tokens: Callable[[str], int] | None = None,
) -> MultiShotPrompt:
    """Split a user prompt into per-shot caption texts.

    `max_tokens` bounds the total over all shots (the DiT's text budget); shots past it are dropped and
    the shot that crosses it is cut at a token boundary, with a warning. `count_tokens` measures text in
    the real tokenizer's units; the default is `approx_token_count`.
    """
    if max_tokens is not None and max_tokens < 1:
        raise MultiShotPromptError(f"max_tokens must be >= 1, got {max_tokens}")
    text = _decode(prompt)
    warnings: list[str] = []
    text = _normalise(text, warnings)
    if not text.strip():
        raise MultiShotPromptError("prompt is empty (or whitespace only); write at least one shot description")

    preamble = ""
    marked = _split_markers(text, warnings)
    if marked is not None:
        shots, preamble = marked
        syntax = "markers"
    elif _ARROW.search(text):
        shots = [_strip_leading_transition(s) for s in _split_on(_ARROW, text)]
        syntax = "arrows"
    elif _ZH_CUT.search(text) or _EN_CUT.search(text):
        parts = _split_on(_EN_CUT, text)
        shots = [s for p in parts for s in _split_on(_ZH_CUT, p)]
        syntax = "cut_words"
    else:
        shots = [_clean_shot(text)]
        syntax = "single"
    shots = [s for s in shots if s]
    if not shots:
        raise MultiShotPromptError(
            "prompt holds shot markers but no shot text; write a description after each marker"
        )
    if max_tokens is not None:
        shots = _fit_budget(shots, max_tokens, count_tokens or approx_token_count, warnings)
    return MultiShotPrompt(shots=shots, warnings=warnings, syntax=syntax, preamble=preamble)


def _fit_budget(shots: list[str], budget: int, count: Callable[[str], int], warnings: list[str]) -> list[str]:
    sizes = [count(s) for s in shots]
    total = sum(sizes)
    if total <= budget:
        return shots
    kept: list[str] = []
    left = budget
    for shot, size in zip(shots, sizes):
        if size <= left:
            kept.append(shot)
            left -= size
            continue
        if left > 0:
            kept.append(_truncate(shot, left, count))
        break
    kept = [s for s in kept if s]
    warnings.append(
        f"prompt has {total} tokens, over the budget of {budget}: kept {len(kept)} of {len(shots)} shot(s)"
        + (", the last one truncated" if kept and kept[-1] not in shots else "")
    )
    return kept


def _truncate(text: str, budget: int, count: Callable[[str], int]) -> str:
    """Longest prefix of `text` with at most `budget` tokens (binary search: works for any counter)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    prefix = text[:lo]
    # Do not end inside a Latin word: back off to the last boundary when one exists.
    if lo < len(text) and text[lo - 1 : lo].isalnum() and text[lo : lo + 1].isalnum() and not _CJK.match(text[lo]):
        cut = max(prefix.rfind(" "), 0)
        prefix = prefix[:cut] if cut else prefix
    return prefix.strip(_TRAILING_PUNCT)
