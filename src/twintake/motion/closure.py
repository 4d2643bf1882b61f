"""Acoustic evidence for a lip closure: is a recognized P, B or M really a bilabial?

With recorded speech the phones come from pocketsphinx's English phone recognizer. On other
languages (and on English, less often) it hears bilabials that are not there, and the viseme
driver pressed the lips shut on loud vowels (on a portrait with Arabic speech 24 of 134 loud
frames were nearly closed; in 3 Arabic clips 8 of 54 recognized P/B/M show no closure in the
audio at all and 9 only a weak one). A real bilabial leaves a trace in the audio, because closing
the lips closes the vocal tract at its outlet:

* **/p b/: a closure interval.** While the lips are sealed nothing radiates from the mouth: the
  closure of a voiceless stop is near-silence, that of a voiced one carries only the *voice bar*,
  low-frequency energy (below ~500 Hz) radiated through the walls of the throat and cheeks, 20-30 dB
  under the neighbouring vowels, with the formants above it missing (Stevens, *Acoustic
  Phonetics*, MIT Press 1998, ch. 7; Kent & Read, *The Acoustic Analysis of Speech*, 2nd ed. 2002,
  ch. 6: "a gap or silent interval" / "a voice bar of low-frequency energy").
* **/m/: a nasal murmur.** Sound leaves only through the nose; the murmur has a strong first
  nasal resonance around 250-300 Hz, an antiresonance near 750-1250 Hz for /m/ and little energy
  above 1 kHz, and it is clearly weaker than the neighbouring vowels (Fujimura, "Analysis of nasal
  consonants", JASA 34, 1962; Kurowski & Blumstein, "Acoustic properties for place of articulation
  in nasal consonants", JASA 81, 1987: the murmur's spectrum falls steeply above the first nasal
  resonance; Stevens 1998 ch. 9: murmur amplitude in the F2-F3 range 15-25 dB under the vowel's).

A loud vowel is the opposite: near the local energy peak, with its first and second formants
(500-2500 Hz) carrying much of the energy. So per 10 ms frame this module measures, from the same
log-mel spectrogram as the spectral opening model (:func:`twintake.motion.opening.log_mel_100hz`):

* ``dip``: how far the frame's energy (80-7600 Hz) lies under the highest energy within
  +-150 ms (the neighbouring vowels), dB;
* ``tilt``: the energy above 1 kHz over the energy below 500 Hz, dB;

and the closure evidence ``q = max(ramp(dip, 6, 15), ramp(dip, 3, 8) * ramp(-tilt, 15, 25))`` in
[0, 1] (``ramp(x, a, b)`` rises linearly from 0 at a to 1 at b): a dip of 15 dB or more is a stop
closure (or a pause), a smaller dip counts when the spectrum is a murmur's (the band above 1 kHz
15-25 dB or more under the band below 500 Hz). A recognized bilabial's *strength*
(:func:`closure_spans`) is the largest evidence (held for 30 ms) within its span +-30 ms (the
recognizer's boundaries are rough), and where that evidence is clear its closure is re-timed to
it; the driver multiplies the bilabial's dominance (Cohen-Massaro alpha) by the strength, so a
closure with no acoustic evidence is dropped, one with weak evidence only narrows the mouth, and
a real one shuts the lips while the audio is closed rather than on the recognizer's rough span.
The phones themselves (and so the spectral opening model's viseme inputs) are not changed. Recorded speech only: a synthesized speech's phones
are exact (:class:`twintake.motion.driver.VisemeDriver`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..types import Phone
from .opening import _FMAX, _FMIN, _N_MELS, _htk_mel, log_mel_100hz
from .visemes import VISEMES, viseme_of

__all__ = ["closure_evidence", "closure_spans", "is_bilabial"]

#: Half-width of the window in which the neighbouring vowels' energy peak is looked for, 10 ms frames.
_PEAK_HALF = 15
#: A recognized bilabial's evidence is looked for within its span widened by this much, seconds.
_TOLERANCE_S = 0.03
#: Samples read around a span for the evidence (the +-150 ms context, the 25 ms window, the resampler).
_MARGIN_S = 0.3
#: dB ramps of the evidence (module docstring).
_DIP_STOP = (6.0, 15.0)
_DIP_MURMUR = (3.0, 8.0)
_TILT_MURMUR = (15.0, 25.0)


def _band_masks() -> tuple[np.ndarray, np.ndarray]:
    """(24,) bool masks of the mel bands centred under 500 Hz and over 1 kHz."""
    edges = np.linspace(_htk_mel(_FMIN), _htk_mel(_FMAX), _N_MELS + 2)
    centre = 700.0 * (10.0 ** (edges[1:-1] / 2595.0) - 1.0)
    return centre < 500.0, centre > 1000.0


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def is_bilabial(symbol: str) -> bool:
    """True for the phones whose viseme presses the lips together (P B M)."""
    return VISEMES[viseme_of(symbol)].closure


def closure_evidence(samples: np.ndarray, sample_rate_hz: int, start_s: float = 0.0,
                     stop_s: float | None = None) -> np.ndarray:
    """Per-10 ms acoustic evidence of a lip closure (module docstring), 0 = a loud vowel .. 1 = a
    closure interval or a nasal murmur.

    Args:
        samples: (S,) float mono speech in [-1, 1].
        sample_rate_hz: its rate, Hz.
        start_s, stop_s: the span wanted (default the whole speech); the samples are read
            :data:`_MARGIN_S` around it, so the evidence of a span equals that of the same frames
            of the whole speech (up to the resampler's edge).
    Returns:
        (M,) float64 in [0, 1], frame ``j`` centred at ``start_s' + j * 10 ms`` where ``start_s'``
        is ``start_s`` rounded down to 10 ms; ``M = ceil((stop_s - start_s') * 100)``.
    """
    sr = int(sample_rate_hz)
    total_s = len(samples) / float(sr)
    stop_s = total_s if stop_s is None else min(float(stop_s), total_s)
    f0 = int(np.floor(max(start_s, 0.0) * 100.0 + 1e-9))
    f1 = max(f0, int(np.ceil(stop_s * 100.0 - 1e-9)))
    if f1 == f0:
        return np.zeros(0)
    # read from a 10 ms boundary so that frame j of the slice is a frame of the whole speech
    m0 = max(0, f0 - int(_MARGIN_S * 100))
    m1 = f1 + int(_MARGIN_S * 100)
    part = np.asarray(samples[int(round(m0 * sr / 100.0)):int(round(m1 * sr / 100.0))], np.float32)
    if len(part) < sr // 100:
        return np.zeros(f1 - f0)
    power = np.exp(log_mel_100hz(part, sr))  # (M', 24), frame j centred at (m0 + j) * 10 ms
    low, high = _band_masks()
    energy = 10.0 * np.log10(power.sum(1) + 1e-12)
    tilt = 10.0 * np.log10((power[:, high].sum(1) + 1e-12) / (power[:, low].sum(1) + 1e-12))
    padded = np.pad(energy, _PEAK_HALF, mode="edge")
    peak = np.lib.stride_tricks.sliding_window_view(padded, 2 * _PEAK_HALF + 1).max(1)
    dip = peak - energy
    q = np.maximum(_ramp(dip, *_DIP_STOP), _ramp(dip, *_DIP_MURMUR) * _ramp(-tilt, *_TILT_MURMUR))
    q = np.concatenate([q, np.zeros(max(0, f1 - m0 - len(q)))])
    return q[f0 - m0:f1 - m0]


def closure_spans(phones: Sequence[Phone], samples: np.ndarray, sample_rate_hz: int,
                  start_s: float = 0.0, stop_s: float | None = None) -> np.ndarray:
    """How much, and when, each recognized bilabial may close the lips, from the audio.

    A bilabial's closure is looked for within its span widened by 30 ms on each side (the
    recognizer's boundaries are rough), in the :func:`closure_evidence` after a 30 ms minimum
    filter (a closure or a murmur lasts 40 ms or more; a single 10 ms dip is not one).

    Args:
        phones: the speech's phones (times in seconds of ``samples``).
        samples, sample_rate_hz: the speech (mono float, Hz).
        start_s, stop_s: only bilabials overlapping this span are measured (default all).
    Returns:
        (P, 3) float64, one row per phone: ``strength`` in [0, 1], ``start_s``, ``end_s``. Every
        phone that is not a bilabial (or lies outside the span) keeps strength 1 and its own times.
        A bilabial's strength is its largest evidence; where the evidence reaches 0.5, its times
        become the first and last such 10 ms frame (frame centres +-5 ms), so the lips close when
        the audio does; else they are kept.
    """
    out = np.array([[1.0, p.start_s, p.end_s] for p in phones], np.float64).reshape(-1, 3)
    stop_s = len(samples) / float(sample_rate_hz) if stop_s is None else stop_s
    idx = [i for i, p in enumerate(phones) if is_bilabial(p.symbol) and p.end_s > start_s and p.start_s < stop_s]
    if not idx:
        return out
    a = max(0.0, min(phones[i].start_s for i in idx) - _TOLERANCE_S - 0.01)
    b = max(phones[i].end_s for i in idx) + _TOLERANCE_S + 0.01
    q = closure_evidence(samples, sample_rate_hz, a, b)
    if len(q) >= 3:
        q = np.minimum(np.minimum(q, np.r_[q[1:], q[-1]]), np.r_[q[0], q[:-1]])
    f0 = int(np.floor(a * 100.0 + 1e-9))
    for i in idx:
        p = phones[i]
        lo = max(0, int(np.ceil((p.start_s - _TOLERANCE_S) * 100.0 - 1e-9)) - f0)
        hi = min(len(q), int(np.floor((p.end_s + _TOLERANCE_S) * 100.0 + 1e-9)) - f0 + 1)
        if hi <= lo:
            continue
        seg = q[lo:hi]
        out[i, 0] = float(seg.max())
        on = np.flatnonzero(seg >= 0.5)
        if len(on):
            out[i, 1] = (f0 + lo + on[0]) / 100.0 - 0.005
            out[i, 2] = (f0 + lo + on[-1]) / 100.0 + 0.005
    return out
