"""A constant-frame-rate view of a decoded video stream (the policy for variable-frame-rate sources).

Curation addresses a video by frame index (cuts, segments, clip ranges) and writes clips at a constant
rate, so index k must mean time k / fps. Phones and screen recorders write variable frame rate (VFR):
frame intervals change (a phone drops to 15 fps in low light) and counting decoded frames drifts away
from the clock. The policy, as ffmpeg's `fps` filter (round=near) does it: resample to the stream's
average rate by presentation time. Slot k (time t0 + k / fps) shows the decoded frame whose timestamp
is nearest to it (ties go to the earlier frame); a frame nearest to no slot is dropped and a frame
nearest to several is repeated. On a constant-rate stream slot k is frame k, so the view is the
identity (same frames, same bytes downstream). The analysis pass and the clip writer both read through
this view, so their frame indices agree. Each slot comes with `fresh`: False when it repeats the frame
of the slot before, which the shot detectors skip (a repeated frame is no motion, then a jump, which
PySceneDetect's adaptive detector would read as a cut). Times are exact fractions, so a constant-rate
stream can never be shifted by a rounding error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import av


@dataclass
class CfrStats:
    """What resampling did to one stream; reported in the shots manifest for VFR sources."""

    decoded: int = 0
    emitted: int = 0
    dropped: int = 0  # decoded frames nearest to no slot (or with a non-increasing timestamp)
    repeated: int = 0  # slots showing the same frame as the slot before
    no_timestamp: int = 0  # frames without a pts (placed one slot after the previous frame)

    @property
    def variable(self) -> bool:
        return bool(self.dropped or self.repeated)


def cfr_frames(frames: Iterable[av.VideoFrame], fps: float | Fraction, stats: CfrStats | None = None,
               max_repeat: int = 1000) -> Iterator[tuple[av.VideoFrame, bool]]:
    """Yield (frame, fresh) for every slot of the constant-rate view of `frames` (see the module docstring).

    `max_repeat` bounds the slots one timestamp gap may fill, so a corrupt pts cannot make the view
    unbounded (the clock jumps ahead instead).
    Times are exact integers in units of 1 / `den` seconds, `den` a multiple of the rate's numerator
    (slot times) and of every time base's denominator seen so far (frame times; a new time base
    rescales the clock): the same comparisons as with fractions, without their cost per frame
    (~20 us a frame in Python's `Fraction`).
    """
    st = stats if stats is not None else CfrStats()
    rate = Fraction(fps).limit_denominator(1_000_000)
    den = rate.numerator
    step = rate.denominator  # slot duration (1 / rate) in units
    tb_seen: Fraction | None = None
    tb_units = 0  # the time base in units: tb * den, an integer
    t0: int | None = None
    k = 0  # next slot to fill; slot k is at time k * step (relative to the first frame)
    prev: av.VideoFrame | None = None
    t_prev, prev_shown = 0, False

    def emit(f: av.VideoFrame, shown: bool) -> tuple[av.VideoFrame, bool]:
        st.emitted += 1
        st.repeated += shown
        return f, not shown

    for frame in frames:
        st.decoded += 1
        tb = frame.time_base
        if frame.pts is None or tb is None:
            st.no_timestamp += 1
            t = t_prev + step if prev is not None else 0
        else:
            if tb_seen is None or tb.denominator != tb_seen.denominator or tb.numerator != tb_seen.numerator:
                tb_seen = Fraction(tb)
                f = tb_seen.denominator // math.gcd(den, tb_seen.denominator)
                if f > 1:  # a finer clock: every time so far times f
                    den, step, t_prev = den * f, step * f, t_prev * f
                    t0 = None if t0 is None else t0 * f
                tb_units = tb_seen.numerator * (den // tb_seen.denominator)
            if t0 is None:
                t0 = frame.pts * tb_units
            t = frame.pts * tb_units - t0
        if prev is not None and t <= t_prev:  # duplicate or out-of-order timestamp: the clock stays monotonic
            st.dropped += 1
            continue
        if t - k * step > max_repeat * step:  # a timestamp jump (corrupt pts): skip the gap
            k = t // step
        shown = False
        while k * step <= t:  # every slot up to t is nearest to prev or to this frame
            slot = k * step
            if prev is not None and slot - t_prev <= t - slot:
                yield emit(prev, prev_shown)
                prev_shown = True
            else:
                yield emit(frame, shown)
                shown = True
            k += 1
        if prev is not None and not prev_shown:
            st.dropped += 1
        prev, t_prev, prev_shown = frame, t, shown
    # after the last frame: the slots within half a slot of it are nearest to it
    while prev is not None and 2 * (k * step - t_prev) <= step:
        yield emit(prev, prev_shown)
        prev_shown = True
        k += 1
    if prev is not None and not prev_shown:
        st.dropped += 1
