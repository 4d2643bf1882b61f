"""Probing media files: what streams a file has, its size, frame rate, duration and rotation.

Everything here goes through PyAV (which bundles FFmpeg); no external ``ffprobe`` is run.
PyAV exceptions never escape: they are wrapped into :class:`~twintake.errors.MediaError`
naming the file.
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.error

from ..errors import MediaError

__all__ = ["VideoInfo", "AudioInfo", "MediaInfo", "probe"]


PathLike = str | os.PathLike[str]

#: Frame rate reported for still images (they have one frame; the rate is only a convention).
IMAGE_FPS = Fraction(25)

#: Rates a measured average rate is snapped to when it is within 1 % of one of them.
_STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(48),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
)
_MAX_FPS = Fraction(240)


@dataclass(frozen=True)
class VideoInfo:
    """The video stream of a file, as twintake sees it.

    Attributes:
        width: displayed width in pixels, after the rotation metadata is applied.
        height: displayed height in pixels, after the rotation metadata is applied.
        fps: rate of the constant-frame-rate (CFR) timeline the video is mapped onto (frames/s).
        fps_fraction: the same rate, exact.
        frame_count: number of frames on that CFR timeline, ``round(duration_s * fps)``
            (1 for a still image).
        duration_s: duration of the video stream in seconds (0.0 for a still image).
        rotation_deg: clockwise rotation (0, 90, 180 or 270 degrees) that is applied to the
            decoded pictures for display, read from the display matrix (the legacy ``rotate`` tag
            uses the same clockwise convention).
        codec: FFmpeg codec name, e.g. ``"h264"``.
        variable_frame_rate: True when the source frame durations are irregular.
    """

    width: int
    height: int
    fps: float
    fps_fraction: Fraction
    frame_count: int
    duration_s: float
    rotation_deg: int
    codec: str
    variable_frame_rate: bool


@dataclass(frozen=True)
class AudioInfo:
    """The (first) audio stream of a file.

    Attributes:
        sample_rate_hz: sampling rate of the stream in Hz.
        channels: number of channels.
        duration_s: duration in seconds (may be an estimate for formats without an index, e.g. mp3).
        codec: FFmpeg codec name, e.g. ``"aac"``.
    """

    sample_rate_hz: int
    channels: int
    duration_s: float
    codec: str


@dataclass(frozen=True)
class MediaInfo:
    """Summary of a media file.

    Attributes:
        path: the file, as given (not resolved).
        format_name: FFmpeg demuxer name, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"wav"``,
            ``"image2"``.
        duration_s: duration of the whole file in seconds (0.0 for a still image).
        video: the first video stream, or None.
        audio: the first audio stream, or None.
        is_image: True for a still image (jpg, png, webp, bmp, ...); its ``video.frame_count`` is 1.
    """

    path: pathlib.Path
    format_name: str
    duration_s: float
    video: VideoInfo | None
    audio: AudioInfo | None
    is_image: bool


# --------------------------------------------------------------------------------------------
# helpers shared with decode.py


def check_readable(path: PathLike) -> pathlib.Path:
    """Return ``path`` as a Path after checking it is an existing, non-empty regular file.

    Raises:
        MediaError: the file does not exist, is a folder, or is empty.
    """
    p = pathlib.Path(path)
    if not p.exists():
        raise MediaError(f"no such file: {p}")
    if p.is_dir():
        raise MediaError(f"{p} is a folder, not a video or audio file")
    if p.stat().st_size == 0:
        raise MediaError(f"{p} is empty (0 bytes); give a video, image or audio file")
    return p


def describe_av_error(exc: BaseException) -> str:
    """A one-line description of a PyAV/FFmpeg exception (no traceback)."""
    if isinstance(exc, av.error.FFmpegError):
        text = exc.strerror or str(exc)
    else:
        text = str(exc) or type(exc).__name__
    return text.strip().rstrip(".")


def not_media_error(p: pathlib.Path, exc: BaseException | None = None, why: str = "") -> MediaError:
    """The MediaError raised when ``p`` cannot be read as media."""
    reason = why or (describe_av_error(exc) if exc is not None else "unreadable")
    return MediaError(
        f"{p} is not a video or audio file twintake can read ({reason}); "
        "check that the file is complete and in a common format (mp4, mov, mkv, webm, wav, mp3, "
        "m4a, flac, jpg, png)"
    )


def open_container(p: pathlib.Path) -> Any:
    """Open ``p`` with PyAV for reading, wrapping open errors into MediaError.

    Returns:
        an ``av.container.InputContainer``; the caller closes it.

    Raises:
        MediaError: the file cannot be opened or is not a media file.
    """
    try:
        container = av.open(str(p), mode="r")
    except FileNotFoundError as exc:  # includes av.error.FileNotFoundError
        raise MediaError(f"no such file: {p}") from exc
    except PermissionError as exc:
        raise MediaError(f"cannot read {p}: permission denied") from exc
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise not_media_error(p, exc) from exc
    if container.format.name == "tty":  # FFmpeg's "ANSI art" demuxer accepts any text file
        container.close()
        raise not_media_error(p, why="it looks like a text file")
    return container


@contextlib.contextmanager
def open_input(p: pathlib.Path) -> Iterator[Any]:
    """Context-managed :func:`open_container`; the container is closed on exit."""
    container = open_container(p)
    try:
        yield container
    finally:
        container.close()


def is_image_container(container: Any) -> bool:
    """True if the demuxer is one of FFmpeg's still-image demuxers (image2, png_pipe, ...)."""
    name: str = container.format.name
    if container.streams.audio:
        return False
    return name in ("image2", "image2pipe") or name.endswith("_pipe")


