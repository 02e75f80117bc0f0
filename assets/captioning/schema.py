"""The one dense caption schema (report 3.2), its bilingual rendering and its exact inverse.

A dense caption integrates *static* features (the subjects' appearance: shape, colour, count; the scene;
the visual style / aesthetics) and *dynamic* features (each subject's motion, subject or scene changes
between shots, the camera movement). A clip holds one or more shots in temporal order; a multi-shot
clip gets one `ShotCaption` per shot, rendered with explicit shot markers
(`[SHOT 1] ... [CUT] [SHOT 2] ...`, as the practitioner's notes ask for).

Two forms per clip, as in the report's continued training (4.2):
- `long`: static + dynamic features (text-to-video and general training);
- `short`: dynamic features only (image-to-video: the first frame already shows the static content).

`parse_caption(render_caption(c, lang, "long"), lang) == c` for every vocabulary combination; for the
short form the static fields (scene, style) come back as `None` (see `DenseCaption.short_view`).
This inverse is what measures a captioner against ground truth, so it is strict: text that does not
follow the grammar raises `CaptionParseError` instead of guessing.

Every attribute value is a stable key of `assets/sourcing/world/vocabulary.py`; the words come from
the vocabulary's `en` / `zh` names, so captions, prompts and judges share one closed set of names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable, Literal, Sequence

from assets.sourcing.world import vocabulary as V

Lang = Literal["en", "zh"]
Form = Literal["long", "short"]
LANGS: tuple[str, ...] = ("en", "zh")
FORMS: tuple[str, ...] = ("long", "short")

SHOT_MARKER = "[SHOT {index}]"
CUT_MARKER = "[CUT]"
MAX_SUBJECTS_PER_SHOT = 4  # keeps a caption inside the text encoder's token budget


class CaptionParseError(ValueError):
    """A text does not follow the dense caption grammar (or names an unknown vocabulary term)."""


def _check(attribute: str, key: str | None, optional: bool = True) -> None:
    if key is None:
        if optional:
            return
        raise ValueError(f"{attribute} is required")
    if key not in V.keys(attribute):
        raise ValueError(f"unknown {attribute} {key!r}; known: {V.keys(attribute)}")


@dataclass(frozen=True)
class SubjectCaption:
    """One kind of subject in a shot: appearance (shape, colour, count) and its motion."""

    subject: str  # vocabulary key, e.g. "circle"
    colour: str  # vocabulary key, e.g. "red"
    count: int = 1  # 1-3 instances (vocabulary COUNTS)
    motion: str = "still"  # vocabulary key, e.g. "left"

    def __post_init__(self) -> None:
        _check("subject", self.subject, optional=False)
        _check("colour", self.colour, optional=False)
        _check("motion", self.motion, optional=False)
        if str(self.count) not in V.keys("count"):
            raise ValueError(f"count must be one of {V.keys('count')}, got {self.count!r}")


@dataclass(frozen=True)
class ShotCaption:
    """The dense caption of one shot.

    static : subjects (appearance), scene, style
    dynamic: subjects' motions, camera movement, the transition into this shot and (derived, rendered
             for shots after the first) what changed from the previous shot.
    `None` means "not described" (a short caption, or a prompt that leaves it open).
    """

    subjects: tuple[SubjectCaption, ...]
    scene: str | None = None
    style: str | None = None
    camera: str | None = None
    transition: str | None = None  # how this shot is entered ("cut", "dissolve", "fade"); None for shot 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "subjects", tuple(self.subjects))
        if not 1 <= len(self.subjects) <= MAX_SUBJECTS_PER_SHOT:
            raise ValueError(f"a shot needs 1-{MAX_SUBJECTS_PER_SHOT} subjects, got {len(self.subjects)}")
        for s in self.subjects:
            if not isinstance(s, SubjectCaption):
                raise TypeError(f"subjects must be SubjectCaption, got {type(s).__name__}")
        _check("scene", self.scene)
        _check("style", self.style)
        _check("camera", self.camera)
        _check("transition", self.transition)

    @classmethod
    def from_attributes(
        cls,
        subjects: Iterable[Sequence[Any]],
        count: int = 1,
        camera: str | None = None,
        scene: str | None = None,
        style: str | None = None,
        transition: str | None = None,
    ) -> "ShotCaption":
        """Build from vocabulary keys: `subjects=[(subject, colour, motion), ...]`.

        `count` is the number of instances of each subject given as a 3-tuple; a 4-tuple
        `(subject, colour, motion, count)` carries its own count.
        """
        built = []
        for item in subjects:
            item = tuple(item)
            if len(item) == 3:
                subject, colour, motion = item
                n = count
            elif len(item) == 4:
                subject, colour, motion, n = item
            else:
                raise ValueError(f"subject tuple must be (subject, colour, motion[, count]), got {item!r}")
            built.append(SubjectCaption(str(subject), str(colour), int(n), str(motion)))
        return cls(tuple(built), scene=scene, style=style, camera=camera, transition=transition)

    @property
    def main(self) -> SubjectCaption:
        """The first-named subject: the one the per-attribute accuracy is measured on."""
        return self.subjects[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subjects": [
                {"subject": s.subject, "colour": s.colour, "count": s.count, "motion": s.motion}
                for s in self.subjects
            ],
            "scene": self.scene,
            "style": self.style,
            "camera": self.camera,
            "transition": self.transition,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ShotCaption":
        return cls(
            tuple(
                SubjectCaption(s["subject"], s["colour"], int(s.get("count", 1)), s.get("motion", "still"))
                for s in d["subjects"]
            ),
            scene=d.get("scene"),
            style=d.get("style"),
            camera=d.get("camera"),
            transition=d.get("transition"),
        )


@dataclass(frozen=True)
class DenseCaption:
    """The dense caption of a clip: its shots in temporal order (one for a single-shot clip)."""

    shots: tuple[ShotCaption, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shots", tuple(self.shots))
        if not self.shots:
            raise ValueError("a dense caption needs at least one shot")
        if self.shots[0].transition is not None:
            raise ValueError("the first shot has no incoming transition")

    @classmethod
    def from_attributes(cls, shots: Iterable[dict[str, Any] | ShotCaption]) -> "DenseCaption":
        """`shots`: ShotCaptions or dicts of `ShotCaption.from_attributes` keyword arguments."""
        built = [s if isinstance(s, ShotCaption) else ShotCaption.from_attributes(**s) for s in shots]
        return cls(tuple(built))

    @property
    def n_shots(self) -> int:
        return len(self.shots)

    def short_view(self) -> "DenseCaption":
        """What the short (motion-only) form keeps: static scene and style dropped."""
        return DenseCaption(tuple(replace(s, scene=None, style=None) for s in self.shots))

    def to_dict(self) -> dict[str, Any]:
        return {"shots": [s.to_dict() for s in self.shots]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DenseCaption":
        return cls(tuple(ShotCaption.from_dict(s) for s in d["shots"]))


# ----------------------------------------------------------------------------------------------
# English grammar
# ----------------------------------------------------------------------------------------------

_IRREGULAR_PLURALS = {"fish": "fish"}


def _plural(noun: str) -> str:
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    return noun + "s"


def _plural_verb(phrase: str) -> str:
    """'moves to the left' -> 'move to the left' (subject-verb agreement for counts > 1)."""
    verb, _, rest = phrase.partition(" ")
    if verb.endswith("es") and verb[:-2].endswith(("s", "sh", "ch", "x")):
        verb = verb[:-2]
    elif verb.endswith("s"):
        verb = verb[:-1]
    return f"{verb} {rest}".strip()


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _count_en(n: int) -> str:
    return V.term("count", str(n)).en


def _en_subject_static(s: SubjectCaption) -> str:
    colour = V.term("colour", s.colour).en
    noun = V.term("subject", s.subject).en
    if s.count == 1:
        return f"{_article(colour)} {colour} {noun}"
    return f"{_count_en(s.count)} {colour} {_plural(noun)}"


def _en_list(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _en_subject_motion(s: SubjectCaption) -> str:
    colour = V.term("colour", s.colour).en
    noun = V.term("subject", s.subject).en
    motion = V.term("motion", s.motion).en
    if s.count == 1:
        return f"The {colour} {noun} {motion}."
    return f"The {_count_en(s.count)} {colour} {_plural(noun)} {_plural_verb(motion)}."


def _en_camera(key: str) -> str:
    name = V.term("camera", key).en
    if name.startswith("camera "):
        return f"The {name}."
    return f"The shot is filmed with {_article(name)} {name}."


def _en_changes(prev: ShotCaption | None, shot: ShotCaption) -> list[str]:
    """Subject / scene / style changes from the previous shot (dynamic features, derived)."""
    if prev is None:
        return []
    out = []
    if [(s.subject, s.colour, s.count) for s in prev.subjects] != [
        (s.subject, s.colour, s.count) for s in shot.subjects
    ]:
        out.append("The subjects change.")
    if shot.scene is not None and prev.scene is not None and shot.scene != prev.scene:
        out.append(f"The scene changes to {V.term('scene', shot.scene).en}.")
    if shot.style is not None and prev.style is not None and shot.style != prev.style:
        out.append(f"The visual style changes to {V.term('style', shot.style).en}.")
    return out


def _render_shot_en(shot: ShotCaption, prev: ShotCaption | None, form: Form) -> str:
    parts: list[str] = []
    if form == "long":
        subjects = _cap(_en_list([_en_subject_static(s) for s in shot.subjects]))
        if shot.scene is not None:
            parts.append(f"{subjects} against {V.term('scene', shot.scene).en}.")
        else:
            parts.append(f"{subjects}.")
        if shot.style is not None:
            parts.append(f"The visual style is {V.term('style', shot.style).en}.")
    if shot.transition is not None:
        name = V.term("transition", shot.transition).en
        parts.append(f"The shot opens with {_article(name)} {name}.")
    if form == "long":
        parts.extend(_en_changes(prev, shot))
    parts.extend(_en_subject_motion(s) for s in shot.subjects)
    if shot.camera is not None:
        parts.append(_en_camera(shot.camera))
    return " ".join(parts)


# ----------------------------------------------------------------------------------------------
# Chinese grammar
# ----------------------------------------------------------------------------------------------


def _zh_subject(s: SubjectCaption, with_one: bool) -> str:
    colour = V.term("colour", s.colour).zh
    noun = V.term("subject", s.subject).zh
    if s.count == 1 and not with_one:
        return f"{colour}的{noun}"
    return f"{V.term('count', str(s.count)).zh}{colour}的{noun}"


def _zh_list(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return "、".join(items[:-1]) + "和" + items[-1]


def _zh_camera(key: str) -> str:
    name = V.term("camera", key).zh
    return f"{name}。" if name.startswith("镜头") else f"采用{name}。"


def _render_shot_zh(shot: ShotCaption, prev: ShotCaption | None, form: Form) -> str:
    parts: list[str] = []
    if form == "long":
        subjects = _zh_list([_zh_subject(s, with_one=True) for s in shot.subjects])
        if shot.scene is not None:
            parts.append(f"画面中有{subjects}，背景是{V.term('scene', shot.scene).zh}。")
        else:
            parts.append(f"画面中有{subjects}。")
        if shot.style is not None:
            parts.append(f"整体呈现{V.term('style', shot.style).zh}。")
    if shot.transition is not None:
        parts.append(f"以{V.term('transition', shot.transition).zh}转场进入。")
    if form == "long" and prev is not None:
        if [(s.subject, s.colour, s.count) for s in prev.subjects] != [
            (s.subject, s.colour, s.count) for s in shot.subjects
        ]:
            parts.append("主体发生变化。")
        if shot.scene is not None and prev.scene is not None and shot.scene != prev.scene:
            parts.append(f"场景切换为{V.term('scene', shot.scene).zh}。")
        if shot.style is not None and prev.style is not None and shot.style != prev.style:
            parts.append(f"风格变为{V.term('style', shot.style).zh}。")
    for s in shot.subjects:
        parts.append(f"{_zh_subject(s, with_one=False)}{V.term('motion', s.motion).zh}。")
    if shot.camera is not None:
        parts.append(_zh_camera(shot.camera))
    return "".join(parts)


# ----------------------------------------------------------------------------------------------
# Public rendering
# ----------------------------------------------------------------------------------------------


def render_shot(shot: ShotCaption, lang: Lang = "en", form: Form = "long", prev: ShotCaption | None = None) -> str:
    """One shot's text without markers (per-shot captions for the DiT's interleaved text tokens)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    return _render_shot_en(shot, prev, form) if lang == "en" else _render_shot_zh(shot, prev, form)


