"""The phone-recognition stage: the :class:`PhoneRecognizer` protocol, the :data:`RECOGNIZERS`
registry, the phone set and the clean-up every backend's output goes through.

A recognizer backend turns 16 kHz speech into timed phones; :func:`twintake.speech.phones.
recognize_phones` resamples the input, calls the backend named by ``backend=`` and makes the
result a clean cover of the audio (:func:`finalize_phones`). A second backend plugs in with one
call and no pipeline change::

    from twintake.speech.phones import RECOGNIZERS
    RECOGNIZERS.register("mine", "my_package.asr:MyRecognizer")   # or the class itself
    phones = recognize_phones(samples, 16000, backend="mine")

The default ``"pocketsphinx"`` (:mod:`twintake.speech.phones.pocketsphinx`) is registered by
path: PocketSphinx is imported when speech is first decoded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from twintake.registry import Registry
from twintake.types import Phone

from ..analysis import _mono, frame_levels_db

__all__ = ["ARPABET_PHONES", "SAMPLE_RATE_HZ", "PhoneRecognizer", "PhoneAligner", "RECOGNIZERS",
           "DEFAULT_RECOGNIZER", "normalize_symbol", "finalize_phones"]

#: The 39 CMUdict / ARPAbet phones (stress removed).
ARPABET_PHONES: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
    "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
_ARPABET = frozenset(ARPABET_PHONES)

#: Rate of the samples handed to a backend, in hertz (the en-us acoustic model's rate).
SAMPLE_RATE_HZ = 16000
_LEVELS_PER_S = 100  # 10 ms level frames
SILENT_DB = -60.0  # 10 ms frames below this are silence


@runtime_checkable
class PhoneRecognizer(Protocol):
    """A phone-recognition backend, built without arguments by its registry factory."""

    def recognize(self, samples: np.ndarray, sample_rate_hz: int, mode: str) -> list[Phone]:
        """Recognize the phones of speech (any language, mapped to the English phone set).

        Args:
            samples: (S,) float64 mono in [-1, 1], validated, at ``sample_rate_hz``
                (:data:`SAMPLE_RATE_HZ`, 16 kHz, when called by ``recognize_phones``).
            sample_rate_hz: rate of ``samples`` in hertz.
            mode: ``"accurate"`` or ``"fast"`` (a speed / accuracy trade-off).
        Returns:
            Phones with times in seconds from the start of ``samples``, symbols ARPAbet or
            ``"SIL"``. Order, gaps, overlaps and times past the ends are allowed: the caller
            sorts, clips and fills (:func:`finalize_phones`).
        Raises:
            SpeechError: unknown ``mode`` or a decoder failure.
            BackendError: the backend's package is missing.
        """
        ...


@runtime_checkable
class PhoneAligner(Protocol):
    """A recognizer that can also force-align a known phone sequence (optional)."""

    def align(self, samples: np.ndarray, sample_rate_hz: int, phonemes: Sequence[str]) -> list[Phone]:
        """Place ``phonemes`` (ARPAbet, validated, no ``"SIL"``) on the audio, in order.

        Args and returns as in :meth:`PhoneRecognizer.recognize`, with ``"SIL"`` where pauses
        were found.
        Raises:
            SpeechError: silent or too short audio, or no alignment found.
        """
        ...


#: Phone-recognition backends by name; ``RECOGNIZERS.create(name)`` builds a
#: :class:`PhoneRecognizer`.
RECOGNIZERS: Registry[PhoneRecognizer] = Registry("phone recognizer")
RECOGNIZERS.register("pocketsphinx", "twintake.speech.phones.pocketsphinx:PocketSphinxRecognizer")
DEFAULT_RECOGNIZER = "pocketsphinx"

_STRESS = re.compile(r"[0-9]+$")


def normalize_symbol(symbol: str) -> str:
    """Map a recognizer / dictionary symbol to ARPAbet without stress, or ``"SIL"``.

    ``"AH0"`` -> ``"AH"``; ``"sil"``, ``"+NSN+"``, ``"+SPN+"``, ``"<s>"``, ``"</s>"``,
    ``"<sil>"``, ``"(NULL)"`` and anything not in :data:`ARPABET_PHONES` -> ``"SIL"``.
    """
    s = _STRESS.sub("", symbol.strip().upper())
    if s.startswith("TT_"):
        s = s[3:]
    return s if s in _ARPABET else "SIL"


def to_16k(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Validate, then resample to 16 kHz float64 (polyphase, scipy.signal.resample_poly).

    Raises:
        SpeechError: not mono float, not finite, or a non-positive rate.
    """
    x = _mono(samples, sample_rate_hz)
    sr = int(sample_rate_hz)
    if sr != SAMPLE_RATE_HZ and x.size:
        from ..analysis import resample

        x = resample(x, sr, SAMPLE_RATE_HZ).astype(np.float64)
    return x


