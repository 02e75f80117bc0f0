"""Synthesised prompt-engineering data: terse user prompts paired with their dense captions (report 2.4).

The report synthesises "large amount of user prompts and their dense caption expression" and treats
text-to-video and image-to-video prompts apart, "as they are different in user prompt styles". Here the
ground truth is a sampled shot of the synthetic world's vocabulary:

- t2v: the user names the subjects (appearance + motion) and perhaps a scene, camera or style, in a
  casual phrasing; the target is the *long* dense caption of the full shot. Attributes the user left
  open are filled in by the target (the rewrite adds detail, as a real PE does), so only the attributes
  the user *stated* are held against the rewrite.
- i2v: the image already shows appearance and scene, so the user only says what moves and how the
  camera moves; the target is the *short* (motion-only) caption.

User phrasings deliberately differ from caption wording ("going left" vs "moves to the left",
"往左走" vs "向左移动"), so the model must rewrite, not copy.

DPO pairs (report: "pairs with correct and incorrect rephrased results"): chosen = the correct caption,
rejected = a hallucinated one: a stated attribute swapped for another vocabulary value, or an invented
extra subject. `evaluation.py` later finds the SFT model's own hallucinations, which become pairs too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Literal

from assets.captioning.schema import DenseCaption, ShotCaption, SubjectCaption, render_caption
from assets.sourcing.world import vocabulary as V

Task = Literal["t2v", "i2v"]
TASKS: tuple[str, ...] = ("t2v", "i2v")
LANGS: tuple[str, ...] = ("en", "zh")

# --- user phrasings (not the caption's words) ----------------------------------------------------------

MOTION_EN: dict[str, tuple[str, ...]] = {
    "left": ("going left", "moving left", "sliding to the left"),
    "right": ("going right", "moving right", "sliding to the right"),
    "up": ("rising", "moving upwards"),
    "down": ("sinking", "moving downwards"),
    "orbit": ("circling the middle", "orbiting the centre"),
    "bounce": ("bouncing", "hopping up and down"),
    "grow": ("getting bigger", "growing"),
    "shrink": ("getting smaller", "shrinking"),
    "rotate": ("spinning", "turning in place"),
    "still": ("standing still", "not moving"),
}
MOTION_ZH: dict[str, tuple[str, ...]] = {
    "left": ("往左走", "向左滑动", "向左移"),
    "right": ("往右走", "向右滑动", "向右移"),
    "up": ("往上升", "向上飘"),
    "down": ("往下落", "向下沉"),
    "orbit": ("绕着中心转圈", "围着中间转"),
    "bounce": ("弹来弹去", "上下跳"),
    "grow": ("慢慢变大", "越来越大"),
    "shrink": ("慢慢变小", "越来越小"),
    "rotate": ("原地打转", "自己转圈"),
    "still": ("一动不动", "静止不动"),
}
CAMERA_EN: dict[str, tuple[str, ...]] = {
    "static": ("locked-off camera", "tripod shot"),
    "pan_left": ("pan left", "camera sweeps left"),
    "pan_right": ("pan right", "camera sweeps right"),
    "tilt_up": ("tilt up", "camera looks up"),
    "tilt_down": ("tilt down", "camera looks down"),
    "zoom_in": ("zoom in", "push in"),
    "zoom_out": ("zoom out", "pull back"),
    "shake": ("shaky handheld", "handheld cam"),
}
CAMERA_ZH: dict[str, tuple[str, ...]] = {
    "static": ("机位不动", "三脚架拍摄"),
    "pan_left": ("镜头左移", "向左摇镜"),
    "pan_right": ("镜头右移", "向右摇镜"),
    "tilt_up": ("镜头上摇", "往上摇"),
    "tilt_down": ("镜头下摇", "往下摇"),
    "zoom_in": ("推镜头", "镜头拉近"),
    "zoom_out": ("拉镜头", "镜头后退"),
    "shake": ("手持拍摄", "镜头晃动"),
}
SCENE_EN: dict[str, tuple[str, ...]] = {
    "sky": ("in the sky", "sky background"),
    "grass": ("on the grass", "on a meadow"),
    "city": ("in the city", "city background"),
    "ocean": ("by the sea", "over the waves"),
    "desert": ("in the desert", "on sand dunes"),
    "night": ("under the stars", "at night"),
}
SCENE_ZH: dict[str, tuple[str, ...]] = {
    "sky": ("在天上", "天空背景"),
    "grass": ("在草地上", "草坪背景"),
    "city": ("在城市里", "城市背景"),
    "ocean": ("在海边", "海面背景"),
    "desert": ("在沙漠里", "沙丘背景"),
    "night": ("在星空下", "夜晚背景"),
}
STYLE_EN: dict[str, tuple[str, ...]] = {
    "natural": ("realistic", "natural look"),
    "bw": ("black and white", "monochrome"),
    "neon": ("neon", "glowing neon style"),
    "pastel": ("pastel", "soft pastel look"),
    "ink": ("ink painting style", "chinese ink style"),
    "retro": ("vintage film", "retro look"),
}
STYLE_ZH: dict[str, tuple[str, ...]] = {
    "natural": ("写实", "自然风"),
    "bw": ("黑白", "黑白片"),
    "neon": ("霓虹", "霓虹灯风"),
    "pastel": ("粉彩", "马卡龙色调"),
    "ink": ("水墨", "国画风"),
    "retro": ("复古", "老电影感"),
}
_PHRASES = {
    ("motion", "en"): MOTION_EN, ("motion", "zh"): MOTION_ZH,
    ("camera", "en"): CAMERA_EN, ("camera", "zh"): CAMERA_ZH,
    ("scene", "en"): SCENE_EN, ("scene", "zh"): SCENE_ZH,
    ("style", "en"): STYLE_EN, ("style", "zh"): STYLE_ZH,
}


def _phrase(rng: random.Random, attribute: str, key: str, lang: str) -> str:
    return rng.choice(_PHRASES[(attribute, lang)][key])


def _plural_en(noun: str) -> str:
    if noun == "fish":
        return noun
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


def _subject_en(s: SubjectCaption, definite: bool) -> str:
    colour, noun = V.term("colour", s.colour).en, V.term("subject", s.subject).en
    if s.count == 1:
        return f"{'the' if definite else ('an' if colour[0] in 'aeiou' else 'a')} {colour} {noun}"
    return f"{'the ' if definite else ''}{V.term('count', str(s.count)).en} {colour} {_plural_en(noun)}"


def _subject_zh(s: SubjectCaption, rng: random.Random) -> str:
    colour, noun = V.term("colour", s.colour).zh, V.term("subject", s.subject).zh
    count = V.term("count", str(s.count)).zh
    return rng.choice((f"{count}{colour}的{noun}", f"{count}{colour}{noun}"))


# --- ground truth sampling ----------------------------------------------------------------------------


def _draw(rng: random.Random, attribute: str, uniform: bool, exclude: set[str] = frozenset()) -> str:
    terms = [t for t in V.VOCABULARY[attribute] if t.key not in exclude]
    weights = [1.0 if uniform else t.weight for t in terms]
    return rng.choices([t.key for t in terms], weights=weights, k=1)[0]


def sample_shot(rng: random.Random, uniform: bool = False, max_subjects: int = 2) -> ShotCaption:
    """One ground-truth shot. `uniform=False` follows the world's long-tail prior (as user prompts do)."""
    n_subjects = 1 if max_subjects == 1 or rng.random() < 0.75 else 2
    subjects: list[SubjectCaption] = []
    used: set[str] = set()
    for _ in range(n_subjects):
        subject = _draw(rng, "subject", uniform, exclude=used)  # distinct nouns: a caption can name each
        used.add(subject)
        count = rng.choices([1, 2, 3], weights=[6, 2, 1], k=1)[0]
        subjects.append(SubjectCaption(subject, _draw(rng, "colour", uniform), count, _draw(rng, "motion", uniform)))
    return ShotCaption(
        tuple(subjects),
        scene=_draw(rng, "scene", uniform),
        style=_draw(rng, "style", uniform),
        camera=_draw(rng, "camera", uniform),
    )


