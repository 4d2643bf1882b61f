"""Phoneme -> viseme table and person-independent articulation targets.

Viseme set: the 15 visemes of MPEG-4 Face and Body Animation (ISO/IEC 14496-2:1999, Annex C,
table "Visemes and related phonemes", FAP 1 ``viseme_select`` values 0-14; reproduced in
Pandzic & Forchheimer (eds.), "MPEG-4 Facial Animation: The Standard, Implementation and
Applications", Wiley 2002, table 2.3). We use the short names popularised by the Oculus/Meta
Lipsync SDK, which implements exactly this MPEG-4 set:

====  ======  ===========================  ====  ======  ========================
 id   name    MPEG-4 phonemes (example)     id   name    MPEG-4 phonemes (example)
====  ======  ===========================  ====  ======  ========================
 0    sil     none (neutral)                8    nn      n, l (lot, not)
 1    PP      p, b, m (put, bed, mill)      9    RR      r (red)
 2    FF      f, v (far, voice)             10   aa      A: (car)
 3    TH      T, D (think, that)            11   E       e (bed)
 4    DD      t, d (tip, doll)              12   I       I (tip)
 5    kk      k, g (call, gas)              13   O       Q (top)
 6    CH      tS, dZ, S (chair, join, she)  14   U       U (book)
 7    SS      s, z (sir, zeal)
====  ======  ===========================  ====  ======  ========================

MPEG-4 lists one or two example phonemes per viseme; the assignment of the remaining ARPAbet
phones (diphthongs by their first, more open target; W with U; Y with I; HH and NG with kk;
ER with RR; ZH with CH) is ours, following the usual place-of-articulation grouping.

Articulation targets (``open``, ``width``, ``closure``) are generic and person-independent,
on a 0..1 scale of *the person's own* range (the motion module maps them onto a person's
mouth shapes). Coarticulation parameters follow the dominance model of Cohen & Massaro,
"Modeling coarticulation in synthetic visual speech", in Models and Techniques in Computer
Animation, Springer 1993, pp. 139-156:

    D(tau) = alpha * exp(-theta * |tau| ** c)

and the articulator value at time t is the dominance-weighted mean of the segment targets,
``sum_i D_i(t) * T_i / sum_i D_i(t)``. Here ``tau`` is in seconds, so ``theta`` is in
``s**-c`` (1/s for c = 1; for the c = 2 bilabials theta = 625 s^-2 = (25/s)^2). See
``docs/visemes.md`` and :func:`coarticulate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from twintake.types import Phone

__all__ = [
    "VisemeTarget",
    "VISEMES",
    "PHONE_TO_VISEME",
    "NEUTRAL_VISEME",
    "viseme_of",
    "dominance",
    "coarticulate",
]


@dataclass(frozen=True)
class VisemeTarget:
    """Person-independent articulation target of a viseme, with its coarticulation parameters.

    Attributes:
        name: viseme name (a key of :data:`VISEMES`).
        open: jaw/lip opening, 0 = closed .. 1 = the widest the person opens.
        width: mouth-corner width, 0 = most rounded/pursed .. 1 = widest spread; 0.45 = rest.
        closure: True for bilabials (P B M): the lips must be pressed together.
        alpha: dominance magnitude (Cohen & Massaro's alpha), dimensionless, > 0. Vowels 1.0;
            bilabials and labiodentals 10 and 6 so their lip shape wins over the neighbours.
        theta: dominance decay rate in ``s**-c`` (larger = narrower in time), as in the paper:
            ``D = alpha * exp(-theta * |tau| ** c)`` with ``tau`` in seconds.
        c: dominance exponent (1 = exponential, 2 = Gaussian-like, flatter near the centre).
    """

    name: str
    open: float
    width: float
    closure: bool
    alpha: float
    theta: float
    c: float


_V = VisemeTarget
#: The 15 MPEG-4 visemes with their targets. Vowel targets follow the classic vowel chart
#: (open: AA > AO > EH > AH > IH/UH > IY/UW; spread: IY > EH > AA > AO > UW).
VISEMES: dict[str, VisemeTarget] = {
    "sil": _V("sil", open=0.00, width=0.45, closure=False, alpha=0.8, theta=8.0, c=1.0),
    "PP": _V("PP", open=0.00, width=0.45, closure=True, alpha=10.0, theta=625.0, c=2.0),
    "FF": _V("FF", open=0.08, width=0.50, closure=False, alpha=6.0, theta=625.0, c=2.0),
    "TH": _V("TH", open=0.22, width=0.55, closure=False, alpha=0.6, theta=14.0, c=1.0),
    "DD": _V("DD", open=0.22, width=0.55, closure=False, alpha=0.4, theta=14.0, c=1.0),
    "kk": _V("kk", open=0.30, width=0.50, closure=False, alpha=0.3, theta=14.0, c=1.0),
    "CH": _V("CH", open=0.20, width=0.25, closure=False, alpha=1.2, theta=16.0, c=1.0),
    "SS": _V("SS", open=0.12, width=0.62, closure=False, alpha=0.8, theta=16.0, c=1.0),
    "nn": _V("nn", open=0.22, width=0.55, closure=False, alpha=0.4, theta=14.0, c=1.0),
    "RR": _V("RR", open=0.25, width=0.28, closure=False, alpha=0.8, theta=12.0, c=1.0),
    "aa": _V("aa", open=1.00, width=0.62, closure=False, alpha=1.0, theta=10.0, c=1.0),
    "E": _V("E", open=0.60, width=0.75, closure=False, alpha=1.0, theta=10.0, c=1.0),
    "I": _V("I", open=0.30, width=0.90, closure=False, alpha=1.0, theta=10.0, c=1.0),
    "O": _V("O", open=0.75, width=0.20, closure=False, alpha=1.0, theta=10.0, c=1.0),
    "U": _V("U", open=0.28, width=0.05, closure=False, alpha=1.2, theta=10.0, c=1.0),
}

#: Viseme of symbols that are not ARPAbet phones (and of silence).
NEUTRAL_VISEME = "sil"

#: ARPAbet (39 CMUdict phones, no stress) + SIL -> MPEG-4 viseme name.
PHONE_TO_VISEME: dict[str, str] = {
    "SIL": "sil",
    # bilabials, labiodentals, dentals
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    # alveolars, velars, postalveolars
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk", "HH": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    # vowels and glides
    "AA": "aa", "AE": "aa", "AH": "aa", "AY": "aa", "AW": "aa",
    "EH": "E", "EY": "E",
    "IH": "I", "IY": "I", "Y": "I",
    "AO": "O", "OW": "O", "OY": "O",
    "UH": "U", "UW": "U", "W": "U",
}

_STRESS = re.compile(r"[0-9]+$")


def viseme_of(phone_symbol: str) -> str:
    """MPEG-4 viseme name of an ARPAbet phone.

    Case and stress digits are ignored (``"ah1"`` -> ``"aa"``). Unknown symbols (noise
    markers, phones of other phone sets, empty strings) map to :data:`NEUTRAL_VISEME`; this
    never raises.
    """
    if not isinstance(phone_symbol, str):
        return NEUTRAL_VISEME
    key = _STRESS.sub("", phone_symbol.strip().upper())
    return PHONE_TO_VISEME.get(key, NEUTRAL_VISEME)


def dominance(target: VisemeTarget, tau_s: np.ndarray | float) -> np.ndarray:
    """Cohen-Massaro dominance ``alpha * exp(-theta * |tau| ** c)`` (tau in seconds).

    Args:
        target: the viseme whose dominance is evaluated.
        tau_s: time distance(s) from the segment, seconds (any shape).

    Returns:
        float64 array of the shape of ``tau_s``, in ``(0, alpha]``.
    """
    tau = np.abs(np.asarray(tau_s, dtype=np.float64))
    return target.alpha * np.exp(-target.theta * tau**target.c)


def coarticulate(
    phones: Sequence[Phone], fps: float, num_frames: int | None = None, closures: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference coarticulation of a phone sequence into per-frame articulation targets.

    For each output frame centre ``t = (i + 0.5) / fps``, every phone segment contributes its
    viseme's target with weight ``D(tau)``, where ``tau`` is the distance from ``t`` to the
    segment (0 inside it: a dominance plateau over the segment, so long vowels and pauses hold
    their target; Cohen & Massaro measure from the centre, which under-shoots long segments).
    Only segments within 0.5 s contribute. ``closure`` is 1.0 (and ``open`` 0.0) on the frames whose
    centre a bilabial covers (on the frame nearest its middle if it covers none, so a 30 ms
    /p/ still closes the lips at 25 fps); elsewhere it is the dominance-weighted share of
    closure targets.

    With recognized phones of recorded speech, pass ``closures``: each bilabial's acoustic
    closure evidence and interval (:func:`twintake.motion.closure.closure_spans`). Its
    dominance is then multiplied by the strength, it is timed by the interval, and it is forced
    shut only when the strength is at least 0.5 (its closure value is the strength): a P/B/M the
    recognizer hears on a loud vowel, with no closure interval or nasal murmur in the audio, no
    longer presses the lips together.

    Args:
        phones: sorted, non-overlapping phones (as from ``recognize_phones``).
        fps: output frame rate (> 0).
        num_frames: number of frames T; default ``round(end of last phone * fps)``.
        closures: (P, 3) float64 ``strength, start_s, end_s`` per phone, or None (every phone at
            full strength, at its own times).

    Returns:
        ``(open, width, closure)``, each shape (T,), float32 in [0, 1].
    """
    if num_frames is None:
        num_frames = int(round(phones[-1].end_s * fps)) if phones else 0
    t = (np.arange(num_frames) + 0.5) / float(fps)
    if not phones or num_frames == 0:
        rest = VISEMES[NEUTRAL_VISEME]
        return (np.full(num_frames, rest.open, np.float32), np.full(num_frames, rest.width,
                np.float32), np.zeros(num_frames, np.float32))
    num = np.zeros((3, num_frames))
    den = np.zeros(num_frames)
    forced = np.zeros(num_frames, dtype=bool)
    forced_value = np.ones(num_frames)
    for i, ph in enumerate(phones):
        v = VISEMES[viseme_of(ph.symbol)]
        strength, t0, t1 = (1.0, ph.start_s, ph.end_s) if closures is None else closures[i]
        if strength <= 0.0:
            continue
        tau = np.maximum(np.maximum(t0 - t, t - t1), 0.0)
        near = tau < 0.5
        if not near.any():
            continue
        d = np.where(near, float(strength) * dominance(v, tau), 0.0)
        num[0] += d * v.open
        num[1] += d * v.width
        num[2] += d * float(v.closure)
        den += d
        if v.closure and strength >= 0.5:
            # Every bilabial closes the lips on at least one frame, even when shorter than
            # a frame: the frames whose centre it covers, else the frame nearest its middle.
            inside = (t >= t0) & (t < t1)
            if not inside.any():
                inside = np.zeros(num_frames, dtype=bool)
                inside[int(np.clip(np.floor(0.5 * (t0 + t1) * fps), 0, num_frames - 1))] = True
            # a frame two closures force keeps the firmer one
            firmest = np.where(forced, np.maximum(forced_value, strength), strength)
            forced_value = np.where(inside, firmest, forced_value)
            forced |= inside
    den = np.maximum(den, 1e-12)
    open_ = np.where(forced, (1.0 - forced_value) * num[0] / den, num[0] / den)
    width = num[1] / den
    closure = np.where(forced, forced_value, np.clip(num[2] / den, 0.0, 1.0))
    return (open_.astype(np.float32), width.astype(np.float32), closure.astype(np.float32))
