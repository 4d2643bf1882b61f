"""Voice conversion of finished speech: WORLD analysis, the spectral mapping of :mod:`.world`
(cepstral statistics transfer by default) and F0 mapping, timing kept; the ``world`` backend of
:data:`twintake.speech.voice.CONVERTERS`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ..analysis import resample
from .loudness import TARGET_LUFS, integrated_loudness

__all__ = ["DEFAULT_METHOD", "default_uses_phone_classes", "convert", "convert_many", "WorldConverter"]

log = logging.getLogger(__name__)

DEFAULT_METHOD = "mvn"


def default_uses_phone_classes() -> bool:
    """Whether :data:`DEFAULT_METHOD` is a phone-class method (:data:`.world.PHONE_METHODS`): then
    references are phone-labelled and the TTS voice's class statistics are needed."""
    from .world import PHONE_METHODS

    return DEFAULT_METHOD in PHONE_METHODS

#: D4C aperiodicity on every 2nd 5 ms frame, interpolated between (see :func:`.world.analyze`).
AP_EVERY = 2


def convert_many(chunks: Sequence[np.ndarray], rate: int, profile, *, method: str = DEFAULT_METHOD,
                 k: int = 4, strength: float = 1.0, warp: bool = False,
                 loudness_lufs: float | None = TARGET_LUFS, src_lf0_stats: tuple[float, float] | None = None,
                 src_cep_stats: dict | None = None, phones: Sequence[Sequence] | None = None,
                 src_class_stats: dict | None = None, **options) -> list[np.ndarray]:
    """Convert several pieces of one utterance; F0 statistics are pooled over all pieces.

    Args:
        chunks: mono float32 arrays (S_i,) at ``rate`` Hz.
        profile: the target speaker.
        method: ``"mvn"`` (default), ``"blend"`` or ``"knn"``; see :func:`.world.convert_features`.
        k, strength, warp, options: see :func:`.world.convert_features`.
        loudness_lufs: integrated loudness of the joined result (None: leave the level).
        src_lf0_stats, src_cep_stats: fixed source statistics (log-F0 mean/std; cepstral
            statistics as :func:`.world.cepstral_stats` returns) instead of the ones pooled
            over ``chunks`` — for sentence-by-sentence conversion that must not drift.
        phones: per chunk, its timed phones (:class:`~twintake.types.Phone`, seconds from the
            chunk's start; e.g. the TTS's own phones); used by ``method="phone"`` /
            ``"phone_knn"`` (labels of the source frames), ignored otherwise.
        src_class_stats: fixed per-phone-class source statistics (:func:`.world.class_stats`);
            None: pooled over ``chunks`` (classes with few frames back off to the global
            transform).
    Returns:
        converted arrays, same lengths and rate as the inputs.
    """
    from .world import (N_CODED, PHONE_METHODS, VC_RATE, active_frames, analyze, cepstral_stats, check_method,
                        class_stats, code, convert_features, estimate_warp, frame_classes, synthesize_world,
                        warp_envelope)

    check_method(method)  # before any analysis (and also when every chunk is too short to convert)
    feats = [analyze(resample(c, rate, VC_RATE), VC_RATE, ap_every=AP_EVERY) if len(c) > VC_RATE // 20 else None
             for c in chunks]
    voiced = [np.log(f.f0[f.f0 > 0]) for f in feats if f is not None]
    lf0 = np.concatenate(voiced) if voiced else np.zeros(0)
    stats = (float(lf0.mean()), float(lf0.std())) if lf0.size > 10 else None
    if src_lf0_stats is not None:
        stats = (float(src_lf0_stats[0]), float(src_lf0_stats[1]))
    # warp factor and source cepstral statistics pooled over all pieces (one sentence alone
    # gives noisy estimates)
    valid = [f for f in feats if f is not None]
    pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def pooled_frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coded envelopes, voiced, active) of all pieces, warped by the final factor; once."""
        if not pooled:
            w = float(warp) if not isinstance(warp, bool) else 1.0
            pooled.append((np.concatenate([code(warp_envelope(f.sp, w), VC_RATE, N_CODED) for f in valid]),
                           np.concatenate([f.f0 > 0 for f in valid]),
                           np.concatenate([active_frames(f.sp) for f in valid])))
        return pooled[0]

    cep_stats = None
    if valid and src_cep_stats is not None and not warp:
        cep_stats = src_cep_stats
    elif valid:
        if warp is True:
            vs = [np.log(np.maximum(f.sp[f.f0 > 0], 1e-16)) for f in valid if (f.f0 > 0).sum() > 0]
            if vs and sum(len(v) for v in vs) > 10:
                warp = estimate_warp(np.concatenate(vs).mean(0), profile.mean_logspec, VC_RATE)
        cep_stats = cepstral_stats(*pooled_frames()) or None
    classes: list[np.ndarray | None] = [None] * len(chunks)
    if method in PHONE_METHODS and phones is not None:
        if len(phones) != len(chunks):
            raise ValueError(f"phones has {len(phones)} entries for {len(chunks)} chunks")
        classes = [frame_classes(ph, len(f.f0)) if f is not None else None for ph, f in zip(phones, feats)]
        if src_class_stats is None and valid:
            coded, voiced_frames, active = pooled_frames()
            src_class_stats = class_stats(coded, voiced_frames, np.concatenate([cl for cl in classes if cl is not None]),
                                          active)
    out: list[np.ndarray] = []
    for c, f, cl in zip(chunks, feats, classes):
        if f is None:
            out.append(np.asarray(c, np.float32).copy())
            continue
        if cl is not None:
            options = {**options, "src_classes": cl, "src_class_stats": src_class_stats}
        f0, sp, factor = convert_features(f, profile, method=method, k=k, strength=strength, warp=warp,
                                          src_lf0_stats=stats, src_cep_stats=cep_stats, **options)
        y = synthesize_world(f0, sp, f.ap, VC_RATE)
        y = resample(y, VC_RATE, rate)
        y = np.pad(y, (0, max(0, len(c) - len(y))))[: len(c)]
        log.debug("converted %.2f s, warp %.2f", len(c) / rate, factor)
        out.append(y)
    if loudness_lufs is not None and out:
        joined = np.concatenate(out)
        lufs = integrated_loudness(joined, rate)
        if np.isfinite(lufs):
            gain = np.float32(10 ** ((loudness_lufs - lufs) / 20))
            out = [o * gain for o in out]
            peak = max(float(np.max(np.abs(o))) for o in out if o.size) if any(o.size for o in out) else 0
            if peak > 0.97:
                out = [_soft_limit(o) for o in out]
    return [o.astype(np.float32) for o in out]


def _soft_limit(x: np.ndarray, ceiling: float = 0.97) -> np.ndarray:
    knee = 0.8 * ceiling
    y = x.copy()
    over = np.abs(y) > knee
    span = ceiling - knee
    y[over] = np.sign(y[over]) * (knee + span * np.tanh((np.abs(y[over]) - knee) / span))
    return y


def convert(samples: np.ndarray, rate: int, profile, *, method: str = DEFAULT_METHOD, k: int = 4,
            strength: float = 1.0, warp: bool = False, loudness_lufs: float | None = TARGET_LUFS,
            phones: Sequence | None = None, **options) -> np.ndarray:
    """Convert mono speech (S,) float32 at ``rate`` Hz to the voice of ``profile``.

    Timing is preserved (the output has S samples); loudness is set to ``loudness_lufs``.
    ``phones``: the speech's timed phones (for ``method="phone"`` / ``"phone_knn"``).
    Raises BackendError when pyworld is not installed.
    """
    return convert_many([samples], rate, profile, method=method, k=k, strength=strength, warp=warp,
                        loudness_lufs=loudness_lufs, phones=None if phones is None else [phones], **options)[0]


class WorldConverter:
    """The ``world`` :class:`~twintake.speech.voice.base.VoiceConverter`: WORLD + cepstral
    statistics transfer (``method="mvn"``; ``"knn"`` and ``"blend"`` selectable).

    Args:
        method: see :func:`.world.convert_features`; None: :data:`DEFAULT_METHOD` (read when
            the converter is built).
    """

    name = "world"

    def __init__(self, method: str | None = None) -> None:
        from .world import check_method

        self.method = DEFAULT_METHOD if method is None else method
        check_method(self.method)

    def convert(self, chunks: Sequence[np.ndarray], rate: int, profile, **options) -> list[np.ndarray]:
        """Convert the pieces of one utterance (see :func:`convert_many`)."""
        return convert_many(chunks, rate, profile, method=self.method, **options)
