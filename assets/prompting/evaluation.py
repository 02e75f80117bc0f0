"""Attribute preservation and hallucination of prompt rewrites, against what the user stated.

A rewrite is read back with the caption schema's strict `parse_caption`; a rewrite that does not follow
the grammar is read with a lenient vocabulary matcher instead (and counted in `parse_rate`), so a
half-formed caption still gets credit for what it names correctly and blame for what it invents.

Facts are bound to their subject ("circle is red", not just "red"), so swapping colours between two
subjects is caught. Only what the user *stated* is judged: every subject's shape, colour, count and
motion, and the scene / camera / style when the prompt named them. A rewrite that fills an open slot
(a t2v prompt without a camera gets "static camera") is elaborating, which is the PE's job.

- attribute_preservation: stated facts found in the rewrite / stated facts.
- hallucination_rate: rewrites with at least one fact that contradicts or adds to a stated attribute
  (another colour for a stated subject, an extra subject, another camera than the stated one) / rewrites.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from assets.captioning.schema import CaptionParseError, DenseCaption, parse_caption
from assets.prompting.synthesis import PromptExample
from assets.sourcing.world import vocabulary as V

Fact = tuple  # ("subject", noun) | ("colour"|"count"|"motion", noun, value) | ("scene"|"style"|"camera", value)
SUBJECT_FACTS = ("colour", "count", "motion")
SCALARS = ("scene", "style", "camera")


def caption_facts(caption: DenseCaption) -> set[Fact]:
    facts: set[Fact] = set()
    for shot in caption.shots:
        for s in shot.subjects:
            facts |= {("subject", s.subject), ("colour", s.subject, s.colour),
                      ("count", s.subject, s.count), ("motion", s.subject, s.motion)}
        facts |= {(a, getattr(shot, a)) for a in SCALARS if getattr(shot, a) is not None}
    return facts


def stated_facts(example: PromptExample) -> set[Fact]:
    """What the user's prompt pinned down (the subjects always; scalars when named)."""
    facts = {f for f in caption_facts(example.caption) if f[0] not in SCALARS}
    shot = example.caption.shots[0]
    return facts | {(a, getattr(shot, a)) for a in example.stated}


# --- lenient reading ---------------------------------------------------------------------------------


def _alt(names) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


def _plural(noun: str) -> str:
    return noun if noun == "fish" else noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


@lru_cache(maxsize=None)
def _lenient_patterns(lang: str) -> dict[str, tuple[re.Pattern[str], dict[str, str]]]:
    def table(attr: str) -> dict[str, str]:
        return {getattr(t, lang): t.key for t in V.VOCABULARY[attr]}

    nouns = table("subject")
    if lang == "en":
        nouns |= {_plural(n): k for n, k in list(nouns.items())}
        counts = {"a": "1", "an": "1"} | table("count")
        motions = table("motion")
        for phrase, key in list(motions.items()):  # plural agreement: "moves" -> "move"
            verb, _, rest = phrase.partition(" ")
            verb = verb[:-2] if verb.endswith("es") and verb[:-2].endswith(("s", "sh", "ch", "x")) else verb.rstrip("s")
            motions[f"{verb} {rest}".strip()] = key
        colour = rf"(?P<colour>{_alt(table('colour'))})"
        subj = rf"(?:(?P<count>{_alt(counts)}) )?{colour} (?P<noun>{_alt(nouns)})\b"
        mot = rf"{colour} (?P<noun>{_alt(nouns)}) (?P<motion>{_alt(motions)})"
    else:
        counts = table("count")
        motions = table("motion")
        colour = rf"(?P<colour>{_alt(table('colour'))})"
        subj = rf"(?P<count>{_alt(counts)})?{colour}的?(?P<noun>{_alt(nouns)})"
        mot = rf"{colour}的?(?P<noun>{_alt(nouns)})(?P<motion>{_alt(motions)})"
    return {
        "subject": (re.compile(subj, re.IGNORECASE), nouns),
        "motion": (re.compile(mot, re.IGNORECASE), motions),
        "counts": (re.compile("x"), counts),
        **{a: (re.compile(_alt(table(a))), table(a)) for a in SCALARS},
    }


