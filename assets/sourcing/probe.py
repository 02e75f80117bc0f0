"""Probe one raw file with PyAV: either its video facts or the reason it cannot be used.

A probe never raises for bad input: zero-byte files, truncated or random bytes, images or text
renamed to .mp4, audio-only files, one-frame files, absurd dimensions and files whose frames stop
decoding mid-stream all come back as a `Rejection` with a machine-readable reason and a detail
that says what was seen. The reasons are the quarantine table's vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from assets.sourcing.settings import SourcingSettings

REASONS = (
    "empty_file",
    "unsupported_extension",
    "symlink_outside_root",
    "not_a_media_file",
    "no_video_stream",
    "single_frame",
    "bad_dimensions",
    "too_long",
    "undecodable_frames",
    "truncated",
    "probe_crashed",
)

# FFmpeg would print concealment warnings for corrupt data; we report them as reasons instead.
logging.getLogger("libav").setLevel(logging.CRITICAL)
# PyAV forwarding FFmpeg logs from decoder threads into Python logging can deadlock; switch it off.
av.logging.set_level(None)


@dataclass(frozen=True)
class VideoFacts:
    duration_s: float
    fps: float
    n_frames: int
    width: int
    height: int
    codec: str
    pix_fmt: str
    rotation: int
    has_audio: bool
    bitrate: int


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str

    def __post_init__(self) -> None:
        assert self.reason in REASONS, self.reason


def _rotation(stream: av.video.stream.VideoStream, frame: av.VideoFrame | None) -> int:
    """Clockwise degrees (0/90/180/270) to turn decoded frames upright; the pipeline's `rotation`.

    PyAV reads the display matrix as the angle it rotates the frame COUNTERclockwise (a phone held
    upright writes -90), so it is negated here; the legacy `rotate` tag is already clockwise.
    """
    if frame is not None:
        rot = getattr(frame, "rotation", None)
        if rot:
            return int(round(-float(rot) / 90.0)) * 90 % 360
    meta = stream.metadata or {}
    try:
        return int(meta.get("rotate", 0)) % 360
    except ValueError:
        return 0


def probe_file(path: Path, settings: SourcingSettings) -> VideoFacts | Rejection:
    try:
        return _probe(path, settings)
    except Exception as exc:  # a probe must never take the batch down
        return Rejection("probe_crashed", f"{type(exc).__name__}: {exc}"[:300])


def _probe(path: Path, settings: SourcingSettings) -> VideoFacts | Rejection:
    size = path.stat().st_size
    if size == 0:
        return Rejection("empty_file", "0 bytes")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        if _looks_like_iso_media(path):
            # An MP4/MOV header without a readable index: the writer never finished the file.
            return Rejection("truncated", f"MP4/MOV header present but unreadable: {exc}"[:300])
        return Rejection("not_a_media_file", f"FFmpeg cannot open it: {exc}"[:300])
    with container:
        videos = list(container.streams.video)
        if not videos:
            kinds = sorted({s.type for s in container.streams})
            return Rejection("no_video_stream", f"streams: {kinds or 'none'}")
        stream = videos[0]
        fmt = container.format.name
        if fmt.endswith("_pipe") or fmt in ("image2", "gif"):
            return Rejection("not_a_media_file", f"an image ({stream.codec_context.name}) named as video")
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            return Rejection("bad_dimensions", f"{width}x{height}")
        long_side, short_side = max(width, height), min(width, height)
        if short_side < settings.min_side or long_side > settings.max_side or long_side / short_side > settings.max_aspect:
            return Rejection(
                "bad_dimensions",
                f"{width}x{height} outside sides [{settings.min_side}, {settings.max_side}] or aspect <= {settings.max_aspect}",
            )
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        fps = float(rate) if rate else 0.0
        has_audio = bool(container.streams.audio)
        n_frames, n_packets, n_corrupt, first = 0, 0, 0, None
        decode_error = ""
        stream.thread_type = "AUTO"
        if settings.verify_decode == "keyframes":
            stream.codec_context.skip_frame = "NONKEY"
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # flush packet
                    continue
                n_packets += 1
                if packet.is_corrupt:
                    n_corrupt += 1
                for frame in packet.decode():
                    if first is None:
                        first = frame
                    n_frames += 1
            for frame in stream.codec_context.decode(None):  # drain delayed frames
                n_frames += 1
        except (av.error.InvalidDataError, av.error.FFmpegError, EOFError) as exc:
            decode_error = f"{type(exc).__name__}: {exc}"[:200]
        duration = _duration(container, stream, n_frames, fps)
        if decode_error:
            return Rejection("undecodable_frames", f"decoding failed after {n_frames} frames: {decode_error}")
        if n_frames == 0:
            return Rejection("undecodable_frames", f"{n_packets} packets, no decodable frame")
        if settings.verify_decode == "full":
            declared = stream.frames or 0
            if n_corrupt:
                return Rejection("undecodable_frames", f"{n_corrupt} corrupt packets of {n_packets}")
            if declared and n_frames < declared:
                return Rejection("truncated", f"{n_frames} of {declared} declared frames decode")
            if n_frames < n_packets:
                return Rejection("undecodable_frames", f"{n_packets - n_frames} of {n_packets} packets gave no frame")
        if n_frames < settings.min_frames:
            return Rejection("single_frame", f"{n_frames} frame(s); at least {settings.min_frames} needed")
        if duration > settings.max_duration_s:
            return Rejection("too_long", f"{duration:.0f} s > {settings.max_duration_s:.0f} s")
        return VideoFacts(
            duration_s=round(duration, 4),
            fps=round(fps, 4),
            n_frames=n_frames,
            width=width,
            height=height,
            codec=stream.codec_context.name,
            pix_fmt=str(stream.codec_context.pix_fmt or ""),
            rotation=_rotation(stream, first),
            has_audio=has_audio,
            bitrate=int(container.bit_rate or 0),
        )


def _looks_like_iso_media(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(12)
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"mdat", b"moov", b"wide", b"free")


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream, n: int, fps: float) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return n / fps if fps else 0.0
