"""A corpus of bad raw files, one per failure kind the ingestion must quarantine."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image


def write_video(path: Path, n: int = 24, w: int = 64, h: int = 48, audio: bool = False, video: bool = True, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as c:
        st = None
        if video:
            st = c.add_stream("libx264", rate=12)
            st.width, st.height, st.pix_fmt = w, h, "yuv420p"
            st.options = {"threads": "1"}
        a = c.add_stream("aac", rate=16000) if audio else None
        if st is not None:
            base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            for i in range(n):
                frame = np.roll(base, i * 2, axis=1)
                for p in st.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    c.mux(p)
            for p in st.encode():
                c.mux(p)
        if a is not None:
            for i in range(10):
                fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
                fr.sample_rate, fr.pts = 16000, i * 1024
                for p in a.encode(fr):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path


def build_bad_corpus(folder: Path, outside: Path) -> dict[str, str]:
    """Write every bad-file kind into `folder`; returns file name -> expected quarantine reason."""
    folder.mkdir(parents=True, exist_ok=True)
    good = write_video(folder / "good.mp4")
    data = good.read_bytes()
    expected: dict[str, str] = {}

    (folder / "zero.mp4").write_bytes(b"")
    expected["zero.mp4"] = "empty_file"
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    expected["truncated.mp4"] = "truncated"
    (folder / "random.mp4").write_bytes(np.random.default_rng(1).bytes(6000))
    expected["random.mp4"] = "not_a_media_file"
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, "PNG")
    (folder / "image.mp4").write_bytes(buf.getvalue())
    expected["image.mp4"] = "not_a_media_file"
    (folder / "notes.mp4").write_text("this is a text file, not a video\n" * 50)
    expected["notes.mp4"] = "not_a_media_file"
    write_video(folder / "audio_only.mp4", audio=True, video=False)
    expected["audio_only.mp4"] = "no_video_stream"
    write_video(folder / "one_frame.mp4", n=1)
    expected["one_frame.mp4"] = "single_frame"
    write_video(folder / "absurd.mp4", w=640, h=32)
    expected["absurd.mp4"] = "bad_dimensions"
    write_video(folder / "tiny.mp4", w=16, h=16)
    expected["tiny.mp4"] = "bad_dimensions"
    corrupt = bytearray(write_video(folder / "corrupt_src.mp4", n=36, seed=3).read_bytes())
    (folder / "corrupt_src.mp4").unlink()
    mid = len(corrupt) // 2
    corrupt[mid : mid + 3000] = np.random.default_rng(2).bytes(3000)
    (folder / "corrupt_mid.mp4").write_bytes(bytes(corrupt))
    expected["corrupt_mid.mp4"] = "undecodable_frames"
    outside.write_bytes(data)
    (folder / "escape.mp4").symlink_to(outside)
    expected["escape.mp4"] = "symlink_outside_root"
    (folder / "readme.txt").write_text("not a video")
    expected["readme.txt"] = "unsupported_extension"
    return expected
