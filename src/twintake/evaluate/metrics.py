"""Metrics of lip-sync quality, image fidelity and voice.

Conventions: mouth shapes are the (T, 114) face-aligned descriptors of
:func:`twintake.motion.shapes.mouth_descriptors` (57 points: 20 outer lip, 20 inner lip, 17
jaw; eye midpoint at the origin, inter-ocular distance (IOD) 1), so distances in that frame are
already normalized by the IOD. Images are (H, W, 3) uint8 RGB or (H, W) grayscale. Every metric
returns plain floats (NaN when undefined, e.g. no silent frame) so results serialize to JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BackendError
from ..face import landmarks as L
from ..motion.shapes import N_POINTS, opening
from ..speech.wer import word_error_rate, word_errors  # noqa: F401 - part of this module's API

__all__ = [
    "LIP_POINTS",
    "lmd",
    "AVSync",
    "av_offset",
    "opening_correlation",
    "mouth_opening",
    "silent_mouth",
    "laplacian_variance",
    "mouth_sharpness",
    "ssim",
    "psnr",
    "temporal_jitter",
    "mouth_box",
    "identity_region",
    "speaker_similarity",
    "transcribe",
    "word_error_rate",
]

#: Indices (into the 57 descriptor points) of the 40 lip points, outer then inner contour.
LIP_POINTS = np.arange(len(L.LIPS_OUTER) + len(L.LIPS_INNER))


def _lips(desc: np.ndarray) -> np.ndarray:
    """(T, 114) descriptors -> (T, 40, 2) lip points."""
    return np.asarray(desc, np.float64).reshape(len(desc), N_POINTS, 2)[:, LIP_POINTS]


def _both_valid(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    return ok if valid is None else ok & np.asarray(valid, bool)


def lmd(generated: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Landmark distance (LMD) of the mouth.

    Definition: mean over frames and the 40 lip landmarks of the Euclidean distance between the
    generated and the ground-truth landmark, both in the face-aligned frame (each video aligned
    by its own upper-face similarity), i.e. normalized by the inter-ocular distance. Source:
    Chen, Maddox, Duan and Xu, "Hierarchical cross-modal talking face generation with dynamic
    pixel-wise loss", CVPR 2019 (LMD on mouth landmarks).

    Args:
        generated, truth: (T, 114) float face-aligned mouth descriptors.
        valid: (T,) bool frames to use (default: all with finite values).
    Returns:
        LMD in IOD units (multiply by 100 for "% of IOD"); NaN if no frame is usable.
    """
    ok = _both_valid(generated, truth, valid)
    if not ok.any():
        return float("nan")
    d = np.linalg.norm(_lips(generated[ok]) - _lips(truth[ok]), axis=-1)
    return float(d.mean())


@dataclass(frozen=True)
class AVSync:
    """Audio-visual synchrony.

    Attributes:
        offset_frames: lag (frames) maximizing the correlation; positive = the sound comes
            after the mouth movement (audio delayed), negative = the mouth lags the sound.
        confidence: Pearson correlation at that lag, in [-1, 1] (0 for a frozen mouth).
        correlations: (2 * max_lag + 1,) Pearson correlation for lags -max_lag..max_lag.
    """

    offset_frames: int
    confidence: float
    correlations: np.ndarray


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-12 else 0.0


