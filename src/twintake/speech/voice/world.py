"""Voice conversion with the WORLD vocoder: cepstral statistics transfer (default) or
k-nearest-neighbour spectral regression.

Default, ``method="mvn"``: WORLD spectral envelopes coded as mel-cepstra
(``pyworld.code_spectral_envelope``, 60 coefficients) get a per-coefficient mean/variance
transfer from the source speaker's statistics to the reference's (cepstral MVN transfer, the
"global" linear transform of statistical VC; cf. Toda et al. 2007 for the F0 counterpart).
Voiced frames get the voiced-frame transform; unvoiced frames only its mean shift
(``unvoiced="shift"``); c0 (frame energy) is kept; ``var_power`` = 1.0 (plain std ratio). Every frame keeps its own phone content, so intelligibility survives; the measured cost
is similarity (see docs/speech.md).

``method="knn"`` (after kNN-VC, Baas, van Niekerk & Kamper, Interspeech 2023): every frame is
replaced by the mean of its k = 4 nearest reference frames, matched on speaker-normalized
coefficients 1-29 stacked with the frames 10 and 20 ms before and after, voiced against voiced
and unvoiced against unvoiced. More similar, but on 5-20 s references the nearest frames are
often of the wrong phone (pocketsphinx WER 0.39 -> ~0.9). ``method="blend"`` mixes the two.

``method="phone"`` (phone-aware statistics transfer): the global mvn transform plus, for every
broad phone class (:data:`CLASS_NAMES`: 9 classes by place and manner, coarse enough that the
recognizer's confusions mostly stay inside one), a correction that moves the source's class
mean of mel-cepstral coefficients 1-11 onto the reference's class mean — a piecewise-linear
mapping in the spirit of Stylianou, Cappé & Moulines (IEEE TSAP 1998), with phone classes
instead of GMM components. Source frames are labelled by the TTS's own phone timings (Kokoro's
predicted durations), reference frames by PocketSphinx allphone recognition
(:func:`twintake.speech.phones.recognize_phones`). A class with fewer than 40 frames on either
side backs off to the global transform, and every class correction is shrunk toward it (weight
n_ref / (n_ref + 100)); only the sonorant classes get their own transform by default, and the
correction is smoothed over 25 ms so the envelope does not jump at phone boundaries.
``method="phone_knn"`` adds kNN regression restricted to reference frames of the same class
(kNN-VC, Baas et al. 2023, with the phone class as the content constraint). Measured in
docs/speech.md ("Phone-aware conversion").

WORLD (Morise, Yokomori & Ozawa, IEICE 2016): F0 by DIO + StoneMask (source) or Harvest
(reference, Morise 2017), spectral envelope by CheapTrick, aperiodicity by D4C; the output is
resynthesized from the converted F0 and envelope and the source's aperiodicity.

F0: log-F0 mean/variance mapping (Toda et al. 2007 use the same linear transform).
Vocal-tract length (optional, off: it lowered similarity in both methods): the source
envelope's frequency axis is scaled by the factor (grid 0.80-1.25) that best matches the
speakers' mean voiced log spectra (a VTLN-style grid search, Lee & Rose 1998).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ...errors import BackendError
from .classmap import (CLASS_NAMES, N_MATCH, PHONE_CLASSES, SONORANT_CLASSES, class_stats, frame_classes,  # noqa: F401
                       knn_regress, mvn_map, phone_class_map, with_context)

__all__ = [
    "VC_RATE",
    "FRAME_MS",
    "N_CODED",
    "N_MATCH",
    "WorldFeatures",
    "analyze",
    "code",
    "decode",
    "estimate_warp",
    "warp_envelope",
    "knn_regress",
    "cepstral_stats",
    "active_frames",
    "profile_stats",
    "mvn_map",
    "METHODS",
    "PHONE_CLASSES",
    "CLASS_NAMES",
    "SONORANT_CLASSES",
    "frame_classes",
    "class_stats",
    "convert_features",
    "synthesize_world",
]

log = logging.getLogger(__name__)

VC_RATE = 24000
FRAME_MS = 5.0
N_CODED = 60  # coded envelope dimensions kept and averaged
F0_FLOOR = 55.0
F0_CEIL = 600.0


def _pyworld():
    try:
        import pyworld
    except ImportError as exc:
        # "pyworld-prebuilt" installs the `pyworld` module from manylinux wheels (no compiler,
        # no pkg_resources); the old source-built pyworld 0.3.5 broke with setuptools >= 81
        raise BackendError(
            f"voice conversion needs the WORLD vocoder ({exc}): `pip install pyworld-prebuilt==0.3.6.post1` "
            "(and `pip uninstall pyworld` if an old source build is installed)"
        ) from exc
    return pyworld


@dataclass
class WorldFeatures:
    """WORLD analysis of one signal at ``VC_RATE`` with ``FRAME_MS`` ms frames.

    Attributes:
        f0: (T,) float64 Hz, 0 where unvoiced.
        sp: (T, F) float64 power spectral envelope, F = fft_size // 2 + 1.
        ap: (T, F) float64 aperiodicity in [0, 1].
        fs: sampling rate in Hz.
    """

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    fs: int

    @property
    def fft_size(self) -> int:
        return 2 * (self.sp.shape[1] - 1)


def analyze(samples: np.ndarray, fs: int = VC_RATE, f0_method: str = "dio", with_ap: bool = True,
            ap_every: int = 1) -> WorldFeatures:
    """WORLD analysis of mono ``samples`` (S,) float at ``fs`` Hz.

    ``f0_method``: ``"dio"`` (DIO + StoneMask, ~170x real time) or ``"harvest"`` (robust, ~7x).
    With ``with_ap=False`` the aperiodicity is not computed (``ap`` is empty). ``ap_every`` = n
    > 1 runs D4C (the costliest step, ~0.037 CPU-s per second of speech) on every n-th frame only
    and interpolates the others linearly: aperiodicity changes slowly (n = 2: 0.2-0.3 dB mean
    difference on Kokoro speech, D4C cost halved).
    """
    pw = _pyworld()
    x = np.ascontiguousarray(samples, dtype=np.float64)
    if f0_method == "harvest":
        f0, t = pw.harvest(x, fs, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
    else:
        f0, t = pw.dio(x, fs, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
        f0 = pw.stonemask(x, f0, t, fs)
    sp = pw.cheaptrick(x, f0, t, fs)
    if not with_ap:
        ap = np.zeros((0, sp.shape[1]))
    elif ap_every > 1 and len(t) > 2 * ap_every:
        sub = np.arange(0, len(t), ap_every)
        if sub[-1] != len(t) - 1:
            sub = np.append(sub, len(t) - 1)
        ap_sub = pw.d4c(x, np.ascontiguousarray(f0[sub]), np.ascontiguousarray(t[sub]), fs)
        pos = np.interp(np.arange(len(t)), sub, np.arange(len(sub)))
        lo = np.minimum(np.floor(pos).astype(int), len(sub) - 2)
        w = (pos - lo)[:, None]
        ap = (1 - w) * ap_sub[lo] + w * ap_sub[lo + 1]
    else:
        ap = pw.d4c(x, f0, t, fs)
    return WorldFeatures(f0, sp, ap, fs)


def code(sp: np.ndarray, fs: int, dims: int = N_CODED) -> np.ndarray:
    """Mel-cepstrum-like coding of envelopes (T, F) -> (T, dims) float64 (WORLD's coder)."""
    return _pyworld().code_spectral_envelope(np.ascontiguousarray(sp), fs, dims)


def decode(coded: np.ndarray, fs: int, fft_size: int) -> np.ndarray:
    """Inverse of :func:`code`: (T, dims) -> (T, fft_size // 2 + 1) power envelope."""
    return _pyworld().decode_spectral_envelope(np.ascontiguousarray(coded, dtype=np.float64), fs, fft_size)


def warp_envelope(sp: np.ndarray, factor: float) -> np.ndarray:
    """Scale the frequency axis of envelopes (T, F): output(f) = input(f / factor).

    ``factor`` > 1 moves formants up (a shorter vocal tract), < 1 down.
    """
    if abs(factor - 1.0) < 1e-6:
        return sp
    n = sp.shape[1]
    src = np.clip(np.arange(n) / factor, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo)[None, :]
    logsp = np.log(np.maximum(sp, 1e-16))
    return np.exp((1 - w) * logsp[:, lo] + w * logsp[:, hi])


def estimate_warp(src_mean_logspec: np.ndarray, ref_mean_logspec: np.ndarray, fs: int,
                  grid: np.ndarray | None = None) -> float:
    """Frequency-warp factor that best maps the source's mean voiced log spectrum onto the
    reference's (both (F,)); compared between 100 Hz and 5 kHz after removing the mean level."""
    grid = np.linspace(0.80, 1.25, 19) if grid is None else grid
    n = src_mean_logspec.shape[0]
    freqs = np.linspace(0, fs / 2, n)
    band = (freqs >= 100) & (freqs <= 5000)
    ref = ref_mean_logspec[band] - ref_mean_logspec[band].mean()
    best, best_err = 1.0, np.inf
    for factor in grid:
        warped = np.log(warp_envelope(np.exp(src_mean_logspec)[None, :], float(factor))[0])
        w = warped[band] - warped[band].mean()
        err = float(np.mean((w - ref) ** 2))
        if err < best_err:
            best, best_err = float(factor), err
    return best


def active_frames(sp: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    """(T,) bool: frames whose envelope energy is within ``floor_db`` dB of the median frame
    (the same rule the profile uses to drop silence)."""
    energy = 10 * np.log10(sp.sum(1) + 1e-20)
    return energy > np.median(energy) - floor_db


def cepstral_stats(coded: np.ndarray, voiced: np.ndarray, active: np.ndarray | None = None,
                   min_frames: int = 50) -> dict:
    """Per-class (voiced True / unvoiced False) mean and std of coded envelopes (T, D), over
    ``active`` frames only when given. Classes with fewer than ``min_frames`` frames are omitted.
    """
    out = {}
    for flag in (True, False):
        sel = voiced == flag
        if active is not None:
            sel &= active
        if sel.sum() >= min_frames:
            x = coded[sel]
            out[flag] = (x.mean(0), x.std(0) + 1e-6)
    return out


def profile_stats(profile) -> dict:
    """:func:`cepstral_stats` of a profile's voiced and unvoiced pools."""
    out = {}
    for flag, pool in ((True, profile.voiced), (False, profile.unvoiced)):
        if pool.shape[0] >= 20:
            x = pool.astype(np.float64)
            out[flag] = (x.mean(0), x.std(0) + 1e-6)
    return out


METHODS = ("mvn", "blend", "knn", "phone", "phone_knn")
#: Methods that need phone classes of the source (``src_classes``) and of the reference.
PHONE_METHODS = ("phone", "phone_knn")


def check_method(method) -> None:
    """Raise ValueError (one line) unless ``method`` is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def convert_features(src: WorldFeatures, profile, *, method: str = "mvn", k: int = 4, strength: float = 1.0,
                     blend: float = 0.3, warp: bool | float = False, src_lf0_stats: tuple[float, float] | None = None,
                     src_cep_stats: dict | None = None, pitch_shift_semitones: float = 0.0,
                     context: tuple[int, ...] = (-4, -2, 0, 2, 4), var_power: float = 1.0, mvn_order: int = N_CODED,
                     unvoiced: str = "shift", knn_order: int = N_CODED, knn_median: int = 0,
                     knn_weighted: bool = False, smooth: int = 0, src_classes: np.ndarray | None = None,
                     src_class_stats: dict | None = None, min_class_frames: int = 40, class_tau: float = 100.0,
                     class_var_power: float = 0.0, class_smooth: int = 5, class_order: int = 12,
                     class_unvoiced: bool = False, class_set: tuple[int, ...] | None = SONORANT_CLASSES,
                     ) -> tuple[np.ndarray, np.ndarray, float]:
    """Convert source WORLD features toward ``profile`` (a :class:`VoiceProfile`).

    Args:
        src: source analysis (needs f0 and sp).
        method: ``"mvn"`` cepstral mean/variance transfer (keeps phone content),
            ``"knn"`` kNN regression onto reference frames, ``"blend"`` = mvn + ``blend`` x (knn - mvn),
            ``"phone"`` mvn + per-broad-phone-class mean correction (needs ``src_classes`` and a
            profile with ``voiced_cls``), ``"phone_knn"`` that + kNN within the class.
        k: neighbours averaged per frame (knn / blend).
        strength: 1 = full conversion; 0 = source envelope (after warping); in between the
            mel-cepstra are interpolated.
        warp: True: estimate and apply vocal-tract-length warping first; a float: apply
            that warp factor (see :func:`warp_envelope`); False: no warping.
        src_lf0_stats: (mean, std) of the source's log F0 over the whole utterance; computed
            from ``src.f0`` when None.
        src_cep_stats: :func:`cepstral_stats` of the whole source utterance (pooled over
            chunks); computed from this chunk when None.
        context: frame offsets stacked into the kNN matching features.
        var_power: exponent on the std ratio in the mvn transfer (0 = mean shift only). 1.0
            (default) against 1.3, 8 references, 20 sentences, F0-chosen base voice:
            similarity +0.116 vs +0.121 over the base voice, WER +6.5 vs +9.5 points.
        mvn_order: the mvn transfer changes coefficients 1..mvn_order-1 only.
        unvoiced: how unvoiced frames (fricatives, stops, pauses) are mapped. ``"shift"``
            (default): the voiced frames' mean shift only, an average spectral-envelope
            difference between the speakers; ``"voiced"``: the voiced frames' full
            mean/variance transform (scaling their large deviations from the voiced mean put
            +7 to +20 dB of hiss into 8-12 kHz); ``"mvn"``: the unvoiced frames' own statistics
            (most similar, least intelligible); ``"keep"``: unchanged. Measured in
            docs/benchmarks.md ("Voice conversion: unvoiced frames").
        knn_order: the kNN output replaces coefficients 1..knn_order-1 only (smooth
            envelope / timbre); higher ones come from the mvn transfer.
        knn_median: median filter length (frames) over the kNN output (0 = off).
        knn_weighted: inverse-distance weighting of the k neighbours.
        smooth: moving-average length (frames) of the per-frame envelope change (0 = off).
        src_classes: (T,) int broad phone class of every source frame (:func:`frame_classes`
            of the TTS phones); needed by ``method="phone"`` / ``"phone_knn"`` (without it, or
            without the profile's ``voiced_cls``, they fall back to ``"mvn"``).
        src_class_stats: :func:`class_stats` of the source pooled over the whole utterance
            (None: from this chunk).
        min_class_frames: a class with fewer frames than this in the reference or the source
            backs off to the global transform.
        class_tau: shrinkage of a class transform toward the global one: weight
            n_ref / (n_ref + class_tau) on the class transform.
        class_var_power: exponent of the per-class std ratio; 0 (default) = the class's mean
            shift only (the class std of a 5-20 s reference is too noisy: with 1.0 the WER rose).
        class_smooth: moving average (frames) of the class-transform correction over time, so
            the envelope does not jump at phone boundaries.
        class_order: the class correction changes coefficients 1..class_order-1 only (default
            12: the formant region; the class means of higher coefficients are mostly noise).
        class_unvoiced: also give unvoiced frames their class's mean shift (default: the
            global voiced mean shift, as ``"mvn"``).
        class_set: the classes (indices into :data:`CLASS_NAMES`) that get their own transform
            (None: all); the others keep the global one.
    Returns:
        (f0 (T,), sp (T, F), warp factor used).
    """
    check_method(method)
    f0 = src.f0
    voiced = f0 > 0
    # --- F0: log mean/variance mapping
    f0_out = np.zeros_like(f0)
    if voiced.any():
        lf0 = np.log(f0[voiced])
        mu_s, sd_s = src_lf0_stats if src_lf0_stats is not None else (float(lf0.mean()), float(lf0.std()))
        sd_s = max(sd_s, 1e-3)
        f0_out[voiced] = np.exp((lf0 - mu_s) / sd_s * profile.lf0_std + profile.lf0_mean
                                + pitch_shift_semitones * np.log(2) / 12)
    # --- vocal-tract length warping
    sp = src.sp
    factor = 1.0
    if not isinstance(warp, bool) and float(warp) > 0:  # a factor fixed by the caller
        factor = float(warp)
        sp = warp_envelope(sp, factor)
    elif warp is True and voiced.sum() > 10:
        src_mean = np.log(np.maximum(sp[voiced], 1e-16)).mean(0)
        factor = estimate_warp(src_mean, profile.mean_logspec, src.fs)
        sp = warp_envelope(sp, factor)
    c = code(sp, src.fs, N_CODED)
    s_stats = src_cep_stats if src_cep_stats is not None else cepstral_stats(c, voiced, active_frames(sp))
    r_stats = profile_stats(profile)
    out = c.copy()
    for flag in (True, False):
        sel = voiced == flag
        cls = True if (not flag and unvoiced in ("voiced", "shift") and True in r_stats and True in s_stats) else flag
        if not sel.any() or cls not in r_stats:
            continue
        if cls not in s_stats:  # too few source frames of this class: shift means only
            st = (c[sel].mean(0), r_stats[cls][1])
        else:
            st = s_stats[cls]
        shift_only = not flag and unvoiced == "shift"
        mapped = mvn_map(c[sel], st, r_stats[cls], 0.0 if shift_only else var_power, mvn_order)
        if not flag and unvoiced == "keep":
            mapped = c[sel]
        conv = mapped
        keys_raw = profile.voiced if flag else profile.unvoiced
        if method in ("knn", "blend") and keys_raw.shape[0] >= k and flag in r_stats:
            mu_r, sd_r = r_stats[flag]
            keys = with_context((keys_raw[:, 1:N_MATCH] - mu_r[1:N_MATCH]) / sd_r[1:N_MATCH], context)
            # each side normalized by its own statistics (= the mvn-mapped source in the
            # reference's normalized space)
            qs = s_stats.get(flag, (c[sel].mean(0), r_stats[flag][1]))
            q = with_context((c[sel, 1:N_MATCH] - qs[0][1:N_MATCH]) / qs[1][1:N_MATCH], context)
            nn = knn_regress(q, keys, keys_raw.astype(np.float64), k=k, weighted=knn_weighted)
            if knn_median > 1 and nn.shape[0] >= knn_median:
                from scipy.ndimage import median_filter

                nn = median_filter(nn, size=(knn_median, 1), mode="nearest")
            lam = 1.0 if method == "knn" else blend
            conv = mapped.copy()
            conv[:, 1:knn_order] = mapped[:, 1:knn_order] + lam * (nn[:, 1:knn_order] - mapped[:, 1:knn_order])
            if method == "knn" and knn_order >= N_CODED:
                conv = nn.copy()
            conv[:, 0] = c[sel, 0]  # keep the source's frame energy contour
        out[sel] = strength * conv + (1 - strength) * c[sel]
    if method in PHONE_METHODS:
        out = phone_class_map(c, out, voiced, src_classes, src_class_stats, profile, s_stats, r_stats,
                               method=method, strength=strength, var_power=var_power,
                               class_var_power=class_var_power, order=class_order, min_frames=min_class_frames, tau=class_tau,
                               smooth=class_smooth, unvoiced_too=class_unvoiced, k=k, blend=blend,
                               class_set=class_set,
                               knn_order=knn_order, context=context, active=active_frames(sp))
    if smooth > 1 and out.shape[0] > smooth:
        # smooth the per-frame change (not the envelopes): no jumps at voicing boundaries
        from scipy.ndimage import uniform_filter1d

        out[:, 1:] = c[:, 1:] + uniform_filter1d(out[:, 1:] - c[:, 1:], smooth, axis=0, mode="nearest")
    if method in ("knn", "blend") and out.shape[0] >= 3:
        # light temporal smoothing of the regressed envelopes (3-frame moving average)
        sm = out.copy()
        sm[1:-1, 1:] = (out[:-2, 1:] + out[1:-1, 1:] + out[2:, 1:]) / 3.0
        out = sm
    return f0_out, decode(out, src.fs, src.fft_size), factor


def synthesize_world(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, fs: int) -> np.ndarray:
    """WORLD synthesis -> (S,) float32."""
    pw = _pyworld()
    y = pw.synthesize(np.ascontiguousarray(f0, dtype=np.float64), np.ascontiguousarray(sp),
                      np.ascontiguousarray(ap), fs, FRAME_MS)
    return y.astype(np.float32)
