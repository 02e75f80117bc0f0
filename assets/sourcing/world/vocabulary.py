"""The declared vocabulary of the synthetic world, with English and Chinese names.

Every attribute a shot can carry is listed here once. The generator draws from it, the captions render
it, the judges recognise it and the benchmark prompts are written in it, so all of them agree on the
same closed set of names. `weight` gives the long-tail prior the generator samples with: head
categories are ten or more times more frequent than tail ones, so rebalancing has something to fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    key: str  # stable identifier used in tables and checkpoints
    en: str  # English name as it appears in captions
    zh: str  # Chinese name as it appears in captions
    weight: float = 1.0  # sampling prior (long tail)


# Subjects: shapes and simple creatures, drawn procedurally.
SUBJECTS: tuple[Term, ...] = (
    Term("circle", "circle", "圆形", 10.0),
    Term("square", "square", "方块", 6.0),
    Term("triangle", "triangle", "三角形", 4.0),
    Term("star", "star", "星星", 2.0),
    Term("fish", "fish", "鱼", 1.5),
    Term("bird", "bird", "鸟", 1.0),
    Term("ring", "ring", "圆环", 0.8),
    Term("cross", "cross", "十字", 0.6),
)

# Colours with their RGB values (0-255).
COLOURS: tuple[Term, ...] = (
    Term("red", "red", "红色", 8.0),
    Term("blue", "blue", "蓝色", 6.0),
    Term("green", "green", "绿色", 4.0),
    Term("yellow", "yellow", "黄色", 3.0),
    Term("white", "white", "白色", 2.0),
    Term("purple", "purple", "紫色", 1.0),
    Term("orange", "orange", "橙色", 0.8),
)
COLOUR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "blue": (40, 80, 230),
    "green": (40, 190, 70),
    "yellow": (240, 220, 40),
    "white": (245, 245, 245),
    "purple": (150, 60, 200),
    "orange": (250, 140, 30),
}

# Subject motions within a shot.
MOTIONS: tuple[Term, ...] = (
    Term("left", "moves to the left", "向左移动", 6.0),
    Term("right", "moves to the right", "向右移动", 6.0),
    Term("up", "moves up", "向上移动", 2.0),
    Term("down", "moves down", "向下移动", 2.0),
    Term("orbit", "orbits around the centre", "绕中心旋转运动", 1.0),
    Term("bounce", "bounces", "上下弹跳", 1.5),
    Term("grow", "grows larger", "逐渐变大", 1.0),
    Term("shrink", "shrinks", "逐渐缩小", 0.8),
    Term("rotate", "rotates in place", "原地旋转", 1.2),
    Term("still", "stays still", "保持静止", 3.0),
)

# Camera moves of a shot.
CAMERAS: tuple[Term, ...] = (
    Term("static", "static camera", "固定镜头", 10.0),
    Term("pan_left", "camera pans left", "镜头向左平移", 2.0),
    Term("pan_right", "camera pans right", "镜头向右平移", 2.0),
    Term("tilt_up", "camera tilts up", "镜头向上摇", 1.0),
    Term("tilt_down", "camera tilts down", "镜头向下摇", 1.0),
    Term("zoom_in", "camera zooms in", "镜头推近", 1.5),
    Term("zoom_out", "camera zooms out", "镜头拉远", 1.0),
    Term("shake", "handheld shaking camera", "手持晃动镜头", 0.6),
)

# Scenes: procedural backgrounds.
SCENES: tuple[Term, ...] = (
    Term("sky", "a sky gradient", "渐变天空", 8.0),
    Term("grass", "a grassy field", "草地", 5.0),
    Term("city", "a city skyline", "城市天际线", 3.0),
    Term("ocean", "an ocean with waves", "海浪", 1.5),
    Term("desert", "a sandy desert", "沙漠", 0.8),
    Term("night", "a starry night", "星空夜晚", 0.6),
)
# Scenes with parts that move by themselves (`scenes.animate_scene`): the ocean's waves.
LIVING_SCENES = frozenset({"ocean"})

# Global styles applied to the rendered frame.
STYLES: tuple[Term, ...] = (
    Term("natural", "natural colours", "自然风格", 12.0),
    Term("bw", "black-and-white", "黑白风格", 2.0),
    Term("neon", "neon glow", "霓虹风格", 1.5),
    Term("pastel", "soft pastel tones", "柔和粉彩风格", 1.0),
    Term("ink", "ink-wash painting", "水墨画风格", 0.8),
    Term("retro", "retro film look", "复古胶片风格", 0.8),
)

# Transitions between consecutive shots of a raw video.
TRANSITIONS: tuple[Term, ...] = (
    Term("cut", "hard cut", "硬切", 8.0),
    Term("dissolve", "dissolve", "叠化", 1.0),
    Term("fade", "fade through black", "淡出淡入", 1.0),
)

# Defects the world injects, each with a label in the ground truth.
DEFECTS: tuple[str, ...] = ("blur", "jitter", "static", "low_light", "unsafe")
OVERLAYS: tuple[str, ...] = ("watermark", "subtitle", "ticker")

# Number words for counts of subjects (1-3 per shot).
COUNTS: tuple[Term, ...] = (
    Term("1", "one", "一个"),
    Term("2", "two", "两个"),
    Term("3", "three", "三个"),
)

VOCABULARY: dict[str, tuple[Term, ...]] = {
    "subject": SUBJECTS,
    "colour": COLOURS,
    "motion": MOTIONS,
    "camera": CAMERAS,
    "scene": SCENES,
    "style": STYLES,
    "transition": TRANSITIONS,
    "count": COUNTS,
}


def keys(attribute: str) -> list[str]:
    """Stable keys of one attribute, in declaration order (the label index used by classifiers)."""
    return [t.key for t in VOCABULARY[attribute]]


def term(attribute: str, key: str) -> Term:
    for t in VOCABULARY[attribute]:
        if t.key == key:
            return t
    raise KeyError(f"unknown {attribute} {key!r}; known: {keys(attribute)}")
