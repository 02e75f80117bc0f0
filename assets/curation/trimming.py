"""Shot-level filter verdicts inside a clip, and the runs of passing shots a clip is cut down to.

A clip holds up to `max_shots_per_clip` consecutive shots. Judged as a whole, its worst shot decides,
so one blurred or dark shot used to drop its good neighbours too: on the tiny world 45 of 78 clips
went, most of them for a single failing shot. Here every shot gets its own verdict. A clip whose
shots all pass is kept whole; otherwise each run of consecutive passing shots at least `min_frames`
long becomes a clip of its own (cut frame-exactly from the clip file), and the rest is dropped with
the shots' own reasons and scores. A clip with no such run is dropped whole, as before.

Pure functions over plain data: `run_filtered` (stages.py) computes the scores, writes the cuts
and keeps the manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # workers import curation modules; settings pull in Dagster via resources.params
    from assets.curation.settings import CurationSettings

# Shots shorter than this (a flash between two cuts) say too little about blur, motion or light to
# fail on them, as `clips.clip_stats` treats them; safety still applies to every frame.
MIN_WEIGHTY_FRAMES = 3
REASON_ORDER = ("blur", "jitter", "static", "low_light", "low_aesthetic", "unsafe")


@dataclass(frozen=True)
class ShotVerdict:
    position: int  # shot number inside the clip (0 = first)
    start: int  # frames relative to the clip start, [start, end)
    end: int
    reasons: tuple[str, ...]  # empty = the shot passes every filter
    scores: dict[str, float] = field(default_factory=dict)
    weighty: bool = True  # long enough for its technical scores to count (MIN_WEIGHTY_FRAMES)


@dataclass(frozen=True)
class Stretch:
    """Consecutive shots of a clip that share a fate: kept as a clip, or dropped for `reasons`."""

    first: int  # shot positions, inclusive
    last: int
    start: int  # frames relative to the clip start, [start, end)
    end: int
    reasons: tuple[str, ...] = ()

    @property
    def kept(self) -> bool:
        return not self.reasons


def shot_reasons(scores: dict[str, float], weighty: bool, s: CurationSettings, safety_configured: bool) -> tuple[str, ...]:
    """Why one shot fails, in REASON_ORDER; `scores` holds blur, jitter, change, luminance, aesthetic, safety."""
    out = []
    if weighty:
        if scores["blur"] < s.blur_threshold:
            out.append("blur")
        if scores["jitter"] > s.jitter_threshold:
            out.append("jitter")
        if scores["change"] < s.static_threshold:
            out.append("static")
        if scores["luminance"] < s.low_light_threshold:
            out.append("low_light")
        if scores["aesthetic"] < s.aesthetic_threshold:
            out.append("low_aesthetic")
    if safety_configured and scores["safety"] >= s.safety_threshold:
        out.append("unsafe")
    return tuple(out)


def stretches(verdicts: list[ShotVerdict], min_frames: int) -> list[Stretch]:
    """The clip cut into kept runs and dropped pieces, covering every frame exactly once, in time order.

    Each failing shot is its own dropped piece (its reasons are its own); a run of passing shots shorter
    than `min_frames` is dropped as "too_short", as segmentation drops short remnants.
    """
    out: list[Stretch] = []
    run: list[ShotVerdict] = []

    def close_run() -> None:
        if run:
            ok = run[-1].end - run[0].start >= min_frames
            out.append(Stretch(run[0].position, run[-1].position, run[0].start, run[-1].end, () if ok else ("too_short",)))
            run.clear()

    for v in verdicts:
        if v.reasons:
            close_run()
            out.append(Stretch(v.position, v.position, v.start, v.end, v.reasons))
        else:
            run.append(v)
    close_run()
    return out


def union_reasons(verdicts: list[ShotVerdict]) -> list[str]:
    """Every reason any shot of the clip fails for, in REASON_ORDER (a clip dropped whole)."""
    seen = {r for v in verdicts for r in v.reasons}
    return [r for r in REASON_ORDER if r in seen]
