"""Speech-driven head motion, eyebrow lifts and blink statistics of photo avatars, learned from
real talking videos (``scripts/train_head_motion.py``; model ``twintake/data/head_motion.npz``).

* **Pose** of a face-mesh frame (:func:`pose_from_landmarks`): pitch, yaw, roll in degrees and
  brow height. Roll is the angle of the eye-corner line; pitch and yaw are read from the nose
  tip's offset from the eye-corner midpoint in the eye frame (a 2-D proxy, rigid points only:
  the nose tip stands about 0.48 inter-ocular distances in front of the eye corners, so an
  offset ``o`` from its median means ``asin(o / depth)``), smoothed over 5 frames
  (:func:`smooth_pose`: the mesh jitters by a pixel frame to frame).
* **Speech features** (:func:`speech_features`): loudness (dB over the clip's voiced 90th
  percentile, mapped to [0, 1] over 40 dB), its positive rate of change (syllable onsets,
  stress), and log2 F0 over the speaker's median (pyworld DIO + StoneMask; 0 when unvoiced).
* **Model** (:class:`HeadMotionModel`): per pose channel a linear FIR filter of the features
  over +-0.4 s (ridge regression; the simplest linear case of speech-to-head-pose regression,
  cf. Busso et al., "Rigid head motion in expressive speech animation", IEEE TASLP 15(3),
  2007; Greenwood et al., Interspeech 2017) plus idle motion: noise with the residual's
  measured spectrum whose amplitude follows loudness (quiet speech -> calm head), fitted on
  the residual's angular speed.
* **Blinks**: durations (frames at 25 fps, aperture below half its median with hysteresis) and
  intervals measured on the same videos (:func:`blink_events`), used by
  :func:`twintake.motion.photo.blink_track`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BackendError
from ..speech.analysis import loudness_envelope

__all__ = ["POSE_CHANNELS", "HeadMotionModel", "pose_from_landmarks", "eyelid_aperture", "speech_features",
           "blink_events", "smooth_pose", "angular_speed", "loudness_correlation", "fit_model", "load_head_model", "MODEL_PATH"]

#: Pose channels: pitch (+ = chin down), yaw (+ = face turns to image right), roll (+ = clockwise
#: in the image), degrees; brow lift in inter-ocular distances (+ = up).
POSE_CHANNELS = ("pitch", "yaw", "roll", "brow")
MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "head_motion.npz"
MODEL_VERSION = 1
#: Feature lags of the FIR filter, seconds (+ = the feature leads the motion).
LAG_S = 0.4
_NOSE_DEPTH_IOD = 0.48  # nose-tip depth / inter-ocular distance
_R_EYE = (np.array([159, 158, 160]), np.array([145, 153, 144]), 33, 133)
_L_EYE = (np.array([386, 385, 387]), np.array([374, 380, 373]), 263, 362)
_BROWS = np.array([105, 66, 107, 334, 296, 336])


def _frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eye midpoint, unit right/down vectors and inter-ocular distance, per frame."""
    re = lm[:, [33, 133]].mean(1)
    le = lm[:, [263, 362]].mean(1)
    eye = 0.5 * (re + le)
    e = le - re
    iod = np.maximum(np.linalg.norm(e, axis=1), 1e-6)
    right = e / iod[:, None]
    down = np.stack([-right[:, 1], right[:, 0]], 1)
    return eye, right, down, iod


def pose_from_landmarks(lm: np.ndarray) -> np.ndarray:
    """Head pose per frame from face-mesh landmarks.

    Args:
        lm: (N, 478, >=2) pixels.
    Returns:
        (N, 4) float64: pitch, yaw, roll (degrees, proxies, see the module docstring) and brow
        height (brows over the eye line, inter-ocular distances).
    """
    lm = np.asarray(lm, np.float64)[..., :2]
    eye, right, down, iod = _frame(lm)
    nose = lm[:, 1]
    rel = nose - eye
    pv = np.einsum("ij,ij->i", rel, down) / iod
    ph = np.einsum("ij,ij->i", rel, right) / iod
    pitch = np.degrees(np.arcsin(np.clip((pv - np.median(pv)) / _NOSE_DEPTH_IOD, -1, 1)))
    yaw = np.degrees(np.arcsin(np.clip((ph - np.median(ph)) / _NOSE_DEPTH_IOD, -1, 1)))
    roll = np.degrees(np.arctan2(right[:, 1], right[:, 0]))
    brow = -np.einsum("ij,ij->i", lm[:, _BROWS].mean(1) - eye, down) / iod
    return smooth_pose(np.stack([pitch, yaw, roll, brow], 1))


