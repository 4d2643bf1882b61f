"""An energy voice-activity detector for voice references (which frames hold speech)."""

from __future__ import annotations

import numpy as np

__all__ = ["VAD_FRAME_S", "speech_segments"]

#: Frame length of :func:`speech_segments`, seconds.
VAD_FRAME_S = 0.02


def speech_segments(samples: np.ndarray, rate: int, frame_s: float = VAD_FRAME_S) -> np.ndarray:
    """Energy VAD: boolean (n_frames,) of ``frame_s`` frames holding speech.

    A frame is speech when its RMS level is within 35 dB of the loud (98th percentile) level
    and above -55 dBFS; decisions are smoothed (gaps under 0.2 s filled, bursts under 0.06 s
    dropped).
    """
    n = int(round(frame_s * rate))
    frames = len(samples) // n
    if frames == 0:
        return np.zeros(0, bool)
    x = samples[: frames * n].reshape(frames, n).astype(np.float64)
    db = 10 * np.log10(np.mean(x**2, axis=1) + 1e-12)
    thr = max(np.percentile(db, 98) - 35.0, -55.0)
    speech = db > thr
    speech = _fill_runs(speech, False, int(0.2 / frame_s))
    return _fill_runs(speech, True, int(0.06 / frame_s))


def _fill_runs(mask: np.ndarray, value: bool, max_len: int) -> np.ndarray:
    """Flip interior runs of ``value`` shorter than ``max_len`` frames."""
    out = mask.copy()
    i = 0
    while i < len(out):
        if out[i] == value:
            j = i
            while j < len(out) and out[j] == value:
                j += 1
            interior = i > 0 and j < len(out) if not value else True
            if j - i < max_len and interior:
                out[i:j] = not value
            i = j
        else:
            i += 1
    return out
