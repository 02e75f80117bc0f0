"""The plan of the synthetic world: what every video and shot contains, before any pixel exists.

Public API
- `SubjectSpec(subject, colour, motion)`: one drawn subject (keys from `vocabulary`).
- `ShotSpec`: everything one shot shows (subjects, camera, scene, style, n_frames, defects, overlay with
  its box as fractions of the frame, unsafe flag, near-duplicate group and variant, seeds).
  `shot.overlay_pixels(height, width)` gives the overlay box in pixels (x0, y0, x1, y1; x1/y1 exclusive).
- `Transition(kind, n_frames)`: how shot i+1 enters after shot i ("cut" = 0 frames, "dissolve"/"fade"
  = the two shots overlap by n_frames; a fade goes through black inside the overlap).
- `VideoSpec(video_id, fps, height, width, crf, shots, transitions)`, with `shot_spans()` giving each
  shot's [start, end) frame range in the video and `n_frames` the decoded length:
  n_frames = sum(shot.n_frames) - sum(t.n_frames for t in transitions).
- `make_shot(**attrs)`: a labelled shot with defaults, for rendering single shots on the fly.
- `sample_shot(rng, settings, n_frames=None)`: one shot drawn from the world's distributions.
- `plan_world(settings) -> list[VideoSpec]`: the whole world, deterministic and pure.

Conventions: `static` in `defects` means nothing moves (all motions "still", camera "static", frozen
noise); `unsafe` in `defects` iff `shot.unsafe`. Overlays are separate (`overlay` in OVERLAYS or "none").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from assets.common.seeding import stable_seed  # noqa: F401  (re-exported for render)
from assets.sourcing.world import vocabulary as V

if TYPE_CHECKING:  # settings imports the preset machinery; the plan only reads attributes from it
    from assets.sourcing.world.settings import WorldSettings

NO_OVERLAY = "none"
DUP_VARIANTS: tuple[str, ...] = ("noise", "crop", "resolution")


@dataclass(frozen=True)
class SubjectSpec:
    subject: str
    colour: str
    motion: str

    def __post_init__(self) -> None:
        V.term("subject", self.subject)
        V.term("colour", self.colour)
        V.term("motion", self.motion)


@dataclass(frozen=True)
class ShotSpec:
    subjects: tuple[SubjectSpec, ...]
    camera: str = "static"
    scene: str = "sky"
    style: str = "natural"
    n_frames: int = 24
    defects: tuple[str, ...] = ()
    overlay: str = NO_OVERLAY
    # Overlay box as fractions of the frame (x0, y0, x1, y1); (0, 0, 0, 0) without overlay.
    overlay_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    overlay_text: str = ""  # glyph text of subtitles / tickers, the watermark's letters
    unsafe: bool = False
    dup_group: int | None = None  # near-duplicate group id shared by an original and its copies
    dup_variant: str = "original"  # "original" or one of DUP_VARIANTS for a copy
    seed: int = 0  # content seed: scene layout, subject placement, overlay style
    noise_seed: int = 0  # sensor noise and jitter; differs between near-duplicate copies
    noise_sigma: float = 2.0
    crop: float = 1.0  # < 1: a centre crop of this fraction, rescaled back (near-duplicate variant)
    resample: float = 1.0  # < 1: downscaled to this scale and upscaled back (near-duplicate variant)

    def __post_init__(self) -> None:
        if not 1 <= len(self.subjects) <= 3:
            raise ValueError(f"a shot has 1-3 subjects, got {len(self.subjects)}")
        V.term("camera", self.camera)
        V.term("scene", self.scene)
        V.term("style", self.style)
        for d in self.defects:
            if d not in V.DEFECTS:
                raise ValueError(f"unknown defect {d!r}; known: {V.DEFECTS}")
        if self.overlay != NO_OVERLAY and self.overlay not in V.OVERLAYS:
            raise ValueError(f"unknown overlay {self.overlay!r}; known: {V.OVERLAYS} or 'none'")
        if self.n_frames < 1:
            raise ValueError("n_frames must be >= 1")
        if self.unsafe != ("unsafe" in self.defects):
            raise ValueError("unsafe flag and 'unsafe' in defects must agree")
        if "static" in self.defects and (
            self.camera != "static" or any(s.motion != "still" for s in self.subjects)
        ):
            raise ValueError("a static shot needs camera 'static' and all motions 'still'")

    @property
    def count(self) -> int:
        return len(self.subjects)

    @property
    def static_content(self) -> bool:
        """Nothing in the picture moves: what the curation's static-content filter must find.

        A frozen shot (`static` defect) is one case. The other is a live shot whose camera is static, whose
        subjects all stand still, in a scene without living parts (only the ocean's waves move), with no
        flashing hazard emblem and no jitter: such a shot differs from a frozen one only in its sensor
        noise, which the H.264 encode mostly discards, and it is just as useless for learning motion.
        Overlays are not content (the rectifying crop removes them), so a scrolling ticker does not count."""
        if "static" in self.defects:
            return True
        return (
            self.camera == "static" and all(s.motion == "still" for s in self.subjects)
            and self.scene not in V.LIVING_SCENES and not self.unsafe and "jitter" not in self.defects
        )

    def overlay_pixels(self, height: int, width: int) -> tuple[int, int, int, int] | None:
        """Overlay box in pixels (x0, y0, x1, y1), x1/y1 exclusive; None without overlay."""
        if self.overlay == NO_OVERLAY:
            return None
        fx0, fy0, fx1, fy1 = self.overlay_box
        x0, x1 = int(round(fx0 * width)), int(round(fx1 * width))
        y0, y1 = int(round(fy0 * height)), int(round(fy1 * height))
        return max(0, x0), max(0, y0), min(width, max(x1, x0 + 1)), min(height, max(y1, y0 + 1))


@dataclass(frozen=True)
class Transition:
    kind: str  # "cut" | "dissolve" | "fade"
    n_frames: int = 0  # overlap of the two shots; 0 for a cut

    def __post_init__(self) -> None:
        V.term("transition", self.kind)
        if (self.kind == "cut") != (self.n_frames == 0):
            raise ValueError("a cut has 0 overlap frames, dissolves and fades have > 0")


@dataclass(frozen=True)
class VideoSpec:
    video_id: str
    fps: int
    height: int
    width: int
    shots: tuple[ShotSpec, ...]
    transitions: tuple[Transition, ...] = ()  # len(shots) - 1: transitions[i] joins shot i and i+1
    crf: int = 23

    def __post_init__(self) -> None:
        if len(self.transitions) != len(self.shots) - 1:
            raise ValueError("a video needs exactly len(shots) - 1 transitions")
        for i, t in enumerate(self.transitions):
            limit = min(self.shots[i].n_frames, self.shots[i + 1].n_frames) // 2
            if t.n_frames > limit:
                raise ValueError(f"transition {i} overlaps {t.n_frames} frames, more than half a shot")

    def shot_spans(self) -> list[tuple[int, int]]:
        """[start, end) of each shot in video frames; consecutive shots overlap by the transition."""
        spans, start = [], 0
        for i, shot in enumerate(self.shots):
            if i > 0:
                start -= self.transitions[i - 1].n_frames
            spans.append((start, start + shot.n_frames))
            start += shot.n_frames
        return spans

    @property
    def n_frames(self) -> int:
        return sum(s.n_frames for s in self.shots) - sum(t.n_frames for t in self.transitions)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps


# ----------------------------------------------------------------------------------------------
# Constructors


def make_shot(
    subject: str = "circle",
    colour: str = "red",
    motion: str = "still",
    count: int = 1,
    subjects: Iterable[SubjectSpec | Sequence[str]] | None = None,
    **attrs: Any,
) -> ShotSpec:
    """A labelled shot with defaults: `make_shot(subject="fish", colour="red", motion="left",
    camera="pan_right", n_frames=24)`. `subjects=[("fish", "red", "left"), ("star", "blue", "up")]`
    overrides the single-subject shorthand; `count` repeats the shorthand subject.
    Defects "static"/"unsafe" are made consistent automatically (static forces still/static)."""
    if subjects is None:
        subs = tuple(SubjectSpec(subject, colour, motion) for _ in range(count))
    else:
        subs = tuple(s if isinstance(s, SubjectSpec) else SubjectSpec(*s) for s in subjects)
    defects = tuple(attrs.pop("defects", ()))
    if attrs.pop("unsafe", False) and "unsafe" not in defects:
        defects += ("unsafe",)
    if "static" in defects:
        subs = tuple(replace(s, motion="still") for s in subs)
        attrs["camera"] = "static"
    overlay = attrs.get("overlay", NO_OVERLAY)
    if overlay != NO_OVERLAY and "overlay_box" not in attrs:
        rng = np.random.default_rng(stable_seed("overlay", attrs.get("seed", 0)))
        attrs["overlay_box"], text = _overlay_layout(overlay, rng)
        attrs.setdefault("overlay_text", text)
    attrs.setdefault("noise_seed", stable_seed(attrs.get("seed", 0), "noise"))
    return ShotSpec(subjects=subs, defects=defects, unsafe="unsafe" in defects, **attrs)


def _weights(attribute: str, long_tail: float) -> tuple[list[str], np.ndarray]:
    terms = V.VOCABULARY[attribute]
    w = np.array([t.weight for t in terms], dtype=np.float64) ** long_tail
    return [t.key for t in terms], w / w.sum()


def _draw(rng: np.random.Generator, attribute: str, long_tail: float) -> str:
    keys, p = _weights(attribute, long_tail)
    return keys[int(rng.choice(len(keys), p=p))]


_WORDS = (
    "sun", "day", "news", "live", "sale", "new", "top", "hot", "go", "now", "city", "sea",
    "wind", "play", "best", "free", "more", "time", "win", "star", "fun", "shop", "map", "run",
)


def _overlay_layout(kind: str, rng: np.random.Generator) -> tuple[tuple[float, float, float, float], str]:
    """Box (fractions of the frame) and glyph text of one overlay."""
    if kind == "watermark":  # a small logo in one corner
        w, h = float(rng.uniform(0.16, 0.24)), float(rng.uniform(0.10, 0.14))
        corner = int(rng.integers(4))
        x0 = 0.03 if corner in (0, 2) else 0.97 - w
        y0 = 0.04 if corner in (0, 1) else 0.96 - h
        text = "".join(rng.choice(list("ABCDEFGHKMNPRSTVWXYZ"), size=2))
        return (x0, y0, x0 + w, y0 + h), text
    words = " ".join(rng.choice(_WORDS, size=12 if kind == "ticker" else 6))
    if kind == "subtitle":  # a centred dark bar low in the frame with changing captions
        w = float(rng.uniform(0.6, 0.8))
        return ((1 - w) / 2, 0.80, (1 + w) / 2, 0.93), words
    if kind == "ticker":  # a full-width band at the bottom, text scrolling right to left
        return (0.0, 0.88, 1.0, 1.0), words
    raise ValueError(f"unknown overlay {kind!r}")


def sample_shot(
    rng: np.random.Generator, settings: WorldSettings, n_frames: int | None = None, seed: int | None = None
) -> ShotSpec:
    """One shot drawn from the world's long-tail distributions and defect/overlay rates."""
    s = settings
    if n_frames is None:
        n_frames = max(1, int(round(rng.uniform(s.min_shot_s, s.max_shot_s) * s.fps)))
    seed = int(rng.integers(2**62)) if seed is None else seed
    n = int(rng.integers(1, s.max_subjects + 1))
    first = SubjectSpec(_draw(rng, "subject", s.long_tail), _draw(rng, "colour", s.long_tail),
                        _draw(rng, "motion", s.long_tail))
    subjects = [first]
    for _ in range(n - 1):
        if rng.random() < s.same_subject_rate:
            subjects.append(first)
        else:
            subjects.append(SubjectSpec(_draw(rng, "subject", s.long_tail),
                                        _draw(rng, "colour", s.long_tail), _draw(rng, "motion", s.long_tail)))
    camera = _draw(rng, "camera", s.long_tail)
    scene = _draw(rng, "scene", s.long_tail)
    style = _draw(rng, "style", s.long_tail)
    # Every rate is drawn whether or not it applies, so one knob never shifts the others' draws.
    u = rng.random(5)
    defects: list[str] = []
    static = u[2] < s.static_rate
    if u[0] < s.blur_rate:
        defects.append("blur")
    if u[1] < s.jitter_rate and not static:
        defects.append("jitter")
    if static:
        defects.append("static")
    if u[3] < s.low_light_rate:
        defects.append("low_light")
    if u[4] < s.unsafe_rate:
        defects.append("unsafe")
    o = rng.random()
    overlay, box, text = NO_OVERLAY, (0.0, 0.0, 0.0, 0.0), ""
    for kind, rate in (("watermark", s.watermark_rate), ("subtitle", s.subtitle_rate), ("ticker", s.ticker_rate)):
        if o < rate:
            overlay = kind
            box, text = _overlay_layout(kind, rng)
            break
        o -= rate
    if static:
        subjects = [replace(x, motion="still") for x in subjects]
        camera = "static"
    return ShotSpec(
        subjects=tuple(subjects), camera=camera, scene=scene, style=style, n_frames=n_frames,
        defects=tuple(defects), overlay=overlay, overlay_box=box, overlay_text=text,
        unsafe="unsafe" in defects, seed=seed, noise_seed=stable_seed(seed, "noise"),
        noise_sigma=s.noise_sigma,
    )


# ----------------------------------------------------------------------------------------------
# The world plan


def _video_size(rng: np.random.Generator, s: WorldSettings) -> tuple[int, int]:
    u = rng.random()
    if u < s.portrait_rate:
        return s.width, s.height
    if u < s.portrait_rate + s.square_rate:
        return s.height, s.height
    return s.height, s.width


def _transition(rng: np.random.Generator, s: WorldSettings, a: ShotSpec, b: ShotSpec) -> Transition:
    u = rng.random()
    length = max(2, int(round(s.transition_s * s.fps)))
    length = min(length, min(a.n_frames, b.n_frames) // 2)
    if length < 2:
        return Transition("cut", 0)
    if u < s.dissolve_rate:
        return Transition("dissolve", length)
    if u < s.dissolve_rate + s.fade_rate:
        return Transition("fade", length)
    return Transition("cut", 0)


@dataclass
class _Draft:  # a video being planned (mutable until the duplicate pass is done)
    video_id: str
    height: int
    width: int
    crf: int
    shots: list[ShotSpec] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)


def plan_world(settings: WorldSettings) -> list[VideoSpec]:
    """Every video of the world, deterministic in `settings` (each video has its own seeded stream,
    so adding videos never changes the earlier ones; near-duplicates are a second seeded pass)."""
    s = settings
    drafts: list[_Draft] = []
    for i in range(s.n_videos):
        video_id = f"w{i:04d}"
        rng = np.random.default_rng(stable_seed(s.seed, "video", video_id))
        height, width = _video_size(rng, s)
        crf = int(rng.integers(s.crf_min, s.crf_max + 1))
        target = int(round(rng.uniform(s.min_duration_s, s.max_duration_s) * s.fps))
        d = _Draft(video_id, height, width, crf)
        total = 0  # frames of the video so far
        min_shot = max(2, int(round(s.min_shot_s * s.fps)))
        while total < target:
            shot = sample_shot(rng, s, seed=stable_seed(s.seed, video_id, len(d.shots)))
            t = _transition(rng, s, d.shots[-1], shot) if d.shots else None
            overlap = t.n_frames if t else 0
            if target - total - (shot.n_frames - overlap) < min_shot:
                # The last shot takes what is left, so the video hits its drawn length.
                shot = replace(shot, n_frames=target - total + overlap)
                if t is not None and overlap > min(d.shots[-1].n_frames, shot.n_frames) // 2:
                    t, overlap = Transition("cut", 0), 0
                    shot = replace(shot, n_frames=target - total)
            if t is not None:
                d.transitions.append(t)
            d.shots.append(shot)
            total += shot.n_frames - overlap
        drafts.append(d)
    _add_duplicates(drafts, s)
    return [
        VideoSpec(d.video_id, s.fps, d.height, d.width, tuple(d.shots), tuple(d.transitions), d.crf)
        for d in drafts
    ]


def _add_duplicates(drafts: list[_Draft], s: WorldSettings) -> None:
    """Replace some shots with near-duplicate re-renders of an earlier shot of another video with the
    same frame size. Group ids are assigned in order of first use."""
    rng = np.random.default_rng(stable_seed(s.seed, "duplicates"))
    groups: dict[tuple[int, int], int] = {}  # (video, shot) of an original -> group id
    for vi, d in enumerate(drafts):
        for si in range(len(d.shots)):
            u = rng.random()
            pick = rng.random()
            variant = DUP_VARIANTS[int(rng.integers(len(DUP_VARIANTS)))]
            amount = float(rng.uniform(0.75, 0.9))
            noise_seed = int(rng.integers(2**62))
            if u >= s.duplicate_rate or d.shots[si].dup_group is not None:
                continue
            sources = [
                (vj, sj) for vj in range(vi) for sj, shot in enumerate(drafts[vj].shots)
                if (drafts[vj].height, drafts[vj].width) == (d.height, d.width)
                and shot.dup_variant == "original"
            ]
            if not sources:
                continue
            vj, sj = sources[int(pick * len(sources))]
            original = drafts[vj].shots[sj]
            if not _fits(d, si, original.n_frames):
                continue
            gid = groups.setdefault((vj, sj), len(groups))
            drafts[vj].shots[sj] = original = replace(original, dup_group=gid)
            copy = replace(
                original, dup_variant=variant, noise_seed=noise_seed,
                noise_sigma=original.noise_sigma * (1.0 + 2.0 * rng.random()) if variant == "noise" else original.noise_sigma,
                crop=amount if variant == "crop" else 1.0,
                resample=amount * 0.6 if variant == "resolution" else 1.0,
            )
            d.shots[si] = copy


def _fits(d: _Draft, si: int, n_frames: int) -> bool:
    """Whether shot si can take n_frames without breaking its transitions' overlap limits."""
    for t in (d.transitions[si - 1] if si > 0 else None, d.transitions[si] if si < len(d.transitions) else None):
        if t is not None and t.n_frames > n_frames // 2:
            return False
    return True


def shot_rows(videos: Sequence[VideoSpec]) -> Iterable[tuple[VideoSpec, int, ShotSpec, int, int]]:
    """(video, shot_index, shot, start_frame, end_frame) for every shot of the world."""
    for v in videos:
        for k, (shot, (a, b)) in enumerate(zip(v.shots, v.shot_spans(), strict=True)):
            yield v, k, shot, a, b