def av_offset(mouth_opening: np.ndarray, loudness_db: np.ndarray, max_lag: int = 15,
              dynamic_range_db: float = 40.0) -> AVSync:
    """Audio-visual offset and sync confidence from mouth opening and speech loudness.

    Definition: ``c(k) = pearson(opening[t], loudness[t + k])`` over the overlapping frames, for
    k in [-max_lag, max_lag]; the offset is ``argmax_k c(k)`` and the confidence ``max_k c(k)``.
    Loudness is clipped to ``dynamic_range_db`` below its maximum so digital silence does not
    dominate. This is the energy/opening analogue of SyncNet's offset and confidence (Chung and
    Zisserman, "Out of time: automated lip sync in the wild", ACCV workshops 2016), using the
    face-mesh mouth opening instead of a learned embedding.

    Args:
        mouth_opening: (T,) inner-lip opening per frame (any unit, e.g. IOD), NaN where no face.
        loudness_db: (T,) loudness per frame in dBFS
            (:func:`twintake.speech.analysis.loudness_envelope` at the video's fps).
        max_lag: largest lag tried, frames (15 = 0.6 s at 25 fps).
        dynamic_range_db: loudness floor below the maximum.
    Returns:
        :class:`AVSync`.
    """
    n = min(len(mouth_opening), len(loudness_db))
    op = np.asarray(mouth_opening[:n], np.float64)
    ld = np.asarray(loudness_db[:n], np.float64)
    if n and np.isfinite(dynamic_range_db):
        ld = np.maximum(ld, ld.max() - dynamic_range_db)
    ok = np.isfinite(op)
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.zeros(len(lags))
    for i, k in enumerate(lags):
        lo, hi = max(0, -k), min(n, n - k)
        if hi - lo < 3:
            continue
        a, b, m = op[lo:hi], ld[lo + k:hi + k], ok[lo:hi]
        if m.sum() >= 3:
            corr[i] = _pearson(a[m], b[m])
    j = int(np.argmax(corr))
    # ties (e.g. all zero for a frozen mouth) resolve to the lag closest to 0
    best = np.flatnonzero(corr >= corr[j] - 1e-12)
    j = int(best[np.argmin(np.abs(lags[best]))])
    return AVSync(offset_frames=int(lags[j]), confidence=float(corr[j]), correlations=corr)


def opening_correlation(generated_opening: np.ndarray, real_opening: np.ndarray, max_lag: int = 15) -> AVSync:
    """How well the generated mouth opens and closes with the real mouth (self-reenactment only).

    Definition: ``c(k) = pearson(generated[t], real[t + k])`` for k in [-max_lag, max_lag]
    (frames where both have a face); returns the best lag (positive = the generated mouth is
    early) and ``c`` there, like :func:`av_offset` but against the real speaker's own inner-lip
    opening instead of the loudness. Unlike the loudness correlation, a mouth that merely follows
    the loudness does not score higher than the real one (the real mouth scores 1 at lag 0).
    Source: twintake's own; the opening-trajectory correlation used in visual-speech synthesis
    evaluation (e.g. Taylor et al., "A deep learning approach for generalized speech animation",
    SIGGRAPH 2017, report per-parameter correlations with the ground truth).

    Args:
        generated_opening, real_opening: (T,) inner-lip opening (IOD units), NaN where no face.
    Returns:
        :class:`AVSync` (offset in frames, correlation at it, all correlations).
    """
    real = np.asarray(real_opening, np.float64)
    fill = float(np.nanmedian(real)) if np.isfinite(real).any() else 0.0
    return av_offset(generated_opening, np.where(np.isfinite(real), real, fill), max_lag,
                     dynamic_range_db=np.inf)


