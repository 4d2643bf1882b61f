"""Frames in any order (a ping-pong or looping base timeline): decoded forward, with seeks where
they pay, and a small cache of recently decoded frames."""

from __future__ import annotations

import collections
import math
from collections.abc import Generator, Iterable, Iterator
from fractions import Fraction

import numpy as np

from ..errors import MediaError
from .decode import VideoFrame, _VideoSource
from .probe import PathLike

__all__ = ["iter_frames_at"]


class _Peekable:
    """An iterator with look-ahead."""

    def __init__(self, it: Iterable[int]) -> None:
        self._it = iter(it)
        self._buf: collections.deque[int] = collections.deque()

    def __iter__(self) -> _Peekable:
        return self

    def __next__(self) -> int:
        if self._buf:
            return self._buf.popleft()
        return next(self._it)

    def peek(self, n: int) -> int | None:
        """The n-th upcoming item (0 = next), or None at the end."""
        while len(self._buf) <= n:
            try:
                self._buf.append(next(self._it))
            except StopIteration:
                return None
        return self._buf[n]


def iter_frames_at(
    path: PathLike,
    indices: Iterable[int],
    fps: float | Fraction | None = None,
    max_buffer_bytes: int = 256 * 2**20,
) -> Iterator[VideoFrame]:
    """Yield the frames of arbitrary CFR timeline slots, in the order given.

    Typical use is a ping-pong order ``0..N-1, N-2..0, 1..N-1, ...`` when the speech is longer
    than the video. Memory stays bounded: decoded images live in an LRU cache of at most
    ``max_buffer_bytes`` (at least two frames). Forward runs decode sequentially; a backward run
    is decoded in chunks (seek to the keyframe before the chunk, decode the chunk into the
    cache, then serve it in reverse), with chunk starts placed on keyframes where possible so
    each group of pictures is decoded about once per pass. Repeated indices yield the same
    image again. Frames are identical to those of :func:`iter_frames` for the same slot.

    Args:
        path: video or image file.
        indices: slot indices, each in ``0 .. frame_count-1`` (may be a lazy iterable).
        fps: timeline rate (default the file's ``VideoInfo.fps``).
        max_buffer_bytes: bound on the bytes of decoded images held in memory.

    Yields:
        :class:`VideoFrame` per index; ``image`` is a fresh (H, W, 3) uint8 RGB array.

    Raises:
        MediaError: as :func:`iter_frames`.
        ValueError: an index is outside ``0 .. frame_count-1``.
    """
    with _VideoSource(path, fps) as src:
        yield from _frames_at(src, _Peekable(indices), max_buffer_bytes)


def _frames_at(
    src: _VideoSource, todo: _Peekable, max_buffer_bytes: int
) -> Iterator[VideoFrame]:
    fps_f = float(src.fps)
    n = src.frame_count
    cache: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
    capacity = max(2, max_buffer_bytes // max(1, src.frame_bytes))
    gen: Generator[tuple[int, np.ndarray], None, None] | None = None
    gen_next = -1  # slot `gen` yields next
    forward_gap = max(1, math.ceil(2 * src.fps))

    def put(slot: int, img: np.ndarray) -> None:
        nonlocal capacity
        capacity = max(2, max_buffer_bytes // max(1, img.nbytes))
        cache[slot] = img
        cache.move_to_end(slot)
        while len(cache) > capacity:
            cache.popitem(last=False)

    def restart(slot: int) -> None:
        nonlocal gen, gen_next
        if gen is not None:
            gen.close()
        gen = src.slots(slot)
        gen_next = slot

    def advance_to(slot: int) -> np.ndarray:
        nonlocal gen_next
        assert gen is not None
        for s, img in gen:
            gen_next = s + 1
            put(s, img)
            if s == slot:
                return img
        raise MediaError(f"{src.path}: frame {slot} could not be decoded")  # pragma: no cover

    for idx in todo:
        idx = int(idx)
        if not 0 <= idx < n:
            raise ValueError(f"frame index {idx} is outside 0..{n - 1} of {src.path}")
        img = cache.get(idx)
        if img is not None:
            cache.move_to_end(idx)
        else:
            backward_next = todo.peek(0)
            forward = gen is not None and gen_next <= idx
            if forward and not _worth_seeking(src, gen_next, idx, forward_gap):
                img = advance_to(idx)
            elif backward_next is not None and backward_next < idx and backward_next >= idx - 1:
                # a backward run: find how far it goes (within what the cache can hold)
                run_end = idx
                k = 0
                while idx - run_end + 1 < capacity:
                    nxt = todo.peek(k)
                    if nxt is None or not (run_end - 1 <= nxt <= run_end):
                        break
                    run_end = nxt
                    k += 1
                lo_min = max(run_end, idx - capacity + 1)
                if lo_min == run_end:
                    lo = run_end
                else:
                    keys = src.keyframe_slots_between(lo_min, idx)
                    lo = keys[0] if keys else lo_min
                restart(lo)
                img = advance_to(idx)
            else:
                restart(idx)
                img = advance_to(idx)
        yield VideoFrame(index=idx, time_s=idx / fps_f, image=img.copy())


def _worth_seeking(src: _VideoSource, position: int, target: int, forward_gap: int) -> bool:
    """True when seeking to ``target`` beats decoding forward from ``position``."""
    if target == position:
        return False
    key = src.keyframe_slot_at_or_before(target)
    if key is not None:
        return key > position
    return target - position > forward_gap