def rotation_of(frame: Any) -> int:
    """Clockwise display rotation in degrees (0/90/180/270) of a decoded PyAV video frame."""
    try:
        ccw = float(frame.rotation)
    except (AttributeError, TypeError, ValueError):
        return 0
    if math.isnan(ccw):
        return 0
    return int(round(-ccw / 90.0)) % 4 * 90


@dataclass(frozen=True)
class Timeline:
    """How a video stream maps onto the CFR timeline (internal, shared with decode.py).

    ``origin_pts`` is the pts (in ``time_base``) of timeline slot 0.
    ``keyframe_pts`` are the sorted pts of keyframes from the container index (may be empty).
    ``last_pts`` is the largest frame pts listed by the container (None if unknown).
    """

    fps: Fraction
    frame_count: int
    duration_s: float
    variable_frame_rate: bool
    time_base: Fraction
    origin_pts: int
    keyframe_pts: tuple[int, ...]
    last_pts: int | None = None


def _stream_timestamps(container: Any, stream: Any) -> tuple[list[int], list[int]]:
    """Sorted pts of every packet of ``stream`` and of its keyframes.

    Uses the container index when it lists every frame (mp4/mov: free); otherwise demuxes the
    stream (reads the file, does not decode). Returns ([], []) if timestamps are unavailable.
    """
    try:
        entries = stream.index_entries
        n_entries = len(entries)
    except (AttributeError, av.error.FFmpegError):
        entries, n_entries = None, 0
    if entries is not None and n_entries > 0 and stream.frames and n_entries >= stream.frames:
        pts = sorted(e.timestamp for e in entries if not e.is_discard)
        keys = sorted(e.timestamp for e in entries if e.is_keyframe and not e.is_discard)
        return pts, keys
    pts, keys = [], []
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        pts.append(packet.pts)
        if packet.is_keyframe:
            keys.append(packet.pts)
    container.seek(0)
    pts.sort()
    keys.sort()
    return pts, keys


def _is_multiple_of(deltas: list[int], period_ticks: float, tol_ticks: float) -> bool:
    """True if every delta is a positive integer multiple of ``period_ticks`` (within tolerance)."""
    if period_ticks <= 0:
        return False
    for d in deltas:
        k = round(d / period_ticks)
        if k < 1 or abs(d - k * period_ticks) > tol_ticks:
            return False
    return True


def _snap_rate(rate: Fraction) -> Fraction:
    """The standard rate closest to ``rate`` if within 1 %, else ``rate`` rounded to 0.001."""
    closest = min(_STANDARD_RATES, key=lambda std: abs(rate - std))
    if abs(rate - closest) <= closest / 100:
        return closest
    return Fraction(round(float(rate), 3)).limit_denominator(1000)


