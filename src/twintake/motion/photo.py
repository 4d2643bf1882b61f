"""Motion of a photo avatar: mouth opening and width, lip closures, blinks and head motion,
per output frame.

The mouth runs the same viseme driver as videos (:class:`twintake.motion.driver.VisemeDriver`,
MPEG-4 viseme targets blended by Cohen-Massaro dominance functions and scaled by loudness) on a
2-D "open, width" shape space, block by block. Blinks: intervals drawn from a gamma distribution
(mean ~3.6 s, clipped to 2-6 s) and durations of 100-200 ms, in line with reported spontaneous
blink statistics (Bentivoglio et al., "Analysis of blink rate patterns in normal subjects",
Movement Disorders 12(6), 1997: ~17 blinks/min at rest, more while talking; Caffier et al.,
"Experimental evaluation of eye-blink parameters as a drowsiness measure", Eur J Appl Physiol
89, 2003: ~100-200 ms for alert subjects). Head: sub-degree rotation and a few pixels of
translation from smooth band-limited noise, slightly larger while speaking.
"""

from __future__ import annotations

import numpy as np

from ..speech.analysis import loudness_envelope
from ..types import Speech
from .driver import DriverOptions, VisemeDriver, VisemeShapes, phones_to_trajectory
from .visemes import VISEMES

__all__ = ["mouth_track", "closure_track", "blink_track", "head_track", "loudness01"]


class _OpenWidth:
    """Minimal stand-in for :class:`MouthModel` in the 2-D (open, width) space."""

    rest = np.array([0.0, VISEMES["sil"].width], np.float32)


