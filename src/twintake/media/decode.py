"""Streaming decode of video frames onto a constant-frame-rate timeline, and audio loading.

The CFR timeline: slot ``i`` (time ``i / fps``) shows the last decoded source frame whose
presentation time, measured from the first frame, is ``<= i / fps`` (plus one time-base tick of
tolerance for rounded timestamps). Source frames are duplicated or dropped as needed, so a
variable-frame-rate video becomes a regular sequence of ``round(duration_s * fps)`` frames.
Slots before the first decoded frame show the first frame; slots after the last one repeat it.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.error
import numpy as np

from ..errors import MediaError
from .probe import (
    PathLike,
    Timeline,
    check_not_truncated,
    check_readable,
    describe_av_error,
    is_image_container,
    not_media_error,
    open_container,
    rotation_of,
    video_timeline,
)

__all__ = ["VideoFrame", "iter_frames", "sample_frames"]

log = logging.getLogger(__name__)

#: Video missing at the end (s) beyond which a file counts as truncated.
_MAX_MISSING_TAIL_S = 1.0


@dataclass
class VideoFrame:
    """One frame of the CFR timeline.

    Attributes:
        index: slot index on the CFR timeline (0-based).
        time_s: ``index / fps`` in seconds.
        image: (H, W, 3) uint8 RGB, display rotation applied, C-contiguous. The array belongs
            to the caller (it may be modified in place).
    """

    index: int
    time_s: float
    image: np.ndarray


def _as_fraction(fps: float | Fraction | None, default: Fraction) -> Fraction:
    if fps is None:
        return default
    if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)):
        raise TypeError(f"fps must be a number or a Fraction, not {type(fps).__name__}")
    value = Fraction(fps).limit_denominator(100_000)
    if not (0 < value <= 1000):
        raise ValueError(f"fps must be in (0, 1000], got {fps}")
    return value


class _VideoSource:
    """An open video stream that yields CFR slots from any start slot (internal)."""

    def __init__(self, path: PathLike, fps: float | Fraction | None) -> None:
        self.path = check_readable(path)
        self._container = open_container(self.path)
        try:
            if not self._container.streams.video:
                raise MediaError(
                    f"{self.path} has no video stream; give a video or an image file"
                )
            self._stream = self._container.streams.video[0]
            self.image = is_image_container(self._container)
            check_not_truncated(self.path, [self._stream])
            try:
                self.timeline: Timeline = video_timeline(
                    self._container, self._stream, image=self.image
                )
            except av.error.FFmpegError as exc:
                raise not_media_error(self.path, exc) from exc
            self.fps = _as_fraction(fps, self.timeline.fps)
            if self.image:
                self.frame_count = 1
            elif self.timeline.frame_count == 0:
                self.frame_count = 0
            else:
                self.frame_count = max(1, round(self.timeline.duration_s * self.fps))
            self._stream.thread_type = "AUTO"
            tb = self.timeline.time_base
            # one time-base tick of tolerance, in slots (at least 1 %, at most half a slot)
            self._tol = min(Fraction(1, 2), max(Fraction(1, 100), tb * self.fps))
            self._scale = tb * self.fps  # pts ticks -> slots
            self._keyframe_slots = sorted(
                {max(0, self._first_slot(k)) for k in self.timeline.keyframe_pts}
            )
            self._rot_k: int | None = None
            self._used = False
            self._still: np.ndarray | None = None
            cc = self._stream.codec_context
            #: bytes of one decoded RGB image (an estimate until the first frame is decoded)
            self.frame_bytes = int(cc.width or 1) * int(cc.height or 1) * 3
        except BaseException:
            self._container.close()
            raise

    # -- helpers --------------------------------------------------------------------------

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> _VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _first_slot(self, pts: int) -> int:
        """First slot at which a frame with this pts is shown."""
        return math.ceil((pts - self.timeline.origin_pts) * self._scale - self._tol)

    def keyframe_slot_at_or_before(self, slot: int) -> int | None:
        """Slot of the last keyframe shown at or before ``slot`` (None if unknown)."""
        i = bisect.bisect_right(self._keyframe_slots, slot)
        return self._keyframe_slots[i - 1] if i > 0 else None

    def keyframe_slots_between(self, lo: int, hi: int) -> list[int]:
        """Keyframe slots in ``[lo, hi]``."""
        a = bisect.bisect_left(self._keyframe_slots, lo)
        b = bisect.bisect_right(self._keyframe_slots, hi)
        return self._keyframe_slots[a:b]

    def _to_rgb(self, frame: Any) -> np.ndarray:
        if self._rot_k is None:
            self._rot_k = -(rotation_of(frame) // 90)
        img = frame.to_ndarray(format="rgb24")
        if self._rot_k % 4:
            img = np.rot90(img, k=self._rot_k)
        return np.ascontiguousarray(img)

    def _seek_to_slot(self, slot: int) -> None:
        """Seek so that decoding starts at a keyframe shown at or before ``slot``."""
        tb = self.timeline.time_base
        target = self.timeline.origin_pts + math.floor(Fraction(slot) / self.fps / tb)
        keys = self.timeline.keyframe_pts
        i = bisect.bisect_right(keys, target)
        if i > 0:
            target = keys[i - 1]
        self._container.seek(int(target), stream=self._stream, backward=True, any_frame=False)

    def _check_complete(self, last_frame: Any) -> None:
        """Raise MediaError if decoding ended well before the last frame the container lists."""
        last_pts = self.timeline.last_pts
        if self.image or last_pts is None or last_frame.pts is None:
            return
        tb = self.timeline.time_base
        missing_s = float((last_pts - last_frame.pts) * tb)
        if missing_s > _MAX_MISSING_TAIL_S:
            got_s = float((last_frame.pts - self.timeline.origin_pts) * tb)
            total_s = float((last_pts - self.timeline.origin_pts) * tb)
            raise MediaError(
                f"{self.path}: video decoding stopped at {got_s:.2f} s of {total_s:.2f} s; "
                "the file is probably truncated (an interrupted copy or download); "
                "use a complete copy"
            )
        if missing_s > 0:
            log.warning("%s: the last %.2f s of video could not be decoded", self.path, missing_s)

    def _rewind(self) -> None:
        try:
            self._container.seek(0)
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"{self.path}: cannot seek back to the start ({describe_av_error(exc)})"
            ) from exc

    def _decoded_frames(self) -> Iterator[Any]:
        """Decoded frames from the current position, errors wrapped into MediaError."""
        self._used = True
        last_time = 0.0
        demuxer = self._container.demux(self._stream)
        while True:
            try:
                packet = next(demuxer)
                frames = self._stream.decode(packet)
            except StopIteration:
                return
            except av.error.EOFError:
                return
            except av.error.FFmpegError as exc:
                raise MediaError(
                    f"{self.path}: video decoding failed at about {last_time:.2f} s "
                    f"({describe_av_error(exc)}); the file may be damaged or truncated, "
                    "re-encode or trim it"
                ) from exc
            for frame in frames:
                if frame.time is not None:
                    last_time = float(frame.time)
                yield frame

    # -- the CFR mapping ----------------------------------------------------------------

    def slots(
        self, start: int, stop: int | None = None, wanted: Callable[[int], bool] | None = None
    ) -> Generator[tuple[int, np.ndarray], None, None]:
        """Yield ``(slot, image)`` for slots ``start .. stop-1`` in order.

        Repeated slots (a source frame shown for several slots) yield the same array object.
        With ``wanted``, only slots for which it is true are yielded, and frames shown in no
        wanted slot are decoded but never converted to RGB.
        """
        stop = self.frame_count if stop is None else min(stop, self.frame_count)
        start = max(0, start)
        if start >= stop:
            return
        if self.image and self._still is not None:  # a still image is decoded only once
            yield 0, self._still
            return
        sought = False
        if start > 0 and not self.image:
            try:
                self._seek_to_slot(start)
                sought = True
            except av.error.FFmpegError:
                log.debug("seek failed in %s; decoding from the start", self.path)
                self._rewind()
        elif self._used:
            self._rewind()
        while True:
            prev: Any = None
            prev_slot = 0
            next_slot = start
            overshoot = False
            for frame in self._decoded_frames():
                slot = self._first_slot(frame.pts) if frame.pts is not None else prev_slot + 1
                if prev is None:
                    if sought and slot > start:
                        overshoot = True
                        break
                    prev, prev_slot = frame, slot
                    continue
                if slot <= next_slot:
                    prev, prev_slot = frame, slot
                    continue
                end = min(slot, stop)
                todo = [s for s in range(next_slot, end) if wanted is None or wanted(s)]
                if todo:
                    img = self._to_rgb(prev)
                    for s in todo:
                        yield s, img
                next_slot = end
                if next_slot >= stop:
                    return
                prev, prev_slot = frame, slot
            if overshoot:  # the seek landed after `start`: decode from the beginning instead
                log.debug("seek overshoot in %s; decoding from the start", self.path)
                self._rewind()
                sought = False
                continue
            if prev is None:
                raise MediaError(
                    f"{self.path}: no video frame could be decoded from {start / self.fps:.2f} s "
                    "on; the file may be truncated or damaged"
                )
            self._check_complete(prev)
            todo = [s for s in range(next_slot, stop) if wanted is None or wanted(s)]
            if todo or self.image:
                img = self._to_rgb(prev)
                if self.image:
                    self._still = img
                for s in todo:
                    yield s, img
            return


def iter_frames(
    path: PathLike,
    fps: float | Fraction | None = None,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[VideoFrame]:
    """Decode a video (or still image) as a stream of frames on a constant-fps timeline.

    Streaming: only a few frames are held at a time. Slot ``i`` shows the last source frame
    whose presentation time (from the first frame) is ``<= i / fps``; source frames are
    duplicated or dropped as needed, and the last frame is repeated to the end of the stream.
    The display rotation (display matrix) is applied. When ``start > 0`` decoding starts at
    the keyframe before ``start`` rather than at 0.

    Args:
        path: video or image file.
        fps: timeline rate in frames/s; default the file's ``VideoInfo.fps``
            (see :func:`twintake.media.probe.choose_cfr_rate`). Ignored for still images.
        start: first slot to yield.
        stop: one past the last slot to yield; default (and at most) the number of slots,
            ``round(duration_s * fps)`` (1 for a still image).

    Yields:
        :class:`VideoFrame` for slots ``start .. stop-1``; ``image`` is (H, W, 3) uint8 RGB,
        C-contiguous, a fresh array for every frame.

    Raises:
        MediaError: missing/unreadable file, no video stream ("X has no video stream"), a
            decode error (the message gives the second at which it happened), or a file that
            ends more than 1 s before its index says (truncated).
        ValueError: ``fps`` is not positive, or ``start``/``stop`` is negative.
    """
    if start < 0 or (stop is not None and stop < 0):
        raise ValueError(f"start and stop must be >= 0, got start={start}, stop={stop}")
    with _VideoSource(path, fps) as src:
        fps_f = float(src.fps)
        last: np.ndarray | None = None
        for slot, img in src.slots(start, stop):
            out = img.copy() if img is last else img
            last = img
            yield VideoFrame(index=slot, time_s=slot / fps_f, image=out)


def sample_frames(path: PathLike, indices: Iterable[int], fps: float | Fraction | None = None) -> Iterator[VideoFrame]:
    """Yield a few CFR timeline slots in one sequential pass, in increasing slot order.

    For sparse samples of a whole video (e.g. three frames to count faces): frames are decoded
    from the start without seeking (a seek into a long group of pictures re-decodes it), and only
    the frames shown at the requested slots are converted to RGB, so the pass costs about a
    third of :func:`iter_frames`. Images equal those of :func:`iter_frames` for the same slots.

    Args:
        path: video or image file.
        indices: slot indices; duplicates are yielded once, indices past the end are ignored.
        fps: timeline rate (default the file's ``VideoInfo.fps``).

    Yields:
        :class:`VideoFrame` per distinct index, in increasing order.

    Raises:
        MediaError: as :func:`iter_frames`.
        ValueError: a negative index.
    """
    want = sorted(set(int(i) for i in indices))
    if want and want[0] < 0:
        raise ValueError(f"frame indices must be >= 0, got {want[0]}")
    if not want:
        return
    wanted = set(want)
    with _VideoSource(path, fps) as src:
        fps_f = float(src.fps)
        last: np.ndarray | None = None
        for slot, img in src.slots(0, want[-1] + 1, wanted=wanted.__contains__):
            out = img.copy() if img is last else img
            last = img
            yield VideoFrame(index=slot, time_s=slot / fps_f, image=out)