def render_shots(caption: DenseCaption, lang: Lang = "en", form: Form = "long") -> list[str]:
    """Per-shot texts of a clip, in temporal order."""
    return [
        render_shot(shot, lang, form, prev=caption.shots[i - 1] if i else None)
        for i, shot in enumerate(caption.shots)
    ]


def render_caption(caption: DenseCaption, lang: Lang = "en", form: Form = "long") -> str:
    """Fluent text of a dense caption. Multi-shot clips: `[SHOT 1] ... [CUT] [SHOT 2] ...`."""
    texts = render_shots(caption, lang, form)
    if len(texts) == 1:
        return texts[0]
    return f" {CUT_MARKER} ".join(f"{SHOT_MARKER.format(index=i + 1)} {t}" for i, t in enumerate(texts))


# ----------------------------------------------------------------------------------------------
# Parsing (the exact inverse)
# ----------------------------------------------------------------------------------------------


def _alt(names: Iterable[str]) -> str:
    # longest first so that a name that is a prefix of another never wins by accident
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


@lru_cache(maxsize=None)
def _lookup(attribute: str, lang: str) -> dict[str, str]:
    return {getattr(t, lang): t.key for t in V.VOCABULARY[attribute]}


@lru_cache(maxsize=None)
def _en_patterns() -> dict[str, re.Pattern[str]]:
    colours = _alt(_lookup("colour", "en"))
    nouns = _alt(list(_lookup("subject", "en")) + [_plural(n) for n in _lookup("subject", "en")])
    counts = _alt(list(_lookup("count", "en")) + ["a", "an"])
    motions = _alt(list(_lookup("motion", "en")) + [_plural_verb(m) for m in _lookup("motion", "en")])
    subj = rf"(?:{counts}) (?:{colours}) (?:{nouns})"
    return {
        "subject": re.compile(rf"(?P<count>{counts}) (?P<colour>{colours}) (?P<noun>{nouns})"),
        "static": re.compile(
            rf"(?P<subjects>{subj}(?:(?:, | and ){subj})*)(?: against (?P<scene>{_alt(_lookup('scene', 'en'))}))?"
        ),
        "style": re.compile(rf"The visual style is (?P<style>{_alt(_lookup('style', 'en'))})"),
        "transition": re.compile(
            rf"The shot opens with (?:a|an) (?P<transition>{_alt(_lookup('transition', 'en'))})"
        ),
        "change": re.compile(
            rf"The subjects change|The scene changes to (?:{_alt(_lookup('scene', 'en'))})"
            rf"|The visual style changes to (?:{_alt(_lookup('style', 'en'))})"
        ),
        "motion": re.compile(
            rf"The (?:(?P<count>{_alt(_lookup('count', 'en'))}) )?(?P<colour>{colours}) (?P<noun>{nouns}) "
            rf"(?P<motion>{motions})"
        ),
        "camera": re.compile(
            rf"The (?P<a>{_alt(n for n in _lookup('camera', 'en') if n.startswith('camera '))})"
            rf"|The shot is filmed with (?:a|an) (?P<b>{_alt(_lookup('camera', 'en'))})"
        ),
    }


