"""Rendering speech that is still being synthesized: a planner over pieces that arrive one after
another (sentence by sentence), so the first frames are made while later sentences are spoken.

    pieces = synthesize_stream(text, ...)                    # SpeechPiece, SpeechPiece, ...
    chain = ChainPlanner(pieces, fps, make_planner)          # one sub-planner per piece
    render_stream(chain, compositor, chain.audio, out, ...)  # the one frame loop

Each piece plans the output frames its audio completely covers, from where the previous piece
stopped (the last piece up to ``max(1, round(duration_s * fps))``, exactly as a whole render),
and is planned by its own sub-planner (e.g. :class:`twintake.render.video.VideoPlanner`) on the
audio of exactly those frames, so frame times and phone times agree to the sample. Pieces start
with the pause between sentences, so nothing is lost at the joins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..types import Phone, Speech
from .stream import Planner

__all__ = ["GrowingAudio", "ChainPlanner"]


class GrowingAudio:
    """An :class:`~twintake.render.stream.AudioTrack` appended to piece by piece.

    Args:
        sample_rate_hz: the pieces' rate (an AAC rate).
    """

    def __init__(self, sample_rate_hz: int) -> None:
        self.sample_rate_hz = int(sample_rate_hz)
        self._buf = np.zeros(1 << 16, np.float32)
        self.length = 0

    def append(self, samples: np.ndarray) -> None:
        """Add (S,) float32 samples at the end."""
        n = len(samples)
        if self.length + n > len(self._buf):
            grown = np.zeros(max(2 * len(self._buf), self.length + n), np.float32)
            grown[: self.length] = self._buf[: self.length]
            self._buf = grown
        self._buf[self.length:self.length + n] = samples
        self.length += n

    def read(self, start: int, stop: int | None = None) -> np.ndarray:
        stop = self.length if stop is None else min(int(stop), self.length)
        return self._buf[int(start):stop]

    @property
    def samples(self) -> np.ndarray:
        """(S,) float32 copy of everything appended so far."""
        return self._buf[: self.length].copy()


#: ``make(speech, start_frame, stop_frame, previous) -> Planner``: a planner for frames
#: ``start .. stop - 1`` of the whole timeline, given ``speech`` that covers exactly them (its
#: time 0 = frame ``start``) and the previous sub-planner (None for the first).
PlannerFactory = Callable[[Speech, int, int, "Planner | None"], Planner]


class ChainPlanner:
    """A :class:`~twintake.render.stream.Planner` over speech pieces as they arrive.

    Args:
        pieces: :class:`~twintake.speech.synthesize.SpeechPiece`-like objects in speaking order:
            ``samples``, ``sample_rate_hz``, ``phones`` (times in the whole utterance),
            ``start_s``, and optionally ``index``/``total`` (for the progress estimate).
        fps: frame rate of the plan.
        make: :data:`PlannerFactory`.
        max_frames: stop planning after this many frames (the job's duration limit).

    Attributes:
        audio: the :class:`GrowingAudio` to hand to the stream.
        n_frames: frames planned so far plus an estimate of the rest (exact at the end).
        cut_at_s: where the speech was cut because it ran past ``max_frames`` (seconds; the
            audio is cut there too, so sound and picture end together), else None.
    """

    def __init__(self, pieces: Iterable[Speech], fps: float, make: PlannerFactory,
                 max_frames: int | None = None) -> None:
        self._pieces: Iterator[Speech] = iter(pieces)
        self.fps = float(fps)
        self._make = make
        self.max_frames = max_frames
        self.audio: GrowingAudio | None = None
        self.phones: list[Phone] = []
        self.texts: list[str] = []
        self.language = ""
        self.n_frames = 1
        self._sub: Planner | None = None
        self._offset = 0
        self._pending: Speech | None = None
        self.cut_at_s: float | None = None

    def _first(self) -> Speech:
        piece = next(self._pieces)  # raises what the synthesizer raises (bad text, voice...)
        self.audio = GrowingAudio(piece.sample_rate_hz)
        return piece

    def start(self) -> None:
        """Wait for the first piece (the synthesizer's errors surface here, before any file
        is opened)."""
        if self.audio is None:
            self._pending = self._first()

    def _next_piece(self) -> Speech | None:
        if self.audio is None:
            self.start()
        piece = self._pending
        if piece is not None:
            self._pending = None
            return piece
        return next(self._pieces, None)

    def blocks(self) -> Iterator[tuple[int, int]]:
        # each piece is planned as soon as it arrives (no look-ahead: waiting for the next piece
        # to know whether this one is the last would delay the first frame by a whole sentence);
        # a piece plans the frames its audio covers completely, and when the stream ends the
        # timeline is completed as a whole render would end it (round(duration * fps) frames)
        piece = self._next_piece()
        last = None
        while piece is not None:
            self.audio.append(np.asarray(piece.samples, np.float32))
            self.phones.extend(piece.phones)
            self.texts.append(piece.text)
            self.language = self.language or piece.language
            last = piece
            f1 = int(np.floor(self.audio.length / self.audio.sample_rate_hz * self.fps + 1e-9))
            done, total = getattr(piece, "index", 0) + 1, getattr(piece, "total", 0)
            estimate = max(f1 + 1, int(f1 * max(total, done) / done))
            yield from self._plan_to(f1, piece, estimate)
            if self.max_frames is not None and self._offset >= self.max_frames:
                break
            piece = next(self._pieces, None)
        if last is not None and (self.max_frames is None or self._offset < self.max_frames):
            f1 = max(1, int(round(self.audio.length / self.audio.sample_rate_hz * self.fps)))
            yield from self._plan_to(f1, last, f1)
        self.n_frames = max(1, self._offset)
        if self.max_frames is not None and self.audio is not None and self._offset >= self.max_frames:
            end = int(round(self.max_frames * self.audio.sample_rate_hz / self.fps))
            # more speech than the limit allows: sound past it, or (rarely: the sound ends exactly
            # at the limit) another sentence still to come
            if self.audio.length > end or next(self._pieces, None) is not None:
                self.audio.length = min(self.audio.length, end)
                self.cut_at_s = self.max_frames / self.fps

    def _plan_to(self, f1: int, piece: Speech, estimate: int) -> Iterator[tuple[int, int]]:
        """Plan frames ``self._offset .. f1 - 1`` (capped at ``max_frames``) with a new
        sub-planner over the audio they cover; ``estimate`` = the timeline's expected length."""
        if self.max_frames is not None:
            f1 = min(f1, self.max_frames)
        f0 = self._offset
        if f1 <= f0:
            return
        rate = self.audio.sample_rate_hz
        a0, a1 = int(round(f0 * rate / self.fps)), int(round(f1 * rate / self.fps))
        t0 = f0 / self.fps
        local = Speech(samples=self.audio.read(a0, a1).copy(), sample_rate_hz=rate,
                       phones=_local_phones(self.phones, t0, f1 / self.fps), text=piece.text,
                       language=piece.language)
        self._sub = self._make(local, f0, f1, self._sub)
        self.n_frames = max(estimate, f1)
        for b0, b1 in self._sub.blocks():
            yield f0 + b0, f0 + b1
        self._offset = f1

    def speech_block(self, start: int, stop: int) -> None:
        self._sub.speech_block(start - self._offset, stop - self._offset)

    def motion_block(self, start: int, stop: int):
        return self._sub.motion_block(start - self._offset, stop - self._offset)

    def speech(self) -> Speech:
        """The whole speech rendered (after the stream has finished)."""
        rate = self.audio.sample_rate_hz if self.audio is not None else 24000
        samples = self.audio.samples if self.audio is not None else np.zeros(0, np.float32)
        phones = list(self.phones)
        if self.cut_at_s is not None:  # what was spoken: the phones up to the cut
            phones = [Phone(p.symbol, p.start_s, min(p.end_s, self.cut_at_s)) for p in phones if p.start_s < self.cut_at_s]
        return Speech(samples=samples, sample_rate_hz=rate, phones=phones, text=" ".join(self.texts),
                      language=self.language)


def _local_phones(phones: list[Phone], t0: float, t1: float) -> list[Phone]:
    """The phones overlapping ``[t0, t1)``, clipped to it and shifted so ``t0`` is 0."""
    out = []
    for p in phones:
        s, e = max(p.start_s, t0), min(p.end_s, t1)
        if e > s:
            out.append(Phone(p.symbol, round(s - t0, 6), round(e - t0, 6)))
    if not out or out[0].start_s > 0:
        out.insert(0, Phone("SIL", 0.0, out[0].start_s if out else round(t1 - t0, 6)))
    return out
