"""The mel spectrogram Wav2Lip was trained on, in NumPy (no librosa).

Wav2Lip's audio encoder reads 16 consecutive frames of an 80-band log-mel spectrogram of 16 kHz
speech: pre-emphasis 0.97, a centred STFT (800-sample periodic Hann window, hop 200 = 12.5 ms,
reflect padding at the ends, as librosa 0.7 did), Slaney-style mel filters from 55 to 7600 Hz,
20 log10 amplitude floored at -100 dB, minus a 20 dB reference, scaled symmetrically to
[-4, 4]. Output frame ``t`` of a video at ``fps`` gets mel frames ``int(t * 80 / fps)`` + 0..15
(the last 16 when the speech ends). These are the published model's training settings; changing
any of them makes the checkpoints see speech they were not trained on.

Frames are computed block by block (:meth:`MelWindows.windows`), each exactly as the whole-file
spectrogram would have it, so memory stays flat for long speech.
"""

from __future__ import annotations

import functools

import numpy as np

from ...speech.analysis import hz_to_mel, mel_to_hz

__all__ = ["SAMPLE_RATE_HZ", "N_MELS", "WINDOW_FRAMES", "MEL_FPS", "mel_basis", "MelWindows"]

SAMPLE_RATE_HZ = 16000
N_FFT = 800
HOP = 200
N_MELS = 80
F_MIN_HZ, F_MAX_HZ = 55.0, 7600.0
PREEMPHASIS = 0.97
MIN_LEVEL_DB, REF_LEVEL_DB, MAX_ABS = -100.0, 20.0, 4.0
#: Mel frames per video frame window, and mel frames per second.
WINDOW_FRAMES = 16
MEL_FPS = SAMPLE_RATE_HZ / HOP


@functools.lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """(80, 401) float64 triangular mel filters, area-normalized (Slaney), 55-7600 Hz at 16 kHz."""
    freqs = np.linspace(0, SAMPLE_RATE_HZ / 2, 1 + N_FFT // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(F_MIN_HZ), hz_to_mel(F_MAX_HZ), N_MELS + 2))
    width = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / width[:-1, None]
    upper = ramps[2:] / width[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    return w * (2.0 / (edges[2:] - edges[:-2]))[:, None]


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic Hann


class MelWindows:
    """Wav2Lip's mel windows of a speech, computed on demand.

    Args:
        samples16k: (S,) float mono speech at 16 kHz in [-1, 1].
        fps: the video's frame rate.
    """

    def __init__(self, samples16k: np.ndarray, fps: float) -> None:
        self.x = np.asarray(samples16k, np.float32)
        self.fps = float(fps)
        self.n_mel = 1 + len(self.x) // HOP  # frames of the centred whole-file STFT

    def frames(self, j0: int, j1: int) -> np.ndarray:
        """(80, j1 - j0) float32 normalized log-mel frames ``j0 .. j1 - 1`` of the whole speech."""
        n = len(self.x)
        j = np.arange(j0, j1)
        idx = j[:, None] * HOP + np.arange(N_FFT)[None, :] - N_FFT // 2  # centred frames
        if n > 1:  # reflect padding at the two ends (numpy's "reflect": the edge not repeated)
            period = 2 * (n - 1)
            idx = np.abs(idx) % period
            idx = np.where(idx >= n, period - idx, idx)
        else:
            idx = np.zeros_like(idx)
        x = self.x.astype(np.float64)
        prev = np.where(idx > 0, x[np.maximum(idx - 1, 0)], 0.0)
        seg = (x[idx] - PREEMPHASIS * prev) * _window()  # pre-emphasis y[n] = x[n] - 0.97 x[n-1]
        mag = np.abs(np.fft.rfft(seg, axis=1))  # (J, 401)
        mel = mel_basis() @ mag.T  # (80, J)
        floor = 10.0 ** (MIN_LEVEL_DB / 20.0)
        db = 20.0 * np.log10(np.maximum(floor, mel)) - REF_LEVEL_DB
        s = 2 * MAX_ABS * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS
        return np.clip(s, -MAX_ABS, MAX_ABS).astype(np.float32)

    def start(self, t: int) -> int:
        """First mel frame of video frame ``t``'s window (the last full window at the end)."""
        s = int(t * MEL_FPS / self.fps)
        return max(0, min(s, self.n_mel - WINDOW_FRAMES))

    def windows(self, t0: int, t1: int) -> np.ndarray:
        """(t1 - t0, 1, 80, 16) float32 mel windows of video frames ``t0 .. t1 - 1``."""
        starts = np.array([self.start(t) for t in range(t0, t1)], np.int64)
        if len(starts) == 0:
            return np.zeros((0, 1, N_MELS, WINDOW_FRAMES), np.float32)
        lo, hi = int(starts.min()), int(starts.max()) + WINDOW_FRAMES
        mel = self.frames(lo, hi)
        if mel.shape[1] < hi - lo:  # speech shorter than one window: pad with the quietest level
            mel = np.pad(mel, ((0, 0), (0, hi - lo - mel.shape[1])), constant_values=-MAX_ABS)
        out = np.stack([mel[:, s - lo:s - lo + WINDOW_FRAMES] for s in starts])
        return out[:, None]