def _noun_key(noun: str) -> str:
    table = _lookup("subject", "en")
    if noun in table:
        return table[noun]
    for singular, key in table.items():
        if _plural(singular) == noun:
            return key
    raise CaptionParseError(f"unknown subject {noun!r}")


def _motion_key(phrase: str) -> str:
    table = _lookup("motion", "en")
    if phrase in table:
        return table[phrase]
    for singular, key in table.items():
        if _plural_verb(singular) == phrase:
            return key
    raise CaptionParseError(f"unknown motion {phrase!r}")


def _en_count(word: str | None) -> int:
    if word in (None, "a", "an"):
        return 1
    return int(_lookup("count", "en")[word])


def _split_sentences(text: str, sep: str) -> list[str]:
    return [s.strip() for s in text.split(sep) if s.strip()]


def _parse_shot_en(text: str) -> ShotCaption:
    P = _en_patterns()
    static: list[tuple[str, str, int]] | None = None
    scene = style = camera = transition = None
    moving: list[SubjectCaption] = []
    for sentence in _split_sentences(text, ". "):
        sentence = sentence.removesuffix(".")
        if m := P["style"].fullmatch(sentence):
            style = _lookup("style", "en")[m["style"]]
        elif m := P["transition"].fullmatch(sentence):
            transition = _lookup("transition", "en")[m["transition"]]
        elif P["change"].fullmatch(sentence):
            continue  # derived from consecutive shots; carries no new attribute
        elif m := P["camera"].fullmatch(sentence):
            camera = _lookup("camera", "en")[m["a"] or m["b"]]
        elif m := P["motion"].fullmatch(sentence):
            moving.append(
                SubjectCaption(_noun_key(m["noun"]), _lookup("colour", "en")[m["colour"]], _en_count(m["count"]),
                               _motion_key(m["motion"]))
            )
        elif static is None and (m := P["static"].fullmatch(sentence[:1].lower() + sentence[1:])):
            if m["scene"]:
                scene = _lookup("scene", "en")[m["scene"]]
            static = [
                (_noun_key(s["noun"]), _lookup("colour", "en")[s["colour"]], _en_count(s["count"]))
                for s in P["subject"].finditer(m["subjects"])
            ]
        else:
            raise CaptionParseError(f"unrecognised caption sentence: {sentence!r}")
    return _assemble(static, moving, scene, style, camera, transition, text)