def lenient_facts(text: str, lang: str) -> set[Fact]:
    P = _lenient_patterns(lang)
    facts: set[Fact] = set()
    subj_re, nouns = P["subject"]
    counts = P["counts"][1]
    colours = {getattr(t, lang): t.key for t in V.COLOURS}
    for m in subj_re.finditer(text):
        noun = nouns[m["noun"].lower() if lang == "en" else m["noun"]]
        facts |= {("subject", noun), ("colour", noun, colours[m["colour"].lower() if lang == "en" else m["colour"]])}
        if m["count"]:
            facts.add(("count", noun, int(counts[m["count"].lower() if lang == "en" else m["count"]])))
    mot_re, motions = P["motion"]
    for m in mot_re.finditer(text):
        noun = nouns[m["noun"].lower() if lang == "en" else m["noun"]]
        facts.add(("motion", noun, motions[m["motion"].lower() if lang == "en" else m["motion"]]))
    for a in SCALARS:
        pat, tab = P[a]
        facts |= {(a, tab[m.group(0)]) for m in pat.finditer(text)}
    return facts


def rewrite_facts(text: str, lang: str) -> tuple[set[Fact], bool]:
    """Facts of a rewrite and whether it parsed strictly."""
    try:
        facts = caption_facts(parse_caption(text, lang))
    except (CaptionParseError, ValueError):
        return lenient_facts(text, lang), False
    # The schema defaults an unmentioned motion to "still"; a rewrite that never says so did not claim it.
    still = V.term("motion", "still")
    said = re.search(r"\bstays? still\b", text) if lang == "en" else still.zh in text
    if not said:
        facts = {f for f in facts if f[:1] != ("motion",) or f[2] != "still"}
    return facts, True


# --- scoring -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewriteScore:
    preserved: int  # stated facts found
    stated: int  # stated facts
    hallucinated: list[Fact]  # facts that contradict or add to stated attributes
    parsed: bool


def score_rewrite(example: PromptExample, rewrite: str) -> RewriteScore:
    stated = stated_facts(example)
    got, parsed = rewrite_facts(rewrite, example.lang)
    stated_nouns = {f[1] for f in stated if f[0] == "subject"}
    stated_scalars = {f[0] for f in stated if f[0] in SCALARS}
    wrong = []
    for f in sorted(got, key=repr):
        if f in stated:
            continue
        if f[0] == "subject" and f[1] not in stated_nouns:
            wrong.append(f)  # an invented subject
        elif f[0] in SUBJECT_FACTS and f[1] in stated_nouns:
            wrong.append(f)  # another colour / count / motion for a stated subject
        elif f[0] in stated_scalars:
            wrong.append(f)  # another scene / style / camera than the one asked for
    return RewriteScore(len(stated & got), len(stated), wrong, parsed)


def score_rewrites(examples: Sequence[PromptExample], rewrites: Sequence[str]) -> dict[str, float]:
    if len(examples) != len(rewrites) or not examples:
        raise ValueError("need one rewrite per example, at least one")
    scores = [score_rewrite(e, r) for e, r in zip(examples, rewrites)]
    by_task = {}
    for task in ("t2v", "i2v"):
        idx = [i for i, e in enumerate(examples) if e.task == task]
        if idx:
            by_task[f"{task}_hallucination_rate"] = sum(bool(scores[i].hallucinated) for i in idx) / len(idx)
    return {
        "attribute_preservation": sum(s.preserved for s in scores) / max(sum(s.stated for s in scores), 1),
        "hallucination_rate": sum(bool(s.hallucinated) for s in scores) / len(scores),
        "hallucinated_facts_per_rewrite": sum(len(s.hallucinated) for s in scores) / len(scores),
        "parse_rate": sum(s.parsed for s in scores) / len(scores),
        "exact_match": sum(r.strip() == e.target for e, r in zip(examples, rewrites)) / len(scores),
        **by_task,
        "n": float(len(scores)),
    }


def is_hallucinated(example: PromptExample, rewrite: str) -> bool:
    return bool(score_rewrite(example, rewrite).hallucinated)