def smooth_pose(pose: np.ndarray) -> np.ndarray:
    """(T, C) pose smoothed by a 5-tap triangular filter [1 2 3 2 1] / 9 (edges replicated)."""
    k = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    p = np.pad(np.asarray(pose, np.float64), ((2, 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(p[:, c], k, mode="valid") for c in range(p.shape[1])], 1)


def eyelid_aperture(lm: np.ndarray) -> np.ndarray:
    """(N,) float64 lid gap over eye width, mean of both eyes (face-mesh landmarks (N, 478, >=2))."""
    lm = np.asarray(lm, np.float64)[..., :2]
    out = []
    for up, lo, c0, c1 in (_R_EYE, _L_EYE):
        gap = np.linalg.norm(lm[:, lo] - lm[:, up], axis=2).mean(1)
        out.append(gap / np.maximum(np.linalg.norm(lm[:, c1] - lm[:, c0], axis=1), 1e-6))
    return 0.5 * (out[0] + out[1])


def blink_events(aperture: np.ndarray, valid: np.ndarray | None = None, enter: float = 0.5,
                 leave: float = 0.65) -> list[tuple[int, int]]:
    """Blinks of a lid-aperture track: ``(start frame, length in frames)`` of each run where the
    aperture falls below ``enter`` x its median and stays until it rises above ``leave`` x
    median (hysteresis); invalid frames end a run."""
    a = np.asarray(aperture, np.float64)
    ok = np.ones(len(a), bool) if valid is None else np.asarray(valid, bool)
    if not ok.any():
        return []
    med = float(np.median(a[ok]))
    out, start = [], None
    for i, v in enumerate(a):
        if not ok[i]:
            start = None
            continue
        if start is None and v < enter * med:
            start = i
        elif start is not None and v > leave * med:
            out.append((start, i - start))
            start = None
    return out


def angular_speed(pose: np.ndarray, fps: float) -> np.ndarray:
    """(T,) degrees/s: the speed of (pitch, yaw, roll), central differences, 3-frame mean."""
    p = np.asarray(pose, np.float64)[:, :3]
    v = np.gradient(p, axis=0) * fps
    s = np.linalg.norm(v, axis=1)
    return np.convolve(s, np.ones(3) / 3, mode="same")


def loudness_correlation(pose: np.ndarray, loud: np.ndarray, fps: float) -> float:
    """Pearson correlation of the head's angular speed (:func:`angular_speed`) with loudness
    (T,), both smoothed over 0.5 s (the envelope of syllables)."""
    k = np.ones(max(1, int(round(0.5 * fps))))
    k /= k.sum()
    s = np.convolve(angular_speed(pose, fps), k, mode="same")
    ld = np.convolve(np.asarray(loud, np.float64), k, mode="same")
    if s.std() < 1e-9 or ld.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(s, ld)[0, 1])


def speech_features(samples: np.ndarray, sample_rate_hz: int, fps: float, n: int) -> np.ndarray:
    """Per-frame speech features (see the module docstring).

    Args:
        samples: (S,) float mono in [-1, 1]; sample_rate_hz: its rate; fps: frame rate;
        n: frames T wanted (padded with silence / cut).
    Returns:
        (T, 3) float64: loudness in [0, 1], onset rate (loudness units per 0.1 s, >= 0), log2 F0
        over the median (0 unvoiced).
    Raises:
        BackendError: pyworld is not installed (``pip install pyworld-prebuilt``).
    """
    db = loudness_envelope(samples, sample_rate_hz, fps).astype(np.float64)
    db = np.concatenate([db, np.full(max(0, n - len(db)), -100.0)])[:n]
    voiced_db = db[db > -60]
    top = float(np.percentile(voiced_db, 90)) if len(voiced_db) else 0.0
    loud = np.clip((db - (top - 40.0)) / 40.0, 0.0, 1.0)
    sm = np.convolve(loud, np.ones(3) / 3, mode="same")
    onset = np.maximum(np.gradient(sm) * fps * 0.1, 0.0)
    f0 = _f0_track(samples, sample_rate_hz, fps, n)
    lf = np.zeros(n)
    v = f0 > 0
    if v.sum() >= 3:
        lf[v] = np.log2(f0[v] / float(np.median(f0[v])))
        lf = np.clip(lf, -1.0, 1.0)
    return np.stack([loud, onset, lf], 1)