def choose_cfr_rate(
    deltas: list[int], time_base: Fraction, base_rate: Fraction | None, avg_rate: Fraction | None
) -> tuple[Fraction, bool]:
    """Pick the constant frame rate a video is mapped onto, and say whether it is VFR.

    Rule (``deltas`` are the pts steps between consecutive frames, in ``time_base`` units):

    1. The stream is variable-frame-rate when some step differs from the median step by more than
       ``max(1 tick, 10 % of the median)``; otherwise it is CFR and the rate is
       ``1 / mean step`` -- replaced by the container's nominal ``r_frame_rate`` when it agrees
       within the timestamp precision (0.05 %, more for very short clips; FFmpeg's rate is
       exact, e.g. 30000/1001), else snapped to a standard rate within 1 % (so 33/34 ms steps
       in a 1/1000 time base give 29.97).
    2. A VFR stream whose steps are all integer multiples of one period -- the nominal
       ``r_frame_rate`` period, or else the shortest step -- is a CFR recording with dropped or
       held frames: it is mapped at that nominal rate (e.g. steps of 1/30 s and 2/30 s give 30 fps,
       not the 22.1 fps average). That is what a user expects.
    3. Any other VFR stream is mapped at its average rate, snapped to a standard rate
       (23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60) when within 1 %.

    Rates above 240 fps are not used; the fallback is the average rate, then 25 fps.
    """
    steps = [d for d in deltas if d > 0]
    tb = time_base
    fallback = next(
        (r for r in (avg_rate, base_rate) if r is not None and 0 < r <= _MAX_FPS), Fraction(25)
    )
    if not steps:
        return fallback, False
    median = statistics.median(steps)
    tol = max(1.0, 0.1 * median)
    vfr = any(abs(d - median) > tol for d in steps)
    if not vfr:
        measured = len(steps) / (Fraction(sum(steps)) * tb)  # mean step: exact for 33/34 ms
        # the mean is known to about 2 ticks over the whole span; trust it to at least 0.05 %
        rel_tol = max(Fraction(1, 2000), Fraction(2, max(1, sum(steps))))
        if base_rate is not None and 0 < base_rate <= _MAX_FPS:
            if abs(base_rate - measured) <= base_rate * rel_tol:
                return base_rate, False
        if 0 < measured <= _MAX_FPS:
            return _snap_rate(measured), False
        return fallback, False
    candidates: list[Fraction] = []
    if base_rate is not None and 0 < base_rate <= _MAX_FPS:
        candidates.append(base_rate)
    shortest = min(steps)
    candidates.append(1 / (Fraction(shortest) * tb))
    for rate in candidates:
        if not 0 < rate <= _MAX_FPS:
            continue
        period_ticks = float(1 / (rate * tb))
        if _is_multiple_of(steps, period_ticks, max(1.0, 0.05 * period_ticks)):
            return (rate if rate.denominator <= 1001 else _snap_rate(rate)), True
    total = Fraction(sum(steps)) * tb
    avg = Fraction(len(steps)) / total if total > 0 else fallback
    return (_snap_rate(avg) if 0 < avg <= _MAX_FPS else fallback), True


def video_timeline(container: Any, stream: Any, *, image: bool) -> Timeline:
    """Compute the CFR timeline of ``stream`` (does not decode)."""
    tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    if image:
        return Timeline(IMAGE_FPS, 1, 0.0, False, tb, 0, ())
    pts, keys = _stream_timestamps(container, stream)
    deltas = [b - a for a, b in zip(pts, pts[1:])]
    base_rate = Fraction(stream.base_rate) if stream.base_rate else None
    avg_rate = Fraction(stream.average_rate) if stream.average_rate else None
    fps, vfr = choose_cfr_rate(deltas, tb, base_rate, avg_rate)
    origin = stream.start_time if stream.start_time is not None else (pts[0] if pts else 0)
    if stream.duration:
        duration = float(stream.duration * tb)
    elif pts:
        last_step = statistics.median([d for d in deltas if d > 0] or [0]) if deltas else 0
        duration = float((pts[-1] - origin + last_step) * tb)
        if duration <= 0 and len(pts) == 1:
            duration = float(1 / fps)
    elif container.duration:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    frame_count = max(1, round(duration * fps)) if (pts or duration > 0) else 0
    return Timeline(
        fps, frame_count, duration, vfr, tb, int(origin), tuple(keys), pts[-1] if pts else None
    )


