"""Phone-class and frame-mapping helpers of the WORLD voice conversion (:mod:`.world`).

* :func:`mvn_map`: cepstral mean/variance transfer (the default ``mvn`` conversion's map).
* :func:`knn_regress`, :func:`with_context`: kNN-VC-style frame regression (Baas et al., "Voice
  Conversion With Just Nearest Neighbors", Interspeech 2023), on WORLD's coded envelopes.
* Broad phone classes (:data:`CLASS_NAMES`, :func:`frame_classes`, :func:`class_stats`) and the
  class-conditioned transform on top of the global one (:func:`phone_class_map`; ``method="phone"``
  / ``"phone_knn"``): a piecewise-linear mapping in the spirit of Stylianou et al., "Continuous
  probabilistic transform for voice conversion" (IEEE TSAP 1998), with recognised phone classes in
  place of a GMM's components (docs/speech.md, "Phone-aware conversion").
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["CLASS_NAMES", "SONORANT_CLASSES", "PHONE_CLASSES", "N_MATCH", "mvn_map", "knn_regress", "with_context",
           "frame_classes", "class_stats", "phone_class_map", "profile_class_stats"]

log = logging.getLogger(__name__)

N_MATCH = 30  # coefficients 1..N_MATCH-1 are used for matching (c0, the energy, is not)


def mvn_map(c: np.ndarray, src_stats: tuple, ref_stats: tuple, var_power: float = 1.0,
            order: int | None = None) -> np.ndarray:
    """Cepstral mean/variance transfer of coefficients 1..order-1 (c0, the frame energy, and
    coefficients from ``order`` on are kept): ``(c - mu_src) * (sd_ref / sd_src) ** var_power + mu_ref``."""
    mu_s, sd_s = src_stats
    mu_r, sd_r = ref_stats
    o = c.shape[1] if order is None else int(order)
    out = c.copy()
    scale = (sd_r[1:o] / sd_s[1:o]) ** var_power
    out[:, 1:o] = (c[:, 1:o] - mu_s[1:o]) * scale + mu_r[1:o]
    return out


#: Broad phone classes (index into :data:`CLASS_NAMES`): ARPAbet phones grouped by place and
#: manner, coarse enough that an English phone recognizer's confusions (PocketSphinx allphone:
#: phone error rate ~0.4) mostly stay inside a class. Not listed (``SIL``) -> -1.
CLASS_NAMES = ("front", "open", "back", "rhotic", "lateral", "nasal", "sibilant", "fricative", "stop")
#: Classes whose frames get their own transform by default (vowels, glides, liquids, nasals):
#: the obstruents' voiced frames are short and their labels least reliable.
SONORANT_CLASSES = (0, 1, 2, 3, 4, 5)
PHONE_CLASSES: dict[str, int] = {
    **dict.fromkeys(("IY", "IH", "EY", "EH", "AE", "Y"), 0),
    **dict.fromkeys(("AA", "AH", "AO", "AW", "AY"), 1),
    **dict.fromkeys(("OW", "UH", "UW", "OY", "W"), 2),
    **dict.fromkeys(("ER", "R"), 3),
    "L": 4,
    **dict.fromkeys(("M", "N", "NG"), 5),
    **dict.fromkeys(("S", "Z", "SH", "ZH", "CH", "JH"), 6),
    **dict.fromkeys(("F", "V", "TH", "DH", "HH"), 7),
    **dict.fromkeys(("P", "B", "T", "D", "K", "G"), 8),
}


def frame_classes(phones, n_frames: int, frame_s: float = 0.005) -> np.ndarray:
    """Broad phone class of every analysis frame: (n_frames,) int8, -1 for silence / unknown.

    Args:
        phones: timed phones (objects with ``symbol``, ``start_s``, ``end_s``; ARPAbet or
            ``"SIL"``), times in seconds from the start of the analysed signal; frame ``t`` is at
            ``t * frame_s`` s (WORLD's frame times).
        n_frames: number of frames to label.
    """
    out = np.full(int(n_frames), -1, np.int8)
    for p in phones or ():
        cls = PHONE_CLASSES.get(str(p.symbol).upper(), -1)
        if cls < 0:
            continue
        a = max(0, int(np.ceil(float(p.start_s) / frame_s - 1e-9)))
        b = min(len(out), int(np.ceil(float(p.end_s) / frame_s - 1e-9)))
        if b > a:
            out[a:b] = cls
    return out


def class_stats(coded: np.ndarray, voiced: np.ndarray, classes: np.ndarray,
                active: np.ndarray | None = None) -> dict:
    """Per (voicing, broad phone class) statistics of coded envelopes.

    Args:
        coded: (T, D) float coded envelopes.
        voiced: (T,) bool.
        classes: (T,) int class per frame (:func:`frame_classes`; -1 = none).
        active: (T,) bool frames to use (None: all).
    Returns:
        ``{(voiced_flag, class): (mean (D,), std (D,), n_frames)}`` for every pair with at
        least 2 frames (the caller decides how many are enough).
    """
    out = {}
    base = np.ones(len(coded), bool) if active is None else np.asarray(active, bool)
    for flag in (True, False):
        for k in range(len(CLASS_NAMES)):
            sel = base & (voiced == flag) & (classes == k)
            n = int(sel.sum())
            if n >= 2:
                x = coded[sel].astype(np.float64)
                out[(flag, k)] = (x.mean(0), x.std(0) + 1e-6, n)
    return out


def knn_regress(query: np.ndarray, keys: np.ndarray, values: np.ndarray, k: int = 4,
                block: int = 2048, weighted: bool = False) -> np.ndarray:
    """Mean of the ``values`` rows of the k nearest ``keys`` rows (Euclidean) for each query.

    With ``weighted`` the neighbours are averaged with weights 1 / (distance + eps).
    Shapes: query (T, D), keys (N, D), values (N, E) -> (T, E) float64.
    """
    k = max(1, min(k, keys.shape[0]))
    keys32 = keys.astype(np.float32)
    key_sq = (keys32 ** 2).sum(1)
    out = np.empty((query.shape[0], values.shape[1]), np.float64)
    for s in range(0, query.shape[0], block):
        q = query[s:s + block].astype(np.float32)
        d = key_sq[None, :] - 2.0 * q @ keys32.T
        idx = np.argpartition(d, k - 1, axis=1)[:, :k] if k < keys.shape[0] else np.tile(np.arange(keys.shape[0]), (len(q), 1))
        if weighted:
            dk = np.take_along_axis(d, idx, axis=1) + (q.astype(np.float64) ** 2).sum(1, keepdims=True)
            w = 1.0 / (np.sqrt(np.maximum(dk, 0.0)) + 1e-3)
            w /= w.sum(1, keepdims=True)
            out[s:s + block] = np.einsum("tk,tke->te", w, values[idx])
        else:
            out[s:s + block] = values[idx].mean(axis=1)
    return out


def phone_class_map(c: np.ndarray, glob: np.ndarray, voiced: np.ndarray, src_classes, src_class_stats,
                     profile, s_stats: dict, r_stats: dict, *, method: str, strength: float, var_power: float,
                     class_var_power: float, order: int, min_frames: int, tau: float, smooth: int,
                     unvoiced_too: bool, k: int, blend: float, knn_order: int, context, active,
                     class_set=None) -> np.ndarray:
    """Class-conditioned statistics transfer (and optionally kNN within the class) on top of the
    global mvn output ``glob`` (T, D); returns the new (T, D) coded envelopes."""
    ref_v = getattr(profile, "voiced_cls", None)
    if src_classes is None or ref_v is None or len(ref_v) != profile.voiced.shape[0] or True not in r_stats:
        log.info("phone-class conversion without phone labels (%s): global transform",
                 "source" if src_classes is None else "reference")
        return glob  # no phone labels on one side: the global transform
    cls = np.full(len(c), -1, np.int16)
    n = min(len(c), len(src_classes))
    cls[:n] = np.asarray(src_classes)[:n]
    if src_class_stats is None:
        src_class_stats = class_stats(c, voiced, cls, active)
    o = glob.shape[1] if order is None else int(order)
    ref_stats = profile_class_stats(profile)
    corr = np.zeros_like(glob)  # class output - global output, per frame
    for flag in (True, False) if unvoiced_too else (True,):
        for kk in range(len(CLASS_NAMES)) if class_set is None else class_set:
            sel = (voiced == flag) & (cls == kk)
            rs, ss = ref_stats.get((flag, kk)), src_class_stats.get((flag, kk))
            if not sel.any() or rs is None or ss is None or min(rs[2], ss[2]) < min_frames:
                continue  # back off: the global transform
            w = rs[2] / (rs[2] + tau)
            if flag:
                mapped = mvn_map(c[sel], ss[:2], rs[:2], class_var_power, o)
            else:  # unvoiced: the class's mean shift only
                mapped = c[sel].copy()
                mapped[:, 1:o] += rs[0][1:o] - ss[0][1:o]
            if flag and method == "phone_knn":
                keys_raw = profile.voiced[ref_v == kk].astype(np.float64)
                if keys_raw.shape[0] >= k:
                    mu_r, sd_r = rs[0], rs[1]
                    keys = with_context((keys_raw[:, 1:N_MATCH] - mu_r[1:N_MATCH]) / sd_r[1:N_MATCH], context)
                    cs = np.where(sel[:, None], c, 0.0)  # context from this class's frames only
                    q = with_context((cs[:, 1:N_MATCH] - ss[0][1:N_MATCH]) / ss[1][1:N_MATCH], context)[sel]
                    nn = knn_regress(q, keys, keys_raw, k=k)
                    mapped[:, 1:knn_order] += blend * (nn[:, 1:knn_order] - mapped[:, 1:knn_order])
            mapped[:, 0] = c[sel, 0]
            corr[sel, :o] = w * (mapped[:, :o] - glob[sel, :o]) * strength
    if smooth > 1 and len(corr) > smooth:
        from scipy.ndimage import uniform_filter1d

        corr = uniform_filter1d(corr, smooth, axis=0, mode="nearest")
    corr[:, 0] = 0.0
    return glob + corr


def profile_class_stats(profile) -> dict:
    """:func:`class_stats` of a profile's labelled voiced and unvoiced pools (cached on it)."""
    key = (id(profile.voiced), id(profile.voiced_cls), id(getattr(profile, "unvoiced_cls", None)))
    cached = getattr(profile, "_class_stats_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    pools = [(profile.voiced, np.ones(profile.voiced.shape[0], bool), profile.voiced_cls)]
    if getattr(profile, "unvoiced_cls", None) is not None and len(profile.unvoiced_cls) == profile.unvoiced.shape[0]:
        pools.append((profile.unvoiced, np.zeros(profile.unvoiced.shape[0], bool), profile.unvoiced_cls))
    out = class_stats(np.concatenate([p[0] for p in pools]).astype(np.float64), np.concatenate([p[1] for p in pools]),
                      np.concatenate([p[2] for p in pools]))
    try:
        object.__setattr__(profile, "_class_stats_cache", (key, out))
    except (AttributeError, TypeError):
        pass
    return out


def with_context(x: np.ndarray, offsets: tuple[int, ...]) -> np.ndarray:
    """Stack frames at the given offsets (edge-padded): (T, D) -> (T, D * len(offsets))."""
    if tuple(offsets) == (0,):
        return x
    n = x.shape[0]
    idx = np.arange(n)
    return np.concatenate([x[np.clip(idx + o, 0, n - 1)] for o in offsets], axis=1)
