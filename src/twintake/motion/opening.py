"""Speech -> how open the mouth is, and the rest of its shape: ridge regressions on the spectrum and phones.

The viseme driver's opening comes from phone identity and loudness alone, and its correlation
with the real speaker's opening stays near 0.47 on the shared talking videos. The spectrum says
more: the first formant rises as the jaw opens (Lindblom & Sundberg, "Acoustical consequences of
lip, tongue, jaw, and larynx movement", JASA 1971), and its context shows where a syllable
peaks. This module predicts the inner-lip opening, as a fraction of the person's own range
(0 = their closed mouth, 1 = their widest; :attr:`twintake.motion.shapes.MouthModel.open_range`),
from:

* the log-mel spectrogram (24 HTK-mel bands, 80-7600 Hz, 25 ms Hann windows every 10 ms at
  16 kHz, floored 60 dB under the speech level; each band normalised over the utterance's
  speech frames, so microphone, level and digital silence do not matter),
  averaged over 50 ms windows at 7 offsets from -120 ms to +120 ms of the frame;
* the frame energy under the utterance's 90th percentile (floored at -60 dB) at the same offsets;
* the phone-driven opening fraction of the viseme driver at -2 .. +2 frames;
* the viseme (:mod:`twintake.motion.visemes`, 15 classes) of the phone under the frame centre
  at -1, 0 and +1 frames, one-hot (so the regression learns each viseme's opening across people
  instead of relying only on the person's own learned viseme shapes; held-out opening correlation
  0.553 -> 0.578 in the training script).

A linear model (ridge regression, Hoerl & Kennard 1970) of those 225 numbers, trained by
``scripts/train_opening.py`` on pairs of (speech, tracked real opening) from talking videos; its
weights ship in ``twintake/data/opening_ridge.npz``. The prediction is expanded around the
training mean by the ratio of the real to the predicted standard deviation (a regularised model
shrinks towards the mean, which would leave loud syllables under-open).

A model file may instead carry a small neural network of the same inputs (:class:`OpeningNet`:
one hidden layer of 16 tanh units beside a linear term, an average of 3 networks from different
random starts; Rumelhart, Hinton & Williams 1986; Adam, Kingma & Ba 2015), evaluated in numpy;
``scripts/train_opening.py --decays ...`` trains it. Held out on the 12 shared videos it raised
the opening correlation (0.578 -> 0.597 in the training script, rendered 0.521 -> 0.542) but not
the rendered LMD (4.769 -> 4.773 % IOD), and closed a few more loud frames of Arabic speech, so
the shipped file keeps the ridge model (``docs/evaluation.md``, *Speech-to-mouth targets*).

**The rest of the lip shape** (:class:`ShapeModel`, stored in the same file): the mouth width,
rounding, corner height and the like, as :data:`N_SHAPE` coordinates in a basis shared by all
people. A person's mouth points (face-aligned, :func:`twintake.motion.shapes.mouth_descriptors`)
are *person-normalised* -- their own mean shape subtracted, divided by their own opening range
(``widest - closed``), so a small and a large mouth, a shy and a wide talker, are comparable --
and the basis is the leading principal components of those normalised shapes over the training
videos (Cootes et al., "Active Shape Models", 1995; a shape space shared across people as in
Taylor et al., "A deep learning approach for generalized speech animation", SIGGRAPH 2017). A
second ridge regression predicts the coordinates from the same inputs plus the phone-driven
shape's own coordinates at -2 .. +2 frames. It is strongly regularised and *not* expanded: a
person's shape beyond the opening is only weakly predictable from the audio (held-out, the
coordinates' error falls only from 1.636 to 1.599 opening ranges), and a weak predictor
expanded to the full spread adds error. The driver pulls the shape 0.4 of the way towards it
(``DriverOptions.shape_weight``); held out on the 12 shared videos the rendered LMD fell from
4.93 to 4.85 % IOD (11 of 12 videos better) and its 95th percentile from 9.45 to 9.38
(``docs/visemes.md``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TwintakeError
from ..speech.analysis import resample
from ..types import Phone
from .visemes import VISEMES, viseme_of

__all__ = ["OpeningModel", "OpeningNet", "ShapeModel", "opening_features", "spectral_features", "phone_context", "log_mel_100hz",
           "DEFAULT_MODEL", "N_FEATURES", "N_SHAPE", "shape_features", "viseme_features"]

#: The shipped model (trained by ``scripts/train_opening.py``).
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "data" / "opening_ridge.npz"

_RATE = 16000
_N_FFT, _WIN, _HOP = 512, 400, 160
_N_MELS, _FMIN, _FMAX = 24, 80.0, 7600.0
#: Context offsets (10 ms frames) and the half-width of the window averaged at each.
_OFFSETS = (-12, -8, -4, 0, 4, 8, 12)
_HALF = 2
#: Phone-driven opening at these frame offsets.
_PHONE_OFFSETS = (-2, -1, 0, 1, 2)
#: One-hot viseme of the phone under the frame centre at these frame offsets.
_VISEME_OFFSETS = (-1, 0, 1)
_VISEME_NAMES = tuple(sorted(VISEMES))
N_FEATURES = (_N_MELS + 1) * len(_OFFSETS) + len(_PHONE_OFFSETS) + len(_VISEME_OFFSETS) * len(_VISEME_NAMES)
#: Shared lip-shape coordinates predicted by :class:`ShapeModel`.
N_SHAPE = 6
#: Version of the features and outputs (a model trained on others is refused). 4: one-hot visemes
#: added to the inputs and the lip-shape coordinates (:class:`ShapeModel`) to the outputs;
#: 2: the opening alone from the spectrum and the phone-driven opening.
FEATURE_VERSION = 4
#: Noise floor of the spectrum under the speech level (90th percentile of the frame power): -60 dB.
_FLOOR = 1e-6


def _htk_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


@functools.lru_cache(maxsize=1)
def _filterbank() -> np.ndarray:
    """(24, 257) float64 triangular HTK-mel filters (unit peak), 80-7600 Hz."""
    edges_mel = np.linspace(_htk_mel(_FMIN), _htk_mel(_FMAX), _N_MELS + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    hz = np.linspace(0, _RATE / 2, _N_FFT // 2 + 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((hz - lo) / (mid - lo), (hi - hz) / (hi - mid)))


def log_mel_100hz(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Natural-log mel power spectrogram at 100 frames per second.

    Args:
        samples: (S,) float mono audio in [-1, 1].
        sample_rate_hz: its rate (resampled to 16 kHz).
    Returns:
        (T, 24) float64, frame ``j`` centred at ``j * 10`` ms (the signal is padded by half a
        window at both ends), ``T = 1 + S_16k // 160``.
    """
    x = resample(np.asarray(samples, np.float32), int(sample_rate_hz), _RATE).astype(np.float64)
    x = np.pad(x, (_N_FFT // 2, _N_FFT // 2))
    n = 1 + (len(x) - _N_FFT) // _HOP
    win = np.zeros(_N_FFT)
    pad = (_N_FFT - _WIN) // 2
    win[pad:pad + _WIN] = np.hanning(_WIN + 1)[:-1]
    idx = np.arange(_N_FFT)[None, :] + _HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * win, axis=1)) ** 2
    return np.log(spec @ _filterbank().T + 1e-10)


