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
