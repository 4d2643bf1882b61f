"""Level analysis of speech audio: loudness envelope, voice activity, silence checks.

All functions take mono float samples in [-1, 1] (shape (S,), any float dtype) and never
modify them. Levels are in dBFS relative to a full-scale *square* wave (RMS 1.0), so a
full-scale sine reads -3.01 dBFS and a 0.5-amplitude sine -9.03 dBFS. Levels are floored at
:data:`DB_FLOOR` (-100 dBFS) so digital silence is finite.

Methods: short-time RMS energy (Rabiner & Schafer, "Digital Processing of Speech Signals",
1978, ch. 4) and an energy voice-activity detector with a per-file adaptive threshold placed
between a noise-floor estimate (low percentile of frame levels) and a speech-level estimate
(high percentile), in the spirit of the percentile/minimum-statistics noise-floor trackers
(Martin, "Noise power spectral density estimation based on optimal smoothing and minimum
statistics", IEEE TSAP 2001), followed by hangover smoothing (gap closing / minimum
durations) as in ITU-T G.729 Annex B style VADs.
"""

from __future__ import annotations

import numpy as np

from twintake.errors import SpeechError

__all__ = [
    "DB_FLOOR",
    "frame_levels_db",
    "loudness_envelope",
    "voice_activity",
    "is_silent",
    "speech_activity_ratio",
    "hz_to_mel",
    "mel_to_hz",
]

#: Lowest level reported, in dBFS; digital silence reads exactly this.
DB_FLOOR: float = -100.0

# Frame grid of the internal VAD analysis (10 ms hop, 25 ms window, the usual ASR framing).
_VAD_HOP_S = 0.010
_VAD_WIN_S = 0.025
# A file whose speech level (95th percentile of frame levels) is below this is inaudible.
_MIN_SPEECH_LEVEL_DB = -65.0
# Peak below this (dBFS) counts as silent outright (-60 dBFS = amplitude 0.001).
_SILENT_PEAK_DB = -60.0