def spectral_features(samples: np.ndarray, sample_rate_hz: int, fps: float, n_frames: int) -> np.ndarray:
    """The spectral part of the regression's inputs for every output frame (the whole utterance
    at once: each band is normalised over it).

    Args:
        samples: (S,) float mono speech.
        sample_rate_hz: its rate, Hz.
        fps: output frame rate; frame ``i`` is centred at ``(i + 0.5) / fps`` seconds.
        n_frames: T, output frames.
    Returns:
        (T, 175) float64: 24 normalised log-mel bands + energy at 7 offsets.
    """
    power = np.exp(log_mel_100hz(samples, sample_rate_hz))  # (M, 24)
    total = power.sum(1)
    top = float(np.percentile(total, 90)) + 1e-20
    # a noise floor 60 dB under the speech level: digital silence (TTS, gated audio) would
    # otherwise sit at the 1e-10 floor and dominate each band's statistics
    mel = np.log(power + top * _FLOOR / power.shape[1])
    energy = np.maximum(np.log(total / top + _FLOOR), np.log(_FLOOR)) / 5.0
    # each band normalised over the speech frames (within 40 dB of the speech level)
    speech = total > top * 1e-4
    ref = mel[speech] if speech.sum() >= 10 else mel
    mel = (mel - ref.mean(0)) / (ref.std(0) + 1e-6)
    feats = np.concatenate([mel, energy[:, None]], 1)  # (M, 25)
    # running mean over 2*_HALF+1 frames, sampled at each frame's offsets
    m = len(feats)
    csum = np.concatenate([np.zeros((1, feats.shape[1])), np.cumsum(feats, 0)])
    centre = np.rint((np.arange(n_frames) + 0.5) / fps * 100.0).astype(int)
    cols = []
    for off in _OFFSETS:
        a = np.clip(centre + off - _HALF, 0, m - 1)
        b = np.clip(centre + off + _HALF, 0, m - 1) + 1
        cols.append((csum[b] - csum[a]) / (b - a)[:, None])
    return np.concatenate(cols, 1)


