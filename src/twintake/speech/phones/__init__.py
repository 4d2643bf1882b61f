"""Phone recognition and forced alignment through registered backends (CPU, offline).

    from twintake.speech.phones import recognize_phones
    phones = recognize_phones(samples, 16000)      # list[Phone], covering the audio

Phones are ARPAbet (the 39 CMUdict phones, upper case, no stress digits) or ``"SIL"``. Non-English
speech is decoded with the same English phone set (closest English phones), which is what the
viseme mapping needs.

Backends implement :class:`PhoneRecognizer` (and optionally :class:`PhoneAligner`) and are
registered in :data:`RECOGNIZERS`; the default ``"pocketsphinx"`` is PocketSphinx 5's allphone
search and word alignment (:mod:`twintake.speech.phones.pocketsphinx`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from twintake.errors import BackendError, SpeechError
from twintake.types import Phone

from ..analysis import _mono
from .base import (
    _ARPABET,
    _STRESS,
    ARPABET_PHONES,
    DEFAULT_RECOGNIZER,
    RECOGNIZERS,
    SAMPLE_RATE_HZ,
    PhoneAligner,
    PhoneRecognizer,
    finalize_phones,
    normalize_symbol,
    silent_spans,
    to_16k,
)

__all__ = ["ARPABET_PHONES", "recognize_phones", "align_phones", "normalize_symbol", "RECOGNIZERS",
           "PhoneRecognizer", "PhoneAligner", "SAMPLE_RATE_HZ"]


def recognize_phones(
    samples: np.ndarray, sample_rate_hz: int = 16000, *, mode: str = "accurate",
    backend: str = DEFAULT_RECOGNIZER,
) -> list[Phone]:
    """Recognize the phone sequence and timings of speech (any language, English phone set).

    Audio is validated and resampled to 16 kHz (``scipy.signal.resample_poly``), recognized by
    the backend, then cleaned: any stretch below -60 dBFS for 50 ms or more is ``"SIL"``
    whatever the backend said, and the phones are clipped, sorted and gap-filled
    (:func:`~twintake.speech.phones.base.finalize_phones`). The default backend, PocketSphinx 5
    allphone search with the bundled ``en-us`` models, is described in
    :meth:`twintake.speech.phones.pocketsphinx.PocketSphinxRecognizer.recognize`.

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples`` in hertz.
        mode: ``"accurate"`` (default) or ``"fast"``.
        backend: name of a registered recognizer (see :data:`RECOGNIZERS`).

    Returns:
        Phones sorted by time, non-overlapping, covering exactly ``[0, S / sample_rate_hz]``
        (gaps filled with ``"SIL"``; adjacent silences merged). Symbols are ARPAbet without
        stress or ``"SIL"`` (noise / spoken-noise / filler units map to ``"SIL"``).

    Raises:
        SpeechError: invalid samples (not mono float, not finite), unknown mode, or a decoder
            failure.
        BackendError: unknown backend, or its package is missing.
    """
    recognizer = RECOGNIZERS.create(backend)
    x = to_16k(samples, sample_rate_hz)
    duration_s = _mono(samples, sample_rate_hz).size / float(sample_rate_hz)
    raw = recognizer.recognize(x, SAMPLE_RATE_HZ, mode)
    return finalize_phones(raw, duration_s, silent_spans(x))


def align_phones(
    samples: np.ndarray, sample_rate_hz: int, phonemes: Sequence[str], *,
    backend: str = DEFAULT_RECOGNIZER,
) -> list[Phone]:
    """Force-align a known ARPAbet phone sequence to speech.

    The default backend uses PocketSphinx 5 word alignment (``Decoder.set_align_text``) over a
    dictionary with one pseudo-word per phone, so the aligned word segments are the phone
    segments; optional silence is allowed between any two phones and at both ends. The whole
    file is aligned as one utterance (see
    :meth:`twintake.speech.phones.pocketsphinx.PocketSphinxRecognizer.align`).

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.
        phonemes: ARPAbet phones in spoken order; case and stress digits are ignored and
            ``"SIL"`` / ``"SP"`` entries are dropped (pauses are found by the aligner).
        backend: name of a registered recognizer that can align (a :class:`PhoneAligner`).

    Returns:
        Phones as in :func:`recognize_phones`: sorted, non-overlapping, covering the duration,
        with the given phones in order and ``"SIL"`` where pauses were found.

    Raises:
        SpeechError: empty or unknown phones, silent or too short audio, or no alignment found
            (the phones do not fit the audio).
        BackendError: unknown backend, one that cannot align, or its package is missing.
    """
    wanted: list[str] = []
    for p in phonemes:
        q = _STRESS.sub("", str(p).strip().upper())
        if q in ("SIL", "SP", "SPN", ""):
            continue
        if q not in _ARPABET:
            raise SpeechError(f"cannot align unknown phone {p!r}; use the 39 ARPAbet phones")
        wanted.append(q)
    if not wanted:
        raise SpeechError("nothing to align: the phone sequence is empty")
    aligner = RECOGNIZERS.create(backend)
    if not isinstance(aligner, PhoneAligner):
        raise BackendError(f"the phone recognizer {backend!r} cannot align phones; use "
                           f"backend={DEFAULT_RECOGNIZER!r}")
    x = to_16k(samples, sample_rate_hz)
    duration_s = _mono(samples, sample_rate_hz).size / float(sample_rate_hz)
    return finalize_phones(aligner.align(x, SAMPLE_RATE_HZ, wanted), duration_s)