def levels_db(x: np.ndarray) -> np.ndarray:
    """Levels (dBFS) of the 10 ms frames of 16 kHz audio ``x``; shape (ceil-ish S / 160,)."""
    return frame_levels_db(x, SAMPLE_RATE_HZ, hop_s=0.01, win_s=0.01)


def silent_spans(x: np.ndarray) -> list[tuple[float, float]]:
    """Spans (seconds) where 10 ms levels of 16 kHz ``x`` stay below -60 dBFS for at least 50 ms."""
    quiet = np.concatenate([[False], levels_db(x) <= SILENT_DB, [False]])
    d = np.diff(quiet.astype(np.int8))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(a / _LEVELS_PER_S, b / _LEVELS_PER_S) for a, b in zip(starts, ends) if b - a >= 5]


def _carve(
    raw: list[tuple[str, float, float]], spans: list[tuple[float, float]]
) -> list[tuple[str, float, float]]:
    """Remove the silent ``spans`` from the recognized phones (they become SIL gaps)."""
    if not spans:
        return raw
    out: list[tuple[str, float, float]] = []
    for w, s, e in raw:
        pieces = [(s, e)]
        for a, b in spans:
            if b <= s or a >= e:
                continue
            nxt = []
            for ps_, pe in pieces:
                if ps_ < a:
                    nxt.append((ps_, min(pe, a)))
                if pe > b:
                    nxt.append((max(ps_, b), pe))
            pieces = nxt
        out.extend((w, ps_, pe) for ps_, pe in pieces if pe - ps_ >= 0.01)
    return out


def finalize_phones(raw: Sequence[Phone], duration_s: float,
                    silent: Sequence[tuple[float, float]] = ()) -> list[Phone]:
    """Make a backend's phones a clean cover of ``[0, duration_s]``.

    The ``silent`` spans (seconds) are cut out of the phones first (they become ``"SIL"``); then
    symbols are normalized (:func:`normalize_symbol`), times clipped to the audio, phones sorted
    and made non-overlapping (a later phone starts where the earlier ends), gaps filled with
    ``"SIL"`` and adjacent ``"SIL"`` merged; times are rounded to the microsecond.
    """
    tuples = [(p.symbol, p.start_s, p.end_s) for p in raw]
    return _finalize(_carve(tuples, list(silent)), duration_s)


def _finalize(raw: list[tuple[str, float, float]], duration_s: float) -> list[Phone]:
    """Clip, sort, make non-overlapping, fill gaps with SIL, merge adjacent SIL."""
    raw = sorted(((normalize_symbol(w), max(0.0, s), min(duration_s, e)) for w, s, e in raw),
                 key=lambda r: (r[1], r[2]))
    out: list[list] = []
    t = 0.0
    for sym, s, e in raw:
        s = max(s, t)
        if e <= s + 1e-9:
            continue
        if s > t + 1e-9:
            out.append(["SIL", t, s])
        out.append([sym, s, e])
        t = e
    if duration_s > t + 1e-9 or not out:
        out.append(["SIL", t, duration_s])
    merged: list[list] = []
    for item in out:
        if merged and item[0] == "SIL" and merged[-1][0] == "SIL":
            merged[-1][2] = item[2]
        else:
            merged.append(item)
    return [Phone(sym, float(round(s, 6)), float(round(e, 6))) for sym, s, e in merged]