def phone_context(phone_open: np.ndarray) -> np.ndarray:
    """(T + 4,) phone-driven opening fractions of frames ``-2 .. T + 1`` -> (T, 5) float64, the
    values at -2 .. +2 frames of each of the T frames."""
    ph = np.asarray(phone_open, np.float64)
    n = len(ph) - 4
    return np.stack([ph[2 + o: 2 + o + n] for o in _PHONE_OFFSETS], 1)


def viseme_features(phones: list[Phone], fps: float, start: int, n_frames: int) -> np.ndarray:
    """One-hot viseme of the phone under each frame's centre at -1, 0 and +1 frames.

    Args:
        phones: sorted phones with times (gaps and times outside them count as silence).
        fps: frame rate; frame ``i`` is centred at ``(i + 0.5) / fps`` seconds.
        start, n_frames: the frames ``start .. start + n_frames - 1``.
    Returns:
        (n_frames, 3 * 15) float64, 15 viseme columns (sorted names) per offset.
    """
    k = len(_VISEME_NAMES)
    out = np.zeros((n_frames, len(_VISEME_OFFSETS) * k))
    sil = _VISEME_NAMES.index("sil")
    for j, off in enumerate(_VISEME_OFFSETS):
        t = (start + np.arange(n_frames) + 0.5 + off) / fps
        col = np.full(n_frames, sil)
        if phones:
            starts = np.array([p.start_s for p in phones])
            ends = np.array([p.end_s for p in phones])
            idx = np.searchsorted(starts, t, side="right") - 1
            inside = (idx >= 0) & (t < ends[np.clip(idx, 0, None)])
            names = np.array([_VISEME_NAMES.index(viseme_of(p.symbol)) for p in phones])
            col[inside] = names[idx[inside]]
        out[np.arange(n_frames), j * k + col] = 1.0
    return out


def shape_features(features: np.ndarray, phone_coords: np.ndarray) -> np.ndarray:
    """The lip-shape regression's inputs: the opening's plus the phone-driven shape's coordinates.

    Args:
        features: (T, :data:`N_FEATURES`) :func:`opening_features`.
        phone_coords: (T + 4, J) float, the phone-driven shape's :meth:`ShapeModel.coords` of
            frames ``-2 .. T + 1``.
    Returns:
        (T, N_FEATURES + 5 J) float64 (each coordinate's values at -2 .. +2 frames in turn).
    """
    pc = np.asarray(phone_coords, np.float64)
    return np.concatenate([np.asarray(features, np.float64)] + [phone_context(pc[:, j]) for j in range(pc.shape[1])], 1)