def _assemble(
    static: list[tuple[str, str, int]] | None,
    moving: list[SubjectCaption],
    scene: str | None,
    style: str | None,
    camera: str | None,
    transition: str | None,
    text: str,
) -> ShotCaption:
    if static is not None and moving and [(s.subject, s.colour, s.count) for s in moving] != static:
        raise CaptionParseError(f"motion sentences do not match the subjects described in {text!r}")
    if moving:
        subjects = tuple(moving)
    elif static:
        subjects = tuple(SubjectCaption(sub, col, n) for sub, col, n in static)
    else:
        raise CaptionParseError(f"no subject found in {text!r}")
    try:
        return ShotCaption(subjects, scene=scene, style=style, camera=camera, transition=transition)
    except ValueError as exc:
        raise CaptionParseError(str(exc)) from None


@lru_cache(maxsize=None)
def _zh_patterns() -> dict[str, re.Pattern[str]]:
    colours = _alt(_lookup("colour", "zh"))
    nouns = _alt(_lookup("subject", "zh"))
    counts = _alt(_lookup("count", "zh"))
    subj = rf"(?:{counts})(?:{colours})的(?:{nouns})"
    return {
        "subject": re.compile(rf"(?P<count>{counts})(?P<colour>{colours})的(?P<noun>{nouns})"),
        "static": re.compile(
            rf"画面中有(?P<subjects>{subj}(?:(?:、|和){subj})*)(?:，背景是(?P<scene>{_alt(_lookup('scene', 'zh'))}))?"
        ),
        "style": re.compile(rf"整体呈现(?P<style>{_alt(_lookup('style', 'zh'))})"),
        "transition": re.compile(rf"以(?P<transition>{_alt(_lookup('transition', 'zh'))})转场进入"),
        "change": re.compile(
            rf"主体发生变化|场景切换为(?:{_alt(_lookup('scene', 'zh'))})|风格变为(?:{_alt(_lookup('style', 'zh'))})"
        ),
        "camera": re.compile(
            rf"(?P<a>{_alt(n for n in _lookup('camera', 'zh') if n.startswith('镜头'))})"
            rf"|采用(?P<b>{_alt(_lookup('camera', 'zh'))})"
        ),
        "motion": re.compile(
            rf"(?P<count>{counts})?(?P<colour>{colours})的(?P<noun>{nouns})(?P<motion>{_alt(_lookup('motion', 'zh'))})"
        ),
    }