# --- prompts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptExample:
    task: str  # "t2v" | "i2v"
    lang: str  # "en" | "zh"
    prompt: str  # the terse user prompt
    caption: DenseCaption  # full ground truth of the shot
    target: str  # the dense caption the PE should write (long for t2v, short for i2v)
    stated: frozenset[str] = field(default_factory=frozenset)  # scalar attributes the user named


def _t2v_prompt(shot: ShotCaption, lang: str, rng: random.Random, stated: set[str]) -> str:
    if lang == "en":
        parts = [f"{_subject_en(s, False)} {_phrase(rng, 'motion', s.motion, 'en')}" for s in shot.subjects]
        body = " and ".join(parts)
        extras = [_phrase(rng, a, getattr(shot, a), "en") for a in ("scene", "camera", "style") if a in stated]
        rng.shuffle(extras)
        lead = rng.choice(("", "", "video of ", "show ", "make a clip: "))
        return lead + ", ".join([body, *extras])
    parts = [f"{_subject_zh(s, rng)}{_phrase(rng, 'motion', s.motion, 'zh')}" for s in shot.subjects]
    body = "，".join(parts)
    extras = [_phrase(rng, a, getattr(shot, a), "zh") for a in ("scene", "camera", "style") if a in stated]
    rng.shuffle(extras)
    lead = rng.choice(("", "", "生成视频：", "画面："))
    return lead + "，".join([body, *extras])