def _f0_track(samples: np.ndarray, rate: int, fps: float, n: int) -> np.ndarray:
    try:
        import pyworld
    except ImportError as e:  # pragma: no cover - a dependency
        raise BackendError("F0 for head motion needs pyworld: pip install pyworld-prebuilt") from e
    x = np.asarray(samples, np.float64)
    if x.ndim > 1:
        x = x.mean(1)
    if rate > 16000:  # F0 does not need more; DIO is linear in the rate
        step = int(rate // 16000)
        x, rate = x[::step], rate // step
    period = 1000.0 / fps
    f0, t = pyworld.dio(np.ascontiguousarray(x), rate, f0_floor=60.0, f0_ceil=500.0, frame_period=period)
    f0 = pyworld.stonemask(np.ascontiguousarray(x), f0, t, rate)
    f0 = np.concatenate([f0, np.zeros(max(0, n - len(f0)))])[:n]
    return f0


def _lagged(feat: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """(T, F * L + 1) design matrix: each feature shifted by each lag (edge-padded) and a bias."""
    t = len(feat)
    cols = []
    for lag in lags:
        idx = np.clip(np.arange(t) - lag, 0, t - 1)
        cols.append(feat[idx])
    return np.concatenate(cols + [np.ones((t, 1))], 1)


def _colored_noise(n: int, freqs: np.ndarray, mag: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """(T,) unit-variance noise with amplitude spectrum ``mag`` at ``freqs`` (Hz)."""
    m = max(n, 8)
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1.0 / fps)
    spec *= np.interp(f, freqs, mag, left=mag[0], right=0.0)
    spec[0] = 0.0
    x = np.fft.irfft(spec, m)[:n]
    return x / max(float(x.std()), 1e-9)


@dataclass
class HeadMotionModel:
    """Speech -> head pose filter + idle noise + blink statistics (see the module docstring).

    Attributes:
        fps: frame rate the model was fitted at (lags are in frames of it).
        lags: (L,) int frame lags.
        weights: (4, 3 * L + 1) float64 FIR weights per pose channel (:data:`POSE_CHANNELS`).
        noise_freqs: (K,) Hz; noise_mag: (4, K) amplitude spectra of the residual (shape only).
        noise_std: (4,) residual standard deviation per channel (degrees / IODs).
        calm: (2,) ``a, b`` of the idle-noise gain ``a + b * loudness`` (mean 1 over speech): the
            idle noise is read on a clock running at that gain (speed follows loudness).
        cutoff_hz: low-pass corner applied to the idle spectrum, calibrated so the generated
            angular speed matches the real videos' median (their spectra include mesh jitter).
        blink_frames: (B,) real blink lengths, frames; blink_intervals_s: (I,) real intervals, s.
        real: measured statistics of the training videos (JSON-able dict) for the docs.
    """

    fps: float
    lags: np.ndarray
    weights: np.ndarray
    noise_freqs: np.ndarray
    noise_mag: np.ndarray
    noise_std: np.ndarray
    calm: np.ndarray
    blink_frames: np.ndarray
    blink_intervals_s: np.ndarray
    cutoff_hz: float = 1e3
    real: dict = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, version=MODEL_VERSION, fps=self.fps, lags=self.lags, weights=self.weights,
                 noise_freqs=self.noise_freqs, noise_mag=self.noise_mag, noise_std=self.noise_std, calm=self.calm,
                 blink_frames=self.blink_frames, blink_intervals_s=self.blink_intervals_s, cutoff_hz=self.cutoff_hz,
                 real=json.dumps(self.real, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> "HeadMotionModel":
        """Read a model file. Raises :class:`BackendError` when missing, damaged or of another
        version (retrain with ``scripts/train_head_motion.py``)."""
        try:
            with np.load(path) as z:
                if int(z["version"]) != MODEL_VERSION:
                    raise ValueError(f"format version {int(z['version'])}, expected {MODEL_VERSION}")
                return cls(fps=float(z["fps"]), lags=z["lags"].astype(int), weights=z["weights"].astype(np.float64),
                           noise_freqs=z["noise_freqs"].astype(np.float64), noise_mag=z["noise_mag"].astype(np.float64),
                           noise_std=z["noise_std"].astype(np.float64), calm=z["calm"].astype(np.float64),
                           blink_frames=z["blink_frames"].astype(np.float64),
                           blink_intervals_s=z["blink_intervals_s"].astype(np.float64),
                           cutoff_hz=float(z["cutoff_hz"]),
                           real=json.loads(str(z["real"])))
        except (OSError, KeyError, ValueError) as e:
            raise BackendError(f"the head-motion model {path} is missing or damaged ({e}); reinstall twintake "
                               "or run scripts/train_head_motion.py") from e

    def generate(self, feat: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
        """Head pose for speech features.

        Args:
            feat: (T, 3) :func:`speech_features` at ``fps``.
            fps: frame rate (the filter's lags are rescaled from the model's).
            rng: randomness of the idle motion (seed it per avatar).
        Returns:
            (T, 4) float64 pitch, yaw, roll (degrees), brow lift (IODs), zero-mean over the
            speech.
        """
        n = len(feat)
        lags = np.round(self.lags * fps / self.fps).astype(int)
        x = _lagged(np.asarray(feat, np.float64), lags)
        driven = x @ self.weights.T
        k = np.ones(max(1, int(round(0.5 * fps))))
        loud = np.convolve(feat[:, 0], k / k.sum(), mode="same")
        gain = np.maximum(self.calm[0] + self.calm[1] * loud, 0.05)
        # idle motion on a speech clock: the noise runs faster when loud and slower when quiet
        # (its speed follows the gain, its amplitude does not), so quiet speech is calm
        clock = np.concatenate([[0.0], np.cumsum(gain)])[:n]
        m = int(np.ceil(clock[-1])) + 2 if n else 2
        lp = 1.0 / (1.0 + (self.noise_freqs / max(self.cutoff_hz, 1e-3)) ** 2)
        out = np.zeros((n, 4))
        for c in range(4):
            noise = _colored_noise(m, self.noise_freqs, self.noise_mag[c] * lp, fps, rng)
            out[:, c] = driven[:, c] + self.noise_std[c] * np.interp(clock, np.arange(m), noise)
        return out - out.mean(0)


def _detrend(x: np.ndarray, fps: float, cut_s: float = 10.0) -> np.ndarray:
    """Remove each channel's slow drift (moving mean over ``cut_s``) of a (T, C) array."""
    k = max(3, int(round(cut_s * fps)) | 1)
    pad = np.pad(x, ((k // 2, k // 2), (0, 0)), mode="reflect")
    ker = np.ones(k) / k
    slow = np.stack([np.convolve(pad[:, c], ker, mode="valid") for c in range(x.shape[1])], 1)
    return x - slow


def fit_model(data: dict[str, dict[str, np.ndarray]], fps: float, ridge: float = 30.0
              ) -> tuple[HeadMotionModel, list[str]]:
    """Fit :class:`HeadMotionModel` on tracked videos.

    Args:
        data: per video ``landmarks`` (N, 478, 2) pixels, ``valid`` (N,) bool, ``samples``
            (S,) float32 and ``rate`` () int (``scripts/train_head_motion.py``).
        fps: the tracks' frame rate.
        ridge: ridge penalty of the FIR fit.
    Returns:
        (model, report lines).
    """
    lags = np.arange(-int(round(LAG_S * fps)), int(round(LAG_S * fps)) + 1, 2)
    xs, ys, report, per = [], [], [], {}
    blinks, intervals = [], []
    for name, d in sorted(data.items()):
        lm, valid = d["landmarks"], d["valid"].astype(bool)
        n = len(lm)
        feat = speech_features(d["samples"], int(d["rate"]), fps, n)
        pose = pose_from_landmarks(np.where(valid[:, None, None], lm, lm[valid][0]))
        pose[:, 2] -= np.median(pose[valid, 2])
        pose[:, 3] -= np.median(pose[valid, 3])
        pose = _detrend(pose, fps)
        ev = blink_events(eyelid_aperture(lm), valid)
        blinks += [b[1] for b in ev]
        intervals += list(np.diff([b[0] for b in ev]) / fps)
        per[name] = dict(n=n, amp=[float(v) for v in pose[valid, :3].std(0)],
                         corr=loudness_correlation(pose, feat[:, 0], fps),
                         speed=float(np.median(angular_speed(pose, fps))), blinks=len(ev))
        xs.append(_lagged(feat, lags)[valid])
        ys.append(pose[valid])
    x, y = np.concatenate(xs), np.concatenate(ys)
    reg = ridge * np.eye(x.shape[1])
    reg[-1, -1] = 0.0
    w = np.linalg.solve(x.T @ x + reg, x.T @ y).T  # (4, F*L+1)
    res = y - x @ w.T
    # residual spectrum (Welch, 64-frame Hann segments) and the loudness gain of its speed
    seg = 64
    freqs = np.fft.rfftfreq(2 * seg, 1.0 / fps)
    psd, speeds, louds, start = np.zeros((4, len(freqs))), [], [], 0
    for name, d in sorted(data.items()):
        nv = int(d["valid"].sum())
        r = res[start:start + nv]
        start += nv
        # whole-clip periodogram (Hann), on the common grid: short segments would lose the
        # slow drift that carries much of the amplitude but little speed
        f_clip = np.fft.rfftfreq(nv, 1.0 / fps)
        p_clip = np.abs(np.fft.rfft((r - r.mean(0)).T * np.hanning(nv), axis=1)) ** 2
        clip = np.stack([np.interp(freqs, f_clip, p_clip[c]) for c in range(4)])
        # each clip's spectrum counts once, in shape (one big mover must not set it)
        psd += clip / np.maximum(clip.sum(1, keepdims=True), 1e-12)
        feat = speech_features(d["samples"], int(d["rate"]), fps, len(d["valid"]))[d["valid"].astype(bool)]
        k = np.ones(int(round(0.5 * fps))) / round(0.5 * fps)
        sp = np.convolve(angular_speed(r, fps), k, mode="same")
        speeds.append(sp / max(float(sp.mean()), 1e-9))  # per clip: speed relative to its mean
        louds.append(np.convolve(feat[:, 0], k, mode="same"))
    mag = np.sqrt(psd / psd.max(1, keepdims=True))
    sp, ld = np.concatenate(speeds), np.concatenate(louds)
    b, a = np.polyfit(ld, sp, 1)
    calm = np.array([a, max(b, 0.0)]) / max(float(np.mean(a + max(b, 0.0) * ld)), 1e-9)
    # idle amplitude: the real videos' *median* amplitude per channel (the pooled residual is
    # dominated by the one clip with large head turns), less the speech-driven part
    amp_med = np.array([float(np.median([np.std(yy[:, c]) for yy in ys])) for c in range(4)])
    pred_std = (x @ w.T).std(0)
    noise_std = np.sqrt(np.maximum(amp_med ** 2 - pred_std ** 2, (0.3 * amp_med) ** 2))
    real = dict(videos=per, amp_median=[float(np.median([p["amp"][c] for p in per.values()])) for c in range(3)],
                corr_median=float(np.median([p["corr"] for p in per.values()])),
                speed_median=float(np.median([p["speed"] for p in per.values()])),
                speed_spectrum_hz=freqs.tolist(),
                speed_spectrum=_speed_spectrum(ys, fps, seg).tolist())
    model = HeadMotionModel(fps=fps, lags=lags, weights=w, noise_freqs=freqs, noise_mag=mag,
                            noise_std=noise_std, calm=calm, blink_frames=np.array(blinks, np.float64),
                            blink_intervals_s=np.array(intervals, np.float64), real=real)
    # calibrate the idle spectrum's low-pass so the median angular speed matches the real one
    feats = [speech_features(d["samples"], int(d["rate"]), fps, len(d["valid"])) for _, d in sorted(data.items())]

    def speed_at(fc: float) -> float:
        model.cutoff_hz = fc
        return float(np.median([np.median(angular_speed(model.generate(f, fps, np.random.default_rng(i)), fps))
                                for f in feats for i in range(3)]))

    def corr_at(k: float) -> float:
        # gain a + b loud with b = k a and mean 1 over the training speech
        a = 1.0 / (1.0 + k * float(ld.mean()))
        model.calm = np.array([a, k * a])
        return float(np.median([loudness_correlation(model.generate(f, fps, np.random.default_rng(i)), f[:, 0], fps)
                                for f in feats for i in range(3)]))

    # the loudness gain: the fitted slope, or more if the generated speed-loudness correlation
    # stays under the real median (the real speed is bursty, Gaussian noise dilutes it)
    k0 = float(calm[1] / max(calm[0], 1e-9))
    cands = np.geomspace(0.2, 6.0, 25)
    model.cutoff_hz = float(cands[int(np.argmin([abs(speed_at(fc) - real["speed_median"]) for fc in cands]))])
    ks = [k for k in np.geomspace(max(k0, 0.1), 30.0, 16)]
    corrs = [corr_at(k) for k in ks]
    ok = [k for k, c in zip(ks, corrs) if c >= real["corr_median"] + 0.03]
    k_best = ok[0] if ok else ks[int(np.argmax(corrs))]
    corr_at(k_best)
    cands = np.geomspace(0.2, 6.0, 25)
    model.cutoff_hz = float(cands[int(np.argmin([abs(speed_at(fc) - real["speed_median"]) for fc in cands]))])
    report.append(f"loudness gain b/a {k_best:.2f} (fitted {k0:.2f}): generated corr {corr_at(k_best):.3f} "
                  f"(real median {real['corr_median']:.3f})")
    report.append(f"idle low-pass {model.cutoff_hz:.2f} Hz: generated median speed {speed_at(model.cutoff_hz):.1f} "
                  f"deg/s (real {real['speed_median']:.1f})")
    pred = x @ w.T
    for c, ch in enumerate(POSE_CHANNELS):
        r2 = 1.0 - float(res[:, c].var()) / max(float(y[:, c].var()), 1e-12)
        report.append(f"{ch}: std {y[:, c].std():.3f}, speech-explained R2 {r2:.3f}, pred std {pred[:, c].std():.3f}")
    for name, p in per.items():
        report.append(f"{name}: amp {np.round(p['amp'], 2)} deg, speed-loudness r {p['corr']:.2f}, "
                      f"median speed {p['speed']:.1f} deg/s, blinks {p['blinks']}")
    report.append(f"blinks: {len(blinks)} lengths {sorted(blinks)} frames; intervals {np.round(sorted(intervals), 2)} s")
    return model, report


def _speed_spectrum(poses: list[np.ndarray], fps: float, seg: int) -> np.ndarray:
    """Mean normalized power spectrum of the angular speed over clips (Welch, ``seg`` frames)."""
    acc = np.zeros(seg // 2 + 1)
    win = np.hanning(seg)
    for p in poses:
        s = angular_speed(p, fps)
        for i in range(0, len(s) - seg + 1, seg // 2):
            acc += np.abs(np.fft.rfft((s[i:i + seg] - s[i:i + seg].mean()) * win)) ** 2
    return acc / max(float(acc.sum()), 1e-12)


@lru_cache(maxsize=1)
def load_head_model() -> HeadMotionModel:
    """The packaged model (cached); raises :class:`BackendError` like :meth:`HeadMotionModel.load`."""
    return HeadMotionModel.load(MODEL_PATH)