def _parse_shot_zh(text: str) -> ShotCaption:
    P = _zh_patterns()
    static: list[tuple[str, str, int]] | None = None
    scene = style = camera = transition = None
    moving: list[SubjectCaption] = []
    for sentence in _split_sentences(text, "。"):
        if m := P["static"].fullmatch(sentence):
            if static is not None:
                raise CaptionParseError(f"two subject descriptions in {text!r}")
            if m["scene"]:
                scene = _lookup("scene", "zh")[m["scene"]]
            static = [
                (_lookup("subject", "zh")[s["noun"]], _lookup("colour", "zh")[s["colour"]],
                 int(_lookup("count", "zh")[s["count"]]))
                for s in P["subject"].finditer(m["subjects"])
            ]
        elif m := P["style"].fullmatch(sentence):
            style = _lookup("style", "zh")[m["style"]]
        elif m := P["transition"].fullmatch(sentence):
            transition = _lookup("transition", "zh")[m["transition"]]
        elif P["change"].fullmatch(sentence):
            continue
        elif m := P["camera"].fullmatch(sentence):
            camera = _lookup("camera", "zh")[m["a"] or m["b"]]
        elif m := P["motion"].fullmatch(sentence):
            n = int(_lookup("count", "zh")[m["count"]]) if m["count"] else 1
            moving.append(
                SubjectCaption(_lookup("subject", "zh")[m["noun"]], _lookup("colour", "zh")[m["colour"]], n,
                               _lookup("motion", "zh")[m["motion"]])
            )
        else:
            raise CaptionParseError(f"unrecognised caption sentence: {sentence!r}")
    return _assemble(static, moving, scene, style, camera, transition, text)


