"""The constant-frame-rate view: identity on constant-rate streams, clock-true on variable-rate ones."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from assets.curation.cfr import CfrStats, cfr_frames


def _write(path: Path, ticks: list[int], tick: Fraction) -> None:
    """Frame i shows the value i (grey level 4 i) at pts = sum(ticks[:i]) in units of `tick`."""
    with av.open(str(path), "w") as c:
        st = c.add_stream("libx264", rate=int(round(1 / (tick * 2))))
        st.width, st.height, st.pix_fmt = 32, 32, "yuv420p"
        st.codec_context.time_base = tick
        pts = 0
        for i, dt in enumerate(ticks):
            vf = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 4 * i, np.uint8), format="rgb24")
            vf.pts, vf.time_base = pts, tick
            pts += dt
            for p in st.encode(vf):
                c.mux(p)
        for p in st.encode():
            c.mux(p)


def _levels(path: Path, fps: float) -> tuple[list[int], CfrStats]:
    stats = CfrStats()
    with av.open(str(path)) as c:
        out = [int(round(f.to_ndarray(format="rgb24").mean() / 4)) for f, _ in cfr_frames(c.decode(video=0), fps, stats)]
    return out, stats


def test_constant_rate_stream_is_unchanged(tmp_path: Path) -> None:
    p = tmp_path / "cfr.mp4"
    _write(p, [2] * 20, Fraction(1, 24))  # 12 fps
    levels, stats = _levels(p, 12.0)
    assert levels == list(range(20))
    assert not stats.variable and stats.emitted == stats.decoded == 20


def test_variable_rate_stream_follows_the_clock(tmp_path: Path) -> None:
    # intervals of 1, 2 or 3 ticks of 1/24 s: frame times are known, so the expected slot content is too
    rng = np.random.default_rng(0)
    ticks = [int(t) for t in rng.integers(1, 4, 40)]
    p = tmp_path / "vfr.mp4"
    _write(p, ticks, Fraction(1, 24))
    times = np.concatenate([[0], np.cumsum(ticks)[:-1]]) / 24.0
    levels, stats = _levels(p, 12.0)
    assert stats.variable and stats.dropped > 0 and stats.repeated > 0
    assert stats.emitted == len(levels) == int(np.floor(times[-1] * 12 + 0.5)) + 1
    for k, lv in enumerate(levels):
        # slot k (time k / 12) shows the frame nearest in time; ties go to the earlier frame
        dist = np.abs(times - k / 12.0)
        assert lv == int(np.flatnonzero(dist <= dist.min() + 1e-9)[0]), (k, lv)


def _reference_slots(times: list[Fraction | None], fps: Fraction, max_repeat: int) -> list[tuple[int, bool]]:
    """The view computed with exact fractions, as cfr_frames did before its integer clock (the oracle)."""
    step, t0, k, prev, t_prev, prev_shown, out = 1 / fps, None, 0, None, Fraction(0), False, []
    for i, tt in enumerate(times):
        if tt is None:
            t = t_prev + step if prev is not None else Fraction(0)
        else:
            t0 = tt if t0 is None else t0
            t = tt - t0
        if prev is not None and t <= t_prev:
            continue
        if t - k * step > max_repeat * step:
            k = int(t / step)
        shown = False
        while k * step <= t:
            slot = k * step
            if prev is not None and slot - t_prev <= t - slot:
                out.append((prev, not prev_shown))
                prev_shown = True
            else:
                out.append((i, not shown))
                shown = True
            k += 1
        prev, t_prev, prev_shown = i, t, shown
    while prev is not None and k * step - t_prev <= step / 2:
        out.append((prev, not prev_shown))
        prev_shown = True
        k += 1
    return out


def test_integer_clock_matches_exact_fractions() -> None:
    """Random timestamps (jitter, duplicates, jumps, missing pts, a time base changing mid-stream)
    give the same slots as the same policy computed in fractions."""

    class _Frame:
        def __init__(self, i: int, pts: int | None, tb: Fraction):
            self.i, self.pts, self.time_base = i, pts, tb

    rng = np.random.default_rng(3)
    for _ in range(300):
        fps = Fraction([12, 24, 25, 30][int(rng.integers(4))]) if rng.random() < 0.5 else Fraction(30000, 1001)
        tbs = [Fraction(1, 24), Fraction(1, 90000), Fraction(1001, 30000), Fraction(1, 1000)]
        tb, pts, frames = tbs[int(rng.integers(4))], int(rng.integers(-5, 50)), []
        for i in range(int(rng.integers(1, 30))):
            if rng.random() < 0.05:
                frames.append(_Frame(i, None, tb))
                continue
            if rng.random() < 0.05:
                tb = tbs[int(rng.integers(4))]
            pts += int(rng.integers(-2, 6 if tb.denominator < 100 else 9000)) + (50_000 if rng.random() < 0.02 else 0)
            frames.append(_Frame(i, pts, tb))
        got = [(f.i, fresh) for f, fresh in cfr_frames(frames, fps, max_repeat=20)]
        times = [None if f.pts is None else Fraction(f.pts) * f.time_base for f in frames]
        assert got == _reference_slots(times, fps, 20)
