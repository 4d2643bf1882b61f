"""The inaudible audio mark: time-domain spread spectrum under the speech (own implementation;
no offline library fits - AudioSeal downloads weights).

The 108 coded payload bits (:mod:`.payload`) are sent one after another, each as 25 ms of a
band-limited (600-3800 Hz) pseudo-noise carrier multiplied by the bit's sign; the 2.7 s period
repeats for the whole speech. The carrier follows the speech's own loudness (about 28 dB under
it, smoothed over 20 ms), so it is masked by the voice and absent in silence.

Detection is blind and needs no synchronisation: the audio is resampled to 16 kHz, whitened
(phase only, in the carrier's band), folded onto one period, and each bit's carrier is
correlated with the fold at every circular shift (FFT); the shift with the most energy is the
alignment, and the bits are the correlations' signs there. Gain changes, MP3/AAC, resampling and
cuts do not matter.
"""

from __future__ import annotations

import numpy as np

from .payload import CODED_BITS, decode, encode
from .video_mark import MarkReport

__all__ = ["mark_audio", "detect_audio", "RATE_HZ"]

#: The rate the carrier is defined at (detection resamples to it).
RATE_HZ = 16000
_SYMBOL = 400  # samples at 16 kHz = 25 ms per coded bit
_PERIOD = _SYMBOL * CODED_BITS  # 43200 = 2.7 s
_BAND_HZ = (600.0, 3800.0)
_SEED = 0x7A1E_0A0D
#: Carrier level relative to the speech envelope (-28 dB).
LEVEL = 0.04
#: Confidence needed, with the twintake mark and CRC decoded exactly (unmarked speech: < 1.2;
#: marked, after MP3 and a 10 s cut: > 4; docs/provenance.md).
THRESHOLD = 3.0


def _band_mask(n: int) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    return (f >= _BAND_HZ[0]) & (f <= _BAND_HZ[1])


def _carrier() -> np.ndarray:
    """(PERIOD,) float64 unit-RMS band-limited pseudo-noise (periodic)."""
    rng = np.random.default_rng(_SEED)
    spec = np.fft.rfft(rng.standard_normal(_PERIOD))
    spec[~_band_mask(_PERIOD)] = 0
    c = np.fft.irfft(spec, _PERIOD)
    return c / np.sqrt(np.mean(c ** 2))


def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    if rate_in == rate_out:
        return x
    g = gcd(int(rate_in), int(rate_out))
    return resample_poly(x, rate_out // g, rate_in // g)


def _envelope(x: np.ndarray, rate: int) -> np.ndarray:
    """Smoothed RMS envelope (20 ms)."""
    from scipy.ndimage import uniform_filter1d

    n = max(1, int(0.02 * rate))
    # the running mean of x^2 can come out slightly negative in silence (float cancellation)
    return np.sqrt(np.maximum(uniform_filter1d(x.astype(np.float64) ** 2, n, mode="nearest"), 0.0))


def mark_audio(samples: np.ndarray, sample_rate_hz: int, job_id: int, level: float = LEVEL,
               offset: int = 0) -> np.ndarray:
    """Mark mono float speech with ``job_id``; returns float32 samples of the same length and rate.

    ``offset``: where ``samples`` start in the whole utterance (samples at ``sample_rate_hz``),
    so that pieces marked one by one (streamed speech) carry one continuous carrier."""
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        return x
    period = _PERIOD * sample_rate_hz / RATE_HZ
    pad = int(offset % period) if float(period).is_integer() else int(offset)
    n16 = int(np.ceil((x.size + pad) * RATE_HZ / sample_rate_hz)) + 1
    signs = np.repeat(encode(job_id).astype(np.float64), _SYMBOL)
    reps = n16 // _PERIOD + 1
    wm16 = np.tile(_carrier() * signs, reps)[:n16]
    wm = _resample(wm16, RATE_HZ, sample_rate_hz)[pad: pad + x.size]
    if wm.size < x.size:
        wm = np.pad(wm, (0, x.size - wm.size))
    out = x + (level * _envelope(x, sample_rate_hz) * wm).astype(np.float32)
    return np.clip(out, -1.0, 1.0)


def _whiten(x: np.ndarray) -> np.ndarray:
    """Phase-only spectrum in the carrier band (STFT 512/256, Hann, overlap-add)."""
    n, hop = 512, 256
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    win = np.hanning(n + 1)[:-1]
    frames = 1 + (x.size - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.fft.rfft(x[idx] * win, axis=1)
    spec = spec / (np.abs(spec) + 1e-9 * (np.abs(spec).max() + 1e-12))
    spec[:, ~_band_mask(n)] = 0
    y = np.fft.irfft(spec, n, axis=1) * win
    out = np.zeros(x.size)
    np.add.at(out, idx, y)
    return out


def detect_audio(samples: np.ndarray, sample_rate_hz: int, expected: int | None = None) -> MarkReport:
    """Look for the twintake audio mark in mono float samples (any rate, any gain, any cut)."""
    x = _resample(np.asarray(samples, dtype=np.float64), int(sample_rate_hz), RATE_HZ)
    seconds = x.size / RATE_HZ
    if x.size < _PERIOD // 2 or not np.any(x):
        return MarkReport(False, 0.0, 0.0, None, round(seconds, 2))
    r = _whiten(x)
    reps = int(np.ceil(r.size / _PERIOD))
    fold = np.pad(r, (0, reps * _PERIOD - r.size)).reshape(reps, _PERIOD).sum(axis=0)
    c = _carrier()
    fr = np.fft.rfft(fold)
    corr = np.empty((CODED_BITS, _PERIOD))
    for k in range(CODED_BITS):  # correlation of bit k's carrier with the fold at every shift
        ck = np.zeros(_PERIOD)
        ck[k * _SYMBOL:(k + 1) * _SYMBOL] = c[k * _SYMBOL:(k + 1) * _SYMBOL]
        corr[k] = np.fft.irfft(fr * np.conj(np.fft.rfft(ck)), _PERIOD)
    energy = np.sum(corr ** 2, axis=0)
    shift = int(np.argmax(energy))
    soft = corr[:, shift]
    soft = soft / (np.sqrt(np.median(energy) / CODED_BITS) + 1e-12)  # ~N(0, 1) without a mark
    d = decode(soft, expected)
    return MarkReport.from_decoded(d, THRESHOLD, round(seconds, 2))