_SHOT_SPLIT = re.compile(r"\s*\[SHOT (\d+)\]\s*")


def split_shots(text: str) -> list[str]:
    """Split a rendered multi-shot caption at its markers; a text without markers is one shot."""
    text = text.strip()
    if not text.startswith("[SHOT "):
        return [text]
    pieces = _SHOT_SPLIT.split(text)
    # pieces: ["", "1", body1, "2", body2, ...]
    if pieces[0].strip():
        raise CaptionParseError(f"text before the first shot marker: {pieces[0]!r}")
    bodies = []
    for i in range(1, len(pieces), 2):
        if int(pieces[i]) != len(bodies) + 1:
            raise CaptionParseError(f"shot markers out of order: got [SHOT {pieces[i]}] after {len(bodies)} shots")
        body = pieces[i + 1].strip()
        is_last = i + 2 >= len(pieces)
        if not is_last:
            if not body.endswith(CUT_MARKER):
                raise CaptionParseError(f"shot {len(bodies) + 1} does not end with {CUT_MARKER}")
            body = body[: -len(CUT_MARKER)].strip()
        bodies.append(body)
    return bodies


def parse_caption(text: str, lang: Lang = "en") -> DenseCaption:
    """Recover the attributes from a rendered caption (exact inverse of `render_caption`)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if not text or not text.strip():
        raise CaptionParseError("empty caption")
    parse_shot = _parse_shot_en if lang == "en" else _parse_shot_zh
    shots = [parse_shot(body) for body in split_shots(text)]
    try:
        return DenseCaption(tuple(shots))
    except ValueError as exc:
        raise CaptionParseError(str(exc)) from None


def parse_shot(text: str, lang: Lang = "en") -> ShotCaption:
    """Parse one shot's text (no markers); `transition` may be set (the shot is not first)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return _parse_shot_en(text) if lang == "en" else _parse_shot_zh(text)


__all__ = [
    "CUT_MARKER",
    "CaptionParseError",
    "DenseCaption",
    "FORMS",
    "LANGS",
    "SHOT_MARKER",
    "ShotCaption",
    "SubjectCaption",
    "parse_caption",
    "parse_shot",
    "render_caption",
    "render_shot",
    "render_shots",
    "split_shots",
]


def zh_lexicon() -> list[str]:
    """Phrases a Chinese caption is segmented into: vocabulary names plus the grammar's fixed words."""
    names = [t.zh for terms in V.VOCABULARY.values() for t in terms]
    fixed = ["画面中有", "背景是", "整体呈现", "转场进入", "主体发生变化", "场景切换为", "风格变为", "采用", "的"]
    return sorted(set(names + fixed))


def en_lexicon() -> list[str]:
    """Multi-word English phrases a caption is tokenized into: vocabulary names (and the plural verb forms
    of motions) plus the grammar's fixed phrases, so "moves to the left" is one token, not four."""
    names = [t.en for terms in V.VOCABULARY.values() for t in terms]
    names += [_plural_verb(t.en) for t in V.MOTIONS]
    fixed = ["The visual style is", "The shot is filmed with", "The shot opens with", "The subjects change",
             "The scene changes to", "The visual style changes to"]
    return sorted({p for p in names + fixed if " " in p})