def opening_features(samples: np.ndarray, sample_rate_hz: int, fps: float, n_frames: int,
                     phone_open: np.ndarray, phones: list[Phone]) -> np.ndarray:
    """All the regression's inputs for every output frame.

    Args:
        samples, sample_rate_hz, fps, n_frames: as :func:`spectral_features`.
        phone_open: (T,) float, the phone-driven opening as a fraction of the person's range.
        phones: the speech's phones (:func:`viseme_features`).
    Returns:
        (T, :data:`N_FEATURES`) float64: spectral, phone-driven opening, visemes.
    """
    ph = np.pad(np.asarray(phone_open, np.float64), 2, mode="edge")
    return np.concatenate([spectral_features(samples, sample_rate_hz, fps, n_frames), phone_context(ph),
                           viseme_features(phones, fps, 0, n_frames)], 1)


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised ridge regression: (N, F), (N, ...) -> (mean (F,), std (F,), weights (F + 1, ...)),
    the intercept last and not penalised."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    a = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    reg = ridge * np.eye(a.shape[1])
    reg[-1, -1] = 0.0
    return mean, std, np.linalg.solve(a.T @ a + reg, a.T @ y)


@dataclass
class ShapeModel:
    """A fitted ridge regression from :func:`shape_features` to the person-normalised lip-shape
    coordinates (see the module docstring).

    Attributes:
        basis: (J, 114) float64 orthonormal rows: the shared shape basis in person-normalised
            face-aligned mouth points (``(points - person mean) / person opening range``).
        mean, std: (F + 5 J,) float64 feature standardisation.
        weights: (F + 5 J + 1, J) float64 (the last row the intercept).
    """

    basis: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray

    @property
    def n_coords(self) -> int:
        """J, the number of shape coordinates."""
        return int(self.basis.shape[0])

    @staticmethod
    def normalise(points: np.ndarray, person_mean: np.ndarray, open_range: tuple[float, float]) -> np.ndarray:
        """(…, 114) face-aligned mouth points (IOD units) -> (…, 114) float64 person-normalised:
        minus the person's mean shape, divided by their opening range (widest - closed, IOD)."""
        r = max(float(open_range[1]) - float(open_range[0]), 1e-6)
        return (np.asarray(points, np.float64) - np.asarray(person_mean, np.float64)) / r

    def coords(self, points: np.ndarray, person_mean: np.ndarray, open_range: tuple[float, float]) -> np.ndarray:
        """(…, 114) face-aligned mouth points of one person -> (…, J) float64 shape coordinates."""
        return self.normalise(points, person_mean, open_range) @ self.basis.T

    @staticmethod
    def fit_basis(normalised: np.ndarray, n_coords: int = N_SHAPE) -> np.ndarray:
        """(N, 114) person-normalised shapes (NaN rows dropped) -> (J, 114) float64 basis: their
        leading principal directions (each person's own mean is already removed)."""
        x = np.asarray(normalised, np.float64)
        x = x[np.isfinite(x).all(1)]
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        return vt[:n_coords]

    @classmethod
    def fit(cls, features: np.ndarray, target: np.ndarray, basis: np.ndarray, ridge: float = 10000.0) -> "ShapeModel":
        """Fit on (N, F + 5 J) :func:`shape_features` and (N, J) coordinates (NaN rows dropped)."""
        ok = np.isfinite(target).all(1) & np.isfinite(features).all(1)
        mean, std, w = _ridge(features[ok], target[ok], ridge)
        return cls(np.asarray(basis, np.float64), mean, std, w)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(T, F + 5 J) features -> (T, J) float64 coordinates (shrunk towards the mean, not expanded)."""
        a = (np.asarray(features, np.float64) - self.mean) / self.std
        return a @ self.weights[:-1] + self.weights[-1]


@dataclass
class OpeningNet:
    """An average of E one-hidden-layer networks with a linear skip term, on standardised inputs.

    ``y = y_mean + y_std * mean_e(tanh(a @ w1[e] + b1[e]) @ w2[e] + b2[e] + a @ lin[e])`` for
    standardised features ``a`` (:attr:`OpeningModel.mean`, :attr:`OpeningModel.std`).

    Attributes:
        w1: (E, F, H) float64; b1: (E, H); w2: (E, H); b2: (E,); lin: (E, F).
        y_mean, y_std: the training targets' mean and standard deviation (opening fractions).
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    lin: np.ndarray
    y_mean: float
    y_std: float

    def predict(self, a: np.ndarray) -> np.ndarray:
        """(T, F) standardised features -> (T,) float64 opening fractions."""
        a = np.asarray(a, np.float64)
        out = [np.tanh(a @ self.w1[e] + self.b1[e]) @ self.w2[e] + self.b2[e] + a @ self.lin[e]
               for e in range(len(self.w1))]
        return self.y_mean + self.y_std * np.mean(out, 0)

    @classmethod
    def fit(cls, a: np.ndarray, y: np.ndarray, hidden: int = 16, decay: float = 0.03, epochs: int = 150,
            seeds: tuple[int, ...] = (0, 1, 2), rate: float = 3e-3) -> "OpeningNet":
        """Train on (N, F) standardised features and (N,) finite targets: full-batch Adam on the
        mean squared error of the standardised target plus ``decay`` times the squared weights
        (not the biases), ``epochs`` steps, one network per seed (deterministic)."""
        a = np.asarray(a, np.float64)
        y_mean, y_std = float(np.mean(y)), float(np.std(y)) + 1e-9
        t = ((np.asarray(y, np.float64) - y_mean) / y_std)[:, None]
        n, f = a.shape
        nets = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            p = {"w1": rng.normal(0.0, 1.0 / np.sqrt(f), (f, hidden)), "b1": np.zeros(hidden),
                 "w2": rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, 1)), "b2": np.zeros(1),
                 "lin": np.zeros((f, 1))}
            m1 = {k: np.zeros_like(v) for k, v in p.items()}
            m2 = {k: np.zeros_like(v) for k, v in p.items()}
            for it in range(1, epochs + 1):
                h = np.tanh(a @ p["w1"] + p["b1"])
                g = 2.0 * (h @ p["w2"] + p["b2"] + a @ p["lin"] - t) / n
                gh = (g @ p["w2"].T) * (1.0 - h ** 2)
                grad = {"w1": a.T @ gh + 2 * decay * p["w1"], "b1": gh.sum(0),
                        "w2": h.T @ g + 2 * decay * p["w2"], "b2": g.sum(0),
                        "lin": a.T @ g + 2 * decay * p["lin"]}
                for k in p:
                    m1[k] = 0.9 * m1[k] + 0.1 * grad[k]
                    m2[k] = 0.999 * m2[k] + 0.001 * grad[k] ** 2
                    p[k] -= rate * (m1[k] / (1 - 0.9 ** it)) / (np.sqrt(m2[k] / (1 - 0.999 ** it)) + 1e-8)
            nets.append(p)
        return cls(np.stack([p["w1"] for p in nets]), np.stack([p["b1"] for p in nets]),
                   np.stack([p["w2"][:, 0] for p in nets]), np.array([p["b2"][0] for p in nets]),
                   np.stack([p["lin"][:, 0] for p in nets]), y_mean, y_std)