def _mono(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Validate and return samples as a contiguous float64 1-D array."""
    if sample_rate_hz is None or int(sample_rate_hz) <= 0:
        raise SpeechError(f"sample rate must be a positive number of hertz, got {sample_rate_hz!r}")
    x = np.asarray(samples)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise SpeechError(
            f"speech samples must be mono, shape (S,); got shape {x.shape}. Mix down to mono first."
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise SpeechError(f"speech samples must be float in [-1, 1], got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if x.size and not np.all(np.isfinite(x)):
        raise SpeechError("speech samples contain NaN or infinite values")
    return x


def _windowed_levels_db(
    x: np.ndarray, sr: float, centres_s: np.ndarray, win_s: float
) -> np.ndarray:
    """RMS level (dBFS, floored) of windows of length ``win_s`` centred on ``centres_s``.

    Windows are clipped at the signal ends. Uses a cumulative sum of squares: O(S + N).
    """
    n = x.size
    if n == 0 or centres_s.size == 0:
        return np.full(centres_s.shape, DB_FLOOR, dtype=np.float32)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = 0.5 * win_s * sr
    c = centres_s * sr
    lo = np.clip(np.floor(c - half).astype(np.int64), 0, n)
    hi = np.clip(np.ceil(c + half).astype(np.int64), 0, n)
    hi = np.maximum(hi, np.minimum(lo + 1, n))
    lo = np.minimum(lo, hi - 1).clip(0)
    energy = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    energy = np.maximum(energy, 0.0)  # cumsum round-off can go slightly negative
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(energy)
    return np.maximum(db, DB_FLOOR).astype(np.float32)


def frame_levels_db(
    samples: np.ndarray,
    sample_rate_hz: int,
    hop_s: float = _VAD_HOP_S,
    win_s: float = _VAD_WIN_S,
) -> np.ndarray:
    """Short-time RMS level on a regular grid.

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.
        hop_s: grid step in seconds; frame j is centred at ``(j + 0.5) * hop_s``.
        win_s: analysis window length in seconds (centred, clipped at the ends).

    Returns:
        shape (ceil(duration_s / hop_s),), float32, dBFS floored at -100.
    """
    x = _mono(samples, sample_rate_hz)
    duration_s = x.size / float(sample_rate_hz)
    n = int(np.ceil(duration_s / hop_s - 1e-9)) if x.size else 0
    centres = (np.arange(n) + 0.5) * hop_s
    return _windowed_levels_db(x, float(sample_rate_hz), centres, max(win_s, 1.0 / sample_rate_hz))


def loudness_envelope(
    samples: np.ndarray, sample_rate_hz: int, fps: float, min_window_s: float = 0.040
) -> np.ndarray:
    """RMS loudness per output video frame.

    Frame i covers ``[i / fps, (i + 1) / fps)``; its level is the RMS over a window centred on
    the frame's centre of length ``max(min_window_s, 1 / fps)`` (clipped at the ends), with no
    frequency weighting.

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.
        fps: output frame rate (> 0).
        min_window_s: shortest analysis window in seconds (40 ms by default, about one pitch
            period of low voices times four, so the envelope does not ripple with F0).

    Returns:
        shape (T,), float32, dBFS floored at -100, with ``T = round(duration_s * fps)``.

    Raises:
        SpeechError: samples not mono float / not finite, or invalid rate / fps.
    """
    if not fps or fps <= 0:
        raise SpeechError(f"fps must be positive, got {fps!r}")
    x = _mono(samples, sample_rate_hz)
    duration_s = x.size / float(sample_rate_hz)
    t = int(round(duration_s * fps))
    centres = (np.arange(t) + 0.5) / float(fps)
    return _windowed_levels_db(x, float(sample_rate_hz), centres, max(min_window_s, 1.0 / fps))


def _runs(mask: np.ndarray) -> list[tuple[int, int, bool]]:
    """Run-length encode a bool mask into (start, end_exclusive, value)."""
    if mask.size == 0:
        return []
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [mask.size]])
    return [(int(s), int(e), bool(mask[s])) for s, e in zip(starts, ends)]


def _fill_runs(mask: np.ndarray, value: bool, max_len: int, keep_edges: bool) -> np.ndarray:
    """Flip runs equal to ``value`` shorter than ``max_len`` frames (in place on a copy)."""
    out = mask.copy()
    runs = _runs(mask)
    for k, (s, e, v) in enumerate(runs):
        if v != value or e - s >= max_len:
            continue
        if keep_edges and (k == 0 or k == len(runs) - 1):
            continue  # leading/trailing silence is a real pause, not a gap inside a word
        out[s:e] = not value
    return out


def _activity_10ms(
    x: np.ndarray,
    sr: int,
    min_pause_s: float,
    min_speech_s: float,
    noise_percentile: float,
    speech_percentile: float,
    threshold_fraction: float,
) -> np.ndarray:
    """VAD decision on the 10 ms grid; shape (ceil(duration / 10 ms),), bool."""
    levels = frame_levels_db(x, sr)
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    noise_db = float(np.percentile(levels, noise_percentile))
    speech_db = float(np.percentile(levels, speech_percentile))
    if speech_db < _MIN_SPEECH_LEVEL_DB:
        return np.zeros(levels.shape, dtype=bool)
    # Threshold between noise floor and speech level; never more than 40 dB below the speech
    # level (digital silence would otherwise put it at -70 dBFS and breath noise would pass).
    threshold = max(noise_db + threshold_fraction * (speech_db - noise_db), speech_db - 40.0)
    # A file without pauses has noise ~ speech; keep the threshold well below the speech level.
    threshold = min(threshold, speech_db - 12.0)
    mask = levels > threshold
    hop = _VAD_HOP_S
    mask = _fill_runs(mask, True, max(1, int(round(0.03 / hop))), keep_edges=False)  # clicks
    mask = _fill_runs(mask, False, max(1, int(round(min_pause_s / hop))), keep_edges=True)
    mask = _fill_runs(mask, True, max(1, int(round(min_speech_s / hop))), keep_edges=False)
    return mask


def voice_activity(
    samples: np.ndarray,
    sample_rate_hz: int,
    fps: float,
    *,
    min_pause_s: float = 0.15,
    min_speech_s: float = 0.08,
    noise_percentile: float = 5.0,
    speech_percentile: float = 95.0,
    threshold_fraction: float = 0.3,
) -> np.ndarray:
    """Energy-based voice activity per output video frame, invariant to the recording level.

    Frame levels (25 ms windows, 10 ms hop) are compared with a per-file threshold
    ``max(noise + threshold_fraction * (speech - noise), speech - 40 dB)`` (capped at
    ``speech - 12 dB``), where ``noise`` / ``speech`` are the ``noise_percentile`` /
    ``speech_percentile`` percentiles of the frame levels. Then: active blips under 30 ms are
    dropped, inactive gaps shorter than ``min_pause_s`` inside speech are filled (stop
    closures and low-energy consonants are not pauses), and active runs shorter than
    ``min_speech_s`` are dropped. An output frame is active when at least half of its 10 ms
    frames are. Scaling the input by a constant changes nothing (all thresholds are relative),
    except that audio whose speech level is below -65 dBFS is treated as silent.

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.
        fps: output frame rate (> 0); frame i covers ``[i / fps, (i + 1) / fps)``.
        min_pause_s: shortest gap that counts as a pause, seconds.
        min_speech_s: shortest active run kept, seconds.
        noise_percentile, speech_percentile: percentiles (0-100) of frame levels used as the
            noise-floor and speech-level estimates.
        threshold_fraction: where the threshold sits between noise floor (0) and speech (1).

    Returns:
        shape (T,), bool, ``T = round(duration_s * fps)``; all False for silent audio.

    Raises:
        SpeechError: invalid samples, rate or fps.
    """
    if not fps or fps <= 0:
        raise SpeechError(f"fps must be positive, got {fps!r}")
    x = _mono(samples, sample_rate_hz)
    duration_s = x.size / float(sample_rate_hz)
    t = int(round(duration_s * fps))
    if t == 0:
        return np.zeros(0, dtype=bool)
    fine = _activity_10ms(
        x, sample_rate_hz, min_pause_s, min_speech_s,
        noise_percentile, speech_percentile, threshold_fraction,
    )
    if not fine.any():
        return np.zeros(t, dtype=bool)
    # Fraction of active 10 ms frames within each output frame, via a cumulative sum.
    csum = np.concatenate([[0], np.cumsum(fine.astype(np.int64))])
    edges = np.arange(t + 1) / float(fps) / _VAD_HOP_S
    lo = np.clip(np.floor(edges[:-1] + 1e-9).astype(np.int64), 0, fine.size)
    hi = np.clip(np.ceil(edges[1:] - 1e-9).astype(np.int64), 0, fine.size)
    hi = np.maximum(hi, np.minimum(lo + 1, fine.size))
    lo = np.minimum(lo, hi - 1).clip(0)
    frac = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return frac >= 0.5


def speech_activity_ratio(samples: np.ndarray, sample_rate_hz: int) -> float:
    """Fraction of the duration that :func:`voice_activity` marks as speech.

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.

    Returns:
        A float in [0, 1]; 0.0 for empty or silent audio.
    """
    x = _mono(samples, sample_rate_hz)
    if x.size == 0:
        return 0.0
    mask = voice_activity(x, sample_rate_hz, fps=100.0)
    return float(mask.mean()) if mask.size else 0.0


def is_silent(samples: np.ndarray, sample_rate_hz: int = 16000) -> bool:
    """Whether audio has no usable speech (used to reject silent speech input).

    True when the audio is empty, its peak is below -60 dBFS (amplitude 0.001), or
    :func:`voice_activity` finds no active frame.

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.

    Returns:
        True if silent.
    """
    x = _mono(samples, sample_rate_hz)
    if x.size == 0:
        return True
    peak = float(np.max(np.abs(x)))
    if peak <= 10.0 ** (_SILENT_PEAK_DB / 20.0):
        return True
    return not bool(voice_activity(x, sample_rate_hz, fps=100.0).any())


def resample(samples: np.ndarray, src_hz: int, dst_hz: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) of mono audio.

    Args:
        samples: (S,) float audio.
        src_hz, dst_hz: sampling rates.
    Returns:
        (S * dst_hz / src_hz,) float32; the input as float32 when the rates are equal.
    """
    x = np.asarray(samples)
    if int(src_hz) == int(dst_hz) or x.size == 0:
        return x.astype(np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(src_hz), int(dst_hz))
    return resample_poly(x.astype(np.float64), int(dst_hz) // g, int(src_hz) // g).astype(np.float32)


def hz_to_mel(f) -> np.ndarray:
    """Slaney's mel scale (librosa's default, ``htk=False``): linear below 1 kHz (200/3 Hz per
    mel), logarithmic above. ``f`` in Hz (any shape) -> float64 mels. Source: Slaney, "Auditory
    Toolbox", Interval Research TR 1998-010."""
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def mel_to_hz(m) -> np.ndarray:
    """The inverse of :func:`hz_to_mel`: mels (any shape) -> float64 Hz."""
    m = np.asarray(m, np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)