def silent_mouth(mouth_opening: np.ndarray, silent: np.ndarray, closed: float, open_range: float) -> float:
    """How open the mouth is while the speech is silent.

    Definition: ``(mean(opening[silent]) - closed) / open_range``: the mean inner-lip opening in
    frames where the speech is silent (energy VAD, :func:`twintake.speech.analysis.voice_activity`)
    above the speaker's own closed mouth (2nd percentile of their opening in the real video),
    as a fraction of the speaker's opening range (98th minus 2nd percentile). 0 = closed as the
    speaker closes it, 1 = as wide as they open it. Source: twintake's own check that silence
    gives a closed, relaxed mouth.

    Args:
        mouth_opening: (T,) inner-lip opening, IOD units (NaN where no face).
        silent: (T,) bool, True where the speech is silent.
        closed: the speaker's closed opening, IOD units.
        open_range: the speaker's opening range, IOD units (> 0).
    Returns:
        Fraction of the opening range; NaN when no silent frame has a face.
    """
    n = min(len(mouth_opening), len(silent))
    op = np.asarray(mouth_opening[:n], np.float64)
    m = np.asarray(silent[:n], bool) & np.isfinite(op)
    if not m.any():
        return float("nan")
    return float((op[m].mean() - closed) / max(open_range, 1e-6))


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of a grayscale image (Pech-Pacheco et al., "Diatom
    autofocusing in brightfield microscopy: a comparative study", ICPR 2000): a focus/sharpness
    measure in squared grey levels. ``gray``: (H, W) uint8 or float."""
    import cv2

    return float(cv2.Laplacian(np.asarray(gray, np.float32), cv2.CV_32F, ksize=1).var())


def mouth_sharpness(generated_vars: np.ndarray, source_vars: np.ndarray) -> float:
    """Mouth sharpness of the output relative to the source.

    Definition: mean over frames of the variance of the Laplacian in the mouth box of the
    output, divided by the same mean on the real (source) frames. 1 = as sharp as the source,
    < 1 blurrier (e.g. resampling by the warps, mouths from blurrier frames), > 1 sharper or
    noisier (seams). Source: :func:`laplacian_variance`.

    Args:
        generated_vars, source_vars: (T,) Laplacian variances per frame.
    Returns:
        Ratio (unitless); NaN if the source has no texture.
    """
    s = float(np.nanmean(source_vars))
    return float(np.nanmean(generated_vars) / s) if s > 0 else float("nan")


def _gauss(x: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(x, (11, 11), sigma, borderType=cv2.BORDER_REFLECT)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Structural similarity of two grayscale images.

    Definition: Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 2004: local statistics with an 11x11 Gaussian
    window (sigma 1.5), ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, L = 255; the SSIM map is
    averaged over ``mask``.

    Args:
        a, b: (H, W) uint8 or float grayscale in [0, 255].
        mask: (H, W) bool pixels to average over (default all).
    Returns:
        Mean SSIM, at most 1 (1 = identical).
    """
    x = np.asarray(a, np.float32)
    y = np.asarray(b, np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _gauss(x), _gauss(y)
    sxx = _gauss(x * x) - mx * mx
    syy = _gauss(y * y) - my * my
    sxy = _gauss(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s[mask].mean() if mask is not None else s.mean())


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(255^2 / MSE)`` over ``mask`` (all channels);
    ``inf`` for identical images. ``a``, ``b``: (H, W[, 3]) uint8."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if mask is not None:
        d = d[mask]
    mse = float((d * d).mean()) if d.size else 0.0
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def temporal_jitter(generated: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Frame-to-frame jitter of the mouth relative to the real video.

    Definition: mean over frames and lip points of the norm of the second difference (the
    acceleration ``x[t+1] - 2 x[t] + x[t-1]``) of the face-aligned lip landmarks of the output,
    divided by the same mean on the ground truth. 1 = moves as smoothly as the real mouth, > 1
    shakier (cuts between source frames, tracking noise), < 1 smoother than life. Source:
    twintake's own, in the spirit of landmark-velocity/acceleration smoothness metrics of
    talking-head evaluation.

    Args:
        generated, truth: (T, 114) face-aligned descriptors.
        valid: (T,) bool; a triple counts only when all three frames are valid in both.
    Returns:
        Ratio (unitless); NaN when undefined.
    """
    ok = _both_valid(generated, truth, valid)
    trip = ok[2:] & ok[1:-1] & ok[:-2]
    if not trip.any():
        return float("nan")

    def acc(d: np.ndarray) -> float:
        p = _lips(np.nan_to_num(d))
        a = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1)
        return float(a[trip].mean())

    g, t = acc(generated), acc(truth)
    return g / t if t > 0 else float("nan")


def mouth_opening(desc: np.ndarray) -> np.ndarray:
    """(T, 114) descriptors -> (T,) float64 inner-lip opening in IOD units (lower minus upper
    inner-lip centre)."""
    return opening(np.asarray(desc, np.float64))


def mouth_box(landmarks: np.ndarray, shape: tuple[int, int], margin: float = 0.25) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) around the lips of one frame, grown by ``margin`` of its size.

    Args:
        landmarks: (478, 2+) pixels.
        shape: (H, W) of the frame.
    """
    p = landmarks[np.concatenate([L.LIPS_OUTER, L.LIPS_INNER]), :2]
    (x0, y0), (x1, y1) = p.min(0), p.max(0)
    mx, my = margin * (x1 - x0), margin * (y1 - y0) + 0.1 * (x1 - x0)
    h, w = shape
    return (int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(w, x1 + mx + 1)), int(min(h, y1 + my + 1)))


def identity_region(landmarks: np.ndarray, shape: tuple[int, int], grow_iod: float = 0.15
                    ) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The face outside the lower face: the region a lip-sync must leave untouched.

    Definition: the bounding box of the face oval grown by 10 %, minus the convex hull of the jaw
    and under-nose points (the compositor's lower-face mask) dilated by ``grow_iod`` inter-ocular
    distances (covers its feathered edge and the mask grown around the chosen mouth's jaw).

    Args:
        landmarks: (478, 2+) pixels of the base frame.
        shape: (H, W).
    Returns:
        ((x0, y0, x1, y1) box, (y1 - y0, x1 - x0) bool mask of the identity pixels in the box).
    """
    import cv2

    oval = landmarks[L.FACE_OVAL, :2]
    (x0, y0), (x1, y1) = oval.min(0), oval.max(0)
    gx, gy = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    h, w = shape
    box = (int(max(0, x0 - gx)), int(max(0, y0 - gy)), int(min(w, x1 + gx + 1)), int(min(h, y1 + gy + 1)))
    bw, bh = box[2] - box[0], box[3] - box[1]
    lower = np.zeros((bh, bw), np.uint8)
    pts = landmarks[np.concatenate([L.JAW, L.UNDER_NOSE]), :2] - np.array(box[:2], np.float64)
    cv2.fillConvexPoly(lower, cv2.convexHull(pts.astype(np.float32)).astype(np.int32), 1)
    grow = max(1, int(round(grow_iod * float(L.interocular_px(landmarks)))))
    lower = cv2.dilate(lower, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return box, lower == 0


# ----------------------------------------------------------------------------------- voice


def speaker_similarity(a: np.ndarray, rate_a: int, b: np.ndarray, rate_b: int) -> float:
    """Speaker similarity of two recordings.

    Definition: cosine similarity of the utterance embeddings of Resemblyzer's GE2E speaker
    encoder (Wan, Wang, Papir and Lopez Moreno, "Generalized end-to-end loss for speaker
    verification", ICASSP 2018; implementation: resemblyzer, Resemble AI). Same speaker is
    typically > 0.75, different speakers < 0.65.

    Args:
        a, b: (S,) float32 mono in [-1, 1]; rate_a, rate_b: their sample rates in Hz.
    Returns:
        Cosine similarity in [-1, 1].
    Raises:
        BackendError: resemblyzer (and torch) not installed.
    """
    try:
        from resemblyzer import VoiceEncoder, preprocess_wav
    except ImportError as e:
        raise BackendError('speaker similarity needs resemblyzer: pip install "twintake[eval]"') from e
    enc = _encoder(VoiceEncoder)
    ea = enc.embed_utterance(preprocess_wav(np.asarray(a, np.float32), source_sr=rate_a))
    eb = enc.embed_utterance(preprocess_wav(np.asarray(b, np.float32), source_sr=rate_b))
    return float(np.dot(ea, eb) / (np.linalg.norm(ea) * np.linalg.norm(eb) + 1e-12))


_ENCODER = None


def _encoder(cls):
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = cls(device="cpu", verbose=False)
    return _ENCODER


def transcribe(samples: np.ndarray, sample_rate_hz: int) -> str:
    """English words recognized by PocketSphinx 5 (bundled en-us acoustic model, ``en-us.lm.bin``
    trigram and CMUdict). ``samples``: (S,) float mono in [-1, 1]."""
    import pocketsphinx

    from ..speech.analysis import resample

    x = resample(np.asarray(samples, np.float32), int(sample_rate_hz), 16000)
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()
    dec = pocketsphinx.Decoder(hmm=pocketsphinx.get_model_path("en-us/en-us"),
                               lm=pocketsphinx.get_model_path("en-us/en-us.lm.bin"),
                               dict=pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"),
                               samprate=16000, loglevel="FATAL")
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    return hyp.hypstr if hyp is not None else ""