def _i2v_prompt(shot: ShotCaption, lang: str, rng: random.Random, stated: set[str]) -> str:
    camera = shot.camera if "camera" in stated else None
    if lang == "en":
        parts = [f"{_subject_en(s, True)} {_phrase(rng, 'motion', s.motion, 'en')}" for s in shot.subjects]
        text = rng.choice(("", "animate it: ", "make ")) + " and ".join(parts)
        return text + (f", {_phrase(rng, 'camera', camera, 'en')}" if camera else "")
    parts = []
    for s in shot.subjects:
        colour, noun = V.term("colour", s.colour).zh, V.term("subject", s.subject).zh
        count = "" if s.count == 1 else V.term("count", str(s.count)).zh
        parts.append(f"{count}{colour}的{noun}{_phrase(rng, 'motion', s.motion, 'zh')}")
    text = rng.choice(("", "让", "图中")) + "，".join(parts)
    return text + (f"，{_phrase(rng, 'camera', camera, 'zh')}" if camera else "")


def make_example(
    shot: ShotCaption, task: str, lang: str, rng: random.Random, stated: frozenset[str] | None = None
) -> PromptExample:
    """Write one user prompt for `shot` and its target caption (`stated`: the scalars the user names;
    drawn at random when None)."""
    if task not in TASKS or lang not in LANGS:
        raise ValueError(f"task must be in {TASKS} and lang in {LANGS}, got {task!r}, {lang!r}")
    if stated is not None:
        stated = set(stated)
    if task == "t2v":
        if stated is None:
            stated = {a for a in ("scene", "camera", "style") if rng.random() < 0.5}
        prompt = _t2v_prompt(shot, lang, rng, stated)
        caption = DenseCaption((shot,))
        target = render_caption(caption, lang, "long")
    else:
        if stated is None:
            stated = {"camera"} if rng.random() < 0.5 else set()
        prompt = _i2v_prompt(shot, lang, rng, stated)
        caption = DenseCaption((replace(shot, scene=None, style=None),))
        target = render_caption(caption, lang, "short")
    return PromptExample(task, lang, prompt, caption, target, frozenset(stated))