@dataclass
class OpeningModel:
    """A fitted ridge regression from :func:`opening_features` to the opening fraction.

    Attributes:
        mean, std: (F,) float64 feature standardisation.
        weights: (F + 1,) float64 ridge weights (the last one the intercept), used when ``net``
            is None.
        centre: mean of the training targets; predictions are expanded around it by ``spread``.
        spread: std of the training targets / std of the fitted predictions (>= 1).
        info: free-form training notes (videos, frames, cross-validated correlation).
        shape: the lip-shape regression beside it, or None (then only the opening is predicted).
        net: the opening network (:class:`OpeningNet`), or None (then the ridge weights predict).
    """

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    centre: float
    spread: float
    info: str = ""
    shape: ShapeModel | None = None
    net: OpeningNet | None = None

    @classmethod
    def fit(cls, features: np.ndarray, target: np.ndarray, ridge: float = 300.0, info: str = "",
            net: dict | None = None) -> "OpeningModel":
        """Fit on (N, F) features and (N,) opening fractions (NaN rows are dropped): the ridge
        weights, and with ``net`` (keyword arguments of :meth:`OpeningNet.fit`, e.g.
        ``{"decay": 0.03}``) the network that then predicts; ``spread`` from the predicting one."""
        ok = np.isfinite(target) & np.isfinite(features).all(1)
        x, y = features[ok], target[ok]
        mean, std, w = _ridge(x, y, ridge)
        model = cls(mean, std, w, float(np.mean(y)), 1.0, info)
        if net is not None:
            model.net = OpeningNet.fit((x - mean) / std, y, **net)
        pred = model.predict(x, expand=False)
        model.spread = float(max(1.0, np.std(y) / max(np.std(pred), 1e-6)))
        return model

    def predict(self, features: np.ndarray, expand: bool = True) -> np.ndarray:
        """(T, F) features -> (T,) float64 opening fractions (not clipped)."""
        a = (np.asarray(features, np.float64) - self.mean) / self.std
        p = self.net.predict(a) if self.net is not None else a @ self.weights[:-1] + self.weights[-1]
        return self.centre + self.spread * (p - self.centre) if expand else p

    def save(self, path: str | Path) -> None:
        """Write the model (and its lip-shape model, if any) to one ``.npz`` file."""
        extra = {}
        if self.shape is not None:
            extra = {"shape_basis": self.shape.basis, "shape_mean": self.shape.mean, "shape_std": self.shape.std,
                     "shape_weights": self.shape.weights}
        if self.net is not None:
            n = self.net
            extra.update(net_w1=n.w1, net_b1=n.b1, net_w2=n.w2, net_b2=n.b2, net_lin=n.lin,
                         net_y=np.array([n.y_mean, n.y_std]))
        np.savez(path, mean=self.mean, std=self.std, weights=self.weights, centre=self.centre,
                 spread=self.spread, info=np.array(self.info), n_features=N_FEATURES,
                 feature_version=FEATURE_VERSION, **extra)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL) -> "OpeningModel":
        """Load a model written by :meth:`save`.

        Raises:
            TwintakeError: the file is missing or was made for other features.
        """
        return _load(str(path))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> OpeningModel:
    try:
        d = np.load(path)
    except OSError as e:
        raise TwintakeError(f"opening model {path} could not be read ({e}); "
                            "retrain it with scripts/train_opening.py") from None
    version = int(d["feature_version"]) if "feature_version" in d.files else 1
    if int(d["n_features"]) != N_FEATURES or version != FEATURE_VERSION:
        raise TwintakeError(f"opening model {path} was trained on features version {version} "
                            f"({int(d['n_features'])} inputs); this version computes version {FEATURE_VERSION} "
                            f"({N_FEATURES} inputs): retrain it with scripts/train_opening.py")
    shape = None
    if "shape_basis" in d.files:
        shape = ShapeModel(d["shape_basis"], d["shape_mean"], d["shape_std"], d["shape_weights"])
    net = None
    if "net_w1" in d.files:
        net = OpeningNet(d["net_w1"], d["net_b1"], d["net_w2"], d["net_b2"], d["net_lin"],
                         float(d["net_y"][0]), float(d["net_y"][1]))
    return OpeningModel(d["mean"], d["std"], d["weights"], float(d["centre"]), float(d["spread"]), str(d["info"]),
                        shape, net)