def mouth_track(speech: Speech, fps: float, n: int, *, start: int = 0, stop: int | None = None,
                options: DriverOptions | None = None,
                scale: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame mouth targets of a photo from the phones, loudness and voice activity.

    Args:
        speech: with phones (SIL for pauses) covering frames ``start .. stop - 1``.
        fps: output frame rate; n: number of frames T of the whole speech.
        start, stop: the block of frames to compute (default all), for streaming; the result
            equals the same frames of the whole track.
        options: the motion driver's options.
        scale: :meth:`VisemeDriver.articulation_scale` of the whole speech (computed here when
            None).
    Returns:
        (open (B,) float32, 0 = closed .. ~1.3 = widest, width (B,) float32 0..1 with 0.45 =
        rest, active (B,) bool voice activity), B = stop - start.
    """
    stop = n if stop is None else min(stop, n)
    targets = {name: np.array([0.0 if v.closure else v.open, v.width], np.float32)
               for name, v in VISEMES.items()}
    shapes = VisemeShapes(targets=targets, counts={k: 0 for k in targets})
    driver = VisemeDriver(options or DriverOptions())
    if scale is None:
        scale = driver.articulation_scale(speech, fps, n)
    # one frame of context on each side: the 3-tap smoothing below then equals the whole track's
    a, b = max(0, start - 1), min(n, stop + 1)
    traj = driver.drive(speech, _OpenWidth(), shapes, fps, n, start=a, stop=b, scale=scale)  # type: ignore[arg-type]
    ow = traj.coeffs.astype(np.float32)
    op = np.clip(ow[:, 0], 0.0, 1.1)
    # a light temporal smoothing (the warp should not jitter frame to frame)
    k = np.array([0.25, 0.5, 0.25], np.float32)
    lo_pad, hi_pad = (1 if a == start else 0), (1 if b == stop else 0)
    op = np.convolve(np.pad(op, (lo_pad, hi_pad), mode="edge"), k, mode="valid")
    wd = np.convolve(np.pad(ow[:, 1], (lo_pad, hi_pad), mode="edge"), k, mode="valid")
    active = ~traj.silent[start - a:start - a + (stop - start)]
    return op.astype(np.float32), np.clip(wd, 0.0, 1.0).astype(np.float32), active


def closure_track(speech: Speech, fps: float, n: int, *, start: int = 0, stop: int | None = None) -> np.ndarray:
    """How firmly the lips must meet per frame, (T,) float32 in [0, 1]: bilabials (P B M,
    :attr:`VisemeTarget.closure`) target 1, labiodentals (F V: the lower lip meets the upper
    teeth) 0.5, everything else 0, blended with the same Cohen-Massaro dominance functions as
    the opening (:func:`twintake.motion.driver.phones_to_trajectory`), then ``(c - 0.65) / 0.3``
    clipped to [0, 1] (the core of each closure). Used to close an open
    photo's own mouth (a smile) on the closures only; silence keeps the photo's mouth.
    Frames ``start .. stop - 1`` only (default all)."""
    targets = {name: np.array([1.0 if v.closure else (0.5 if name == "FF" else 0.0)], np.float32)
               for name, v in VISEMES.items()}
    shapes = VisemeShapes(targets=targets, counts={k: 0 for k in targets})
    stop = n if stop is None else min(stop, n)
    c = phones_to_trajectory(speech.phones, shapes, np.zeros(1, np.float32), stop - start, fps, start=start)[:, 0]
    # the bilabials' large dominance (alpha 10) spreads the blend far into the neighbours: keep
    # only the core (blend > 0.65) so the mouth opens again for the vowels around a closure
    return np.clip((c - 0.65) / 0.3, 0.0, 1.0).astype(np.float32)


def blink_track(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure per frame, (T,) float32 in [0, 1] (1 = shut).

    Inter-blink intervals: gamma(shape 4, mean 3.6 s) clipped to [2, 6] s, the first after
    0.8-2.0 s; durations uniform in [100, 200] ms: close in 35 %, shut for 15 %, reopen in 50 %
    (see the module docstring for sources).
    """
    out = np.zeros(n, np.float32)
    t = rng.uniform(0.8, 2.0)
    ts = (np.arange(n) + 0.5) / fps
    while t < n / fps:
        dur = rng.uniform(0.10, 0.20)
        # close in 35 %, stay shut for 15 %, reopen in 50 % of the blink
        x = np.interp(ts, [t, t + 0.35 * dur, t + 0.5 * dur, t + dur], [0.0, 1.0, 1.0, 0.0], left=0.0, right=0.0)
        # make sure a frame sees the lid shut even when the blink falls between frames
        if 0 < x.max() < 0.999:
            x[int(np.argmax(x))] = 1.0
        out = np.maximum(out, x.astype(np.float32))
        t += dur + float(np.clip(rng.gamma(4.0, 0.9), 2.0, 6.0))
    return out


def _smooth_noise(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """(T,) float64 band-limited noise in [-1, 1]: 4 sinusoids of 0.07-0.5 Hz, random phases."""
    t = np.arange(n) / fps
    x = np.zeros(n)
    for f in rng.uniform(0.07, 0.5, 4):
        x += rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return x / 2.5


def head_track(n: int, fps: float, loud: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Head motion per frame, (T, 3) float64: rotation (degrees, |.| < 1) and translation
    (x, y) in face widths (~1 %), from smooth noise amplified up to 1.6x by loudness ``loud``
    ((T,) in [0, 1])."""
    g = 1.0 + 0.6 * np.convolve(loud, np.ones(13) / 13, mode="same")
    rot = 0.55 * _smooth_noise(n, fps, rng) * g
    tx = 0.010 * _smooth_noise(n, fps, rng) * g
    ty = 0.007 * _smooth_noise(n, fps, rng) * g
    return np.stack([np.clip(rot, -0.95, 0.95), tx, ty], 1)


def loudness01(speech: Speech, fps: float, n: int, active: np.ndarray) -> np.ndarray:
    """(T,) float64 loudness mapped to [0, 1] (30 dB below the 90th percentile of speech -> 0)."""
    db = loudness_envelope(speech.samples, speech.sample_rate_hz, fps).astype(np.float64)
    db = np.concatenate([db, np.full(max(0, n - len(db)), -100.0)])[:n]
    if not active.any():
        return np.zeros(n)
    top = float(np.percentile(db[active], 90))
    return np.clip((db - (top - 30.0)) / 30.0, 0.0, 1.0)