def _first_video_frame(p: pathlib.Path, container: Any, stream: Any) -> Any:
    """Decode the first frame of ``stream`` (to read rotation and prove the file decodes)."""
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        why = f"the video cannot be decoded: {describe_av_error(exc)}"
        raise not_media_error(p, exc, why) from exc
    raise not_media_error(
        p, why="the video stream has no decodable frames; the file may be truncated"
    )


def _check_audio_decodes(p: pathlib.Path, container: Any, stream: Any) -> None:
    try:
        for _ in container.decode(stream):
            return
    except av.error.FFmpegError as exc:
        why = f"the audio cannot be decoded: {describe_av_error(exc)}"
        raise not_media_error(p, exc, why) from exc
    raise not_media_error(
        p, why="the audio stream has no decodable data; the file may be truncated"
    )


def check_not_truncated(p: pathlib.Path, streams: list[Any]) -> None:
    """Raise MediaError when the container index points past the end of the file (mp4/mov)."""
    try:
        size = p.stat().st_size
        end = 0
        for stream in streams:
            for entry in stream.index_entries:
                if entry.pos >= 0:
                    end = max(end, entry.pos + entry.size)
    except (AttributeError, OSError, av.error.FFmpegError):
        return
    if end > size:
        raise MediaError(
            f"{p} is truncated: its index expects {end} bytes but the file has {size} "
            f"({100 * size // end} %); it is probably an interrupted copy or download, "
            "use a complete copy"
        )


def probe(path: PathLike) -> MediaInfo:
    """Describe a video, still image or audio file.

    Reads the container header and index and decodes the first video frame (to read the rotation
    and make sure the file really decodes); the rest of the file is not decoded. For containers
    without a full index (mkv, webm, ...) the video packets are demuxed (read, not decoded) to
    measure frame timing. See :func:`choose_cfr_rate` for how the CFR ``fps`` is chosen.

    Args:
        path: the file to probe.

    Returns:
        a :class:`MediaInfo`. ``video``/``audio`` are None when the file has no such stream.
        Still images have ``is_image=True``, ``video.frame_count == 1``, ``video.fps == 25``
        (a convention) and ``duration_s == 0.0``.

    Raises:
        MediaError: the file does not exist, is empty, is not a media file, is corrupt or
            truncated, or has neither a video nor an audio stream.
    """
    p = check_readable(path)
    with open_input(p) as container:
        try:
            return _probe_open(p, container)
        except MediaError:
            raise
        except (av.error.FFmpegError, OSError, ValueError, ZeroDivisionError) as exc:
            raise not_media_error(p, exc) from exc


def _probe_open(p: pathlib.Path, container: Any) -> MediaInfo:
    format_name: str = container.format.name
    vstreams = list(container.streams.video)
    astreams = list(container.streams.audio)
    if not vstreams and not astreams:
        raise not_media_error(p, why="it contains no video or audio stream")
    image = bool(vstreams) and is_image_container(container)
    check_not_truncated(p, [*vstreams[:1], *astreams[:1]])

    video: VideoInfo | None = None
    if vstreams:
        vs = vstreams[0]
        timeline = video_timeline(container, vs, image=image)
        first = _first_video_frame(p, container, vs)
        rotation = rotation_of(first)
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        video = VideoInfo(
            width=int(w),
            height=int(h),
            fps=float(timeline.fps),
            fps_fraction=timeline.fps,
            frame_count=timeline.frame_count,
            duration_s=timeline.duration_s,
            rotation_deg=rotation,
            codec=vs.codec_context.name,
            variable_frame_rate=timeline.variable_frame_rate,
        )

    audio: AudioInfo | None = None
    if astreams:
        st = astreams[0]
        if video is None:
            _check_audio_decodes(p, container, st)
        if st.duration and st.time_base:
            a_dur = float(st.duration * st.time_base)
        elif container.duration:
            a_dur = container.duration / 1_000_000
        else:
            a_dur = 0.0
        audio = AudioInfo(
            sample_rate_hz=int(st.rate or st.codec_context.sample_rate or 0),
            channels=int(st.codec_context.channels or 0),
            duration_s=a_dur,
            codec=st.codec_context.name,
        )

    if image:
        duration = 0.0
    elif container.duration:
        duration = container.duration / 1_000_000
    else:
        duration = max(video.duration_s if video else 0.0, audio.duration_s if audio else 0.0)
    return MediaInfo(
        path=p,
        format_name=format_name,
        duration_s=duration,
        video=video,
        audio=audio,
        is_image=image,
    )
