"""A constant-frame-rate view of a decoded video stream (the policy for variable-frame-rate sources).

Curation addresses a video by frame index (cuts, segments, clip ranges) and writes clips at a constant
rate, so index i must mean time i / fps. Phones and screen recorders write variable frame rate (VFR):
frame intervals wander, and counting decoded frames drifts away from the clock (a 10 s VFR clip can
hold 280 frames at a nominal 30 fps). The policy, as ffmpeg's `fps` filter does it: resample to the
stream's average rate by presentation time. Each decoded frame lands on slot round((t - t0) * fps);
a frame whose slot is already filled is dropped, and a gap repeats the previous frame. On a
constant-rate stream the slots are 0, 1, 2, ..., so the view is the identity (same frames, same
bytes downstream). The analysis pass and the clip writer both read through this view, so their frame
indices agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import av


@dataclass
class CfrStats:
    """What resampling did to one stream; reported in the shots manifest for VFR sources."""

    decoded: int = 0
    emitted: int = 0
    dropped: int = 0  # decoded frames that fell on an already filled slot
    repeated: int = 0  # slots filled by repeating the previous frame
    no_timestamp: int = 0  # frames without a pts (placed on the next slot)

    @property
    def variable(self) -> bool:
        return bool(self.dropped or self.repeated)


def cfr_frames(frames: Iterable[av.VideoFrame], fps: float, stats: CfrStats | None = None,
               max_repeat: int = 1000) -> Iterator[av.VideoFrame]:
    """Yield `frames` resampled to a constant `fps` by presentation time (see the module docstring).

    `max_repeat` bounds the frames one timestamp gap may add, so a corrupt pts cannot make the view
    unbounded.
    """
    st = stats if stats is not None else CfrStats()
    t0: float | None = None
    last_slot = -1
    prev: av.VideoFrame | None = None
    for frame in frames:
        st.decoded += 1
        if frame.pts is None or frame.time_base is None:
            st.no_timestamp += 1
            slot = last_slot + 1
        else:
            t = float(frame.pts * frame.time_base)
            if t0 is None:
                t0 = t
            slot = int(round((t - t0) * fps))
        if slot <= last_slot:
            st.dropped += 1
            continue
        if prev is not None:
            for _ in range(min(slot - last_slot - 1, max_repeat)):
                st.repeated += 1
                st.emitted += 1
                yield prev
        st.emitted += 1
        yield frame
        prev, last_slot = frame, slot