def synthesise_examples(
    n: int, seed: int, uniform: bool = False, i2v_fraction: float = 0.3, max_subjects: int = 2
) -> list[PromptExample]:
    """`n` (prompt, dense caption) examples; languages alternate, tasks drawn with `i2v_fraction`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        task = "i2v" if rng.random() < i2v_fraction else "t2v"
        shot = sample_shot(rng, uniform=uniform, max_subjects=max_subjects)
        out.append(make_example(shot, task, LANGS[i % 2], rng))
    return out


# --- hallucinated rewrites for DPO ----------------------------------------------------------------------


def _swap(rng: random.Random, attribute: str, key: str) -> str:
    return rng.choice([k for k in V.keys(attribute) if k != key])


def hallucinate(example: PromptExample, rng: random.Random) -> str:
    """A wrong rewrite of `example`: one stated attribute swapped, or an extra subject invented."""
    shot = example.caption.shots[0]
    options = ["colour", "motion", "subject", "count"] + sorted(example.stated)
    if len(shot.subjects) < 2:
        options.append("invent")
    kind = rng.choice(options)
    i = rng.randrange(len(shot.subjects))
    s = shot.subjects[i]
    if kind in ("scene", "style", "camera"):
        bad = replace(shot, **{kind: _swap(rng, kind, getattr(shot, kind))})
    elif kind == "invent":
        extra = SubjectCaption(
            _swap(rng, "subject", s.subject), _draw(rng, "colour", True), 1, _draw(rng, "motion", True)
        )
        bad = replace(shot, subjects=(*shot.subjects, extra))
    else:
        if kind == "subject":
            taken = {x.subject for x in shot.subjects}
            new = replace(s, subject=rng.choice([k for k in V.keys("subject") if k not in taken]))
        elif kind == "count":
            new = replace(s, count=rng.choice([c for c in (1, 2, 3) if c != s.count]))
        else:
            new = replace(s, **{kind: _swap(rng, kind, getattr(s, kind))})
        bad = replace(shot, subjects=tuple(new if j == i else x for j, x in enumerate(shot.subjects)))
    form = "long" if example.task == "t2v" else "short"
    return render_caption(DenseCaption((bad,)), example.lang, form)


def apply_facts(example: PromptExample, facts: list[tuple]) -> str | None:
    """The correct caption with a model's hallucinated facts written in: a clean, minimal-edit rejection.

    `facts` come from `evaluation.score_rewrite(...).hallucinated`: ("colour"|"count"|"motion", noun, value)
    for a stated subject, ("subject", noun) for a subject the model put in place of the stated one, or
    ("scene"|"style"|"camera", value). Returns None when no fact maps onto the caption.
    """
    shot = example.caption.shots[0]
    subjects = list(shot.subjects)
    scalars: dict[str, str] = {}
    stated = {s.subject for s in subjects}
    changed = False
    for fact in facts:
        kind = fact[0]
        if kind in ("scene", "style", "camera") and getattr(shot, kind) is not None:
            scalars[kind] = fact[1]
            changed = True
        elif kind in ("colour", "count", "motion") and fact[1] in stated:
            i = next(j for j, s in enumerate(subjects) if s.subject == fact[1])
            subjects[i] = replace(subjects[i], **{kind: fact[2]})
            changed = True
        elif kind == "subject" and fact[1] not in stated and len(subjects) == 1:
            subjects[0] = replace(subjects[0], subject=fact[1])  # the model swapped the subject
            stated = {fact[1]}
            changed = True
    if not changed:
        return None
    bad = replace(shot, subjects=tuple(subjects), **scalars)
    if bad == shot:
        return None
    form = "long" if example.task == "t2v" else "short"
    return render_caption(DenseCaption((bad,)), example.lang, form)


def counterfactual(example: PromptExample, fact: tuple, rng: random.Random) -> tuple[PromptExample, tuple] | None:
    """The prompt that *asks for* a hallucinated fact, and the fact that would be wrong there.

    A model that writes "static camera" for "push in" may simply prefer the frequent value. A pair that
    rejects "static" teaches it to avoid "static" everywhere unless the mirror pair (prompt "tripod shot":
    "static" chosen, "zoom in" rejected) is there too; with both, each value is chosen as often as it is
    rejected and only the prompt-to-value mapping is learnable. Returns (mirror example, the original
    value as a fact to write into the mirror's caption), or None when the fact has no mirror.
    """
    shot = example.caption.shots[0]
    subjects = list(shot.subjects)
    kind = fact[0]
    if kind in ("scene", "style", "camera"):
        if kind not in example.stated or getattr(shot, kind) is None:
            return None
        mirror_shot, original = replace(shot, **{kind: fact[1]}), (kind, getattr(shot, kind))
    elif kind in ("colour", "count", "motion"):
        i = next((j for j, s in enumerate(subjects) if s.subject == fact[1]), None)
        if i is None:
            return None
        subjects[i] = replace(subjects[i], **{kind: fact[2]})
        mirror_shot, original = replace(shot, subjects=tuple(subjects)), (kind, fact[1], getattr(shot.subjects[i], kind))
    elif kind == "subject" and len(subjects) == 1 and fact[1] != subjects[0].subject:
        subjects[0] = replace(subjects[0], subject=fact[1])
        mirror_shot, original = replace(shot, subjects=tuple(subjects)), ("subject", shot.subjects[0].subject)
    else:
        return None
    mirror = make_example(mirror_shot, example.task, example.lang, rng, stated=example.stated)
    return mirror, original
