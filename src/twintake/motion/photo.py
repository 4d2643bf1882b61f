"""Motion of a photo avatar: mouth opening and width, lip closures, blinks and head motion,
per output frame.

The mouth runs the same viseme driver as videos (:class:`twintake.motion.driver.VisemeDriver`,
MPEG-4 viseme targets blended by Cohen-Massaro dominance functions and scaled by loudness) on a
2-D "open, width" shape space, block by block; with recorded speech a recognized bilabial closes
the mouth only as far as the audio shows a closure (:mod:`twintake.motion.closure`). Blinks: intervals drawn from a gamma distribution
(mean 3.5 s, clipped to 2-8 s, occasional double blinks) and lengths drawn from the real
talking videos' (3-8 frames at 25 fps), in line with reported spontaneous blink statistics
(Bentivoglio et al., "Analysis of blink rate patterns in normal subjects", Movement Disorders
12(6), 1997: ~17 blinks/min at rest, more while talking; Caffier et al., "Experimental
evaluation of eye-blink parameters as a drowsiness measure", Eur J Appl Physiol 89, 2003).
Head: pitch, yaw, roll and brow lift from the speech through the learned filter of
:mod:`twintake.motion.head`.
"""

from __future__ import annotations

import numpy as np

from ..speech.analysis import loudness_envelope
from ..types import Speech
from .driver import DriverOptions, VisemeDriver, VisemeShapes, phones_to_trajectory
from .head import HeadMotionModel, load_head_model, speech_features
from .visemes import VISEMES

__all__ = ["mouth_track", "block_closures", "closure_track", "blink_track", "head_track", "loudness01"]


class _OpenWidth:
    """Minimal stand-in for :class:`MouthModel` in the 2-D (open, width) space."""

    rest = np.array([0.0, VISEMES["sil"].width], np.float32)


def mouth_track(speech: Speech, fps: float, n: int, *, start: int = 0, stop: int | None = None,
                options: DriverOptions | None = None,
                scale: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                closures: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame mouth targets of a photo from the phones, loudness and voice activity.

    Args:
        speech: with phones (SIL for pauses) covering frames ``start .. stop - 1``.
        fps: output frame rate; n: number of frames T of the whole speech.
        start, stop: the block of frames to compute (default all), for streaming; the result
            equals the same frames of the whole track.
        options: the motion driver's options.
        scale: :meth:`VisemeDriver.articulation_scale` of the whole speech (computed here when
            None).
        closures: :func:`block_closures` of this block when already measured (None = measured
            here).
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
    traj = driver.drive(speech, _OpenWidth(), shapes, fps, n, start=a, stop=b, scale=scale,  # type: ignore[arg-type]
                        closures=closures)
    ow = traj.coeffs.astype(np.float32)
    op = np.clip(ow[:, 0], 0.0, 1.1)
    # a light temporal smoothing (the warp should not jitter frame to frame)
    k = np.array([0.25, 0.5, 0.25], np.float32)
    lo_pad, hi_pad = (1 if a == start else 0), (1 if b == stop else 0)
    op = np.convolve(np.pad(op, (lo_pad, hi_pad), mode="edge"), k, mode="valid")
    wd = np.convolve(np.pad(ow[:, 1], (lo_pad, hi_pad), mode="edge"), k, mode="valid")
    active = ~traj.silent[start - a:start - a + (stop - start)]
    return op.astype(np.float32), np.clip(wd, 0.0, 1.0).astype(np.float32), active


def block_closures(speech: Speech, fps: float, n: int, *, start: int = 0, stop: int | None = None,
                   options: DriverOptions | None = None) -> np.ndarray | None:
    """The recognized bilabials' acoustic closure evidence for a block of frames
    ``start .. stop - 1`` and the frame of context on each side that :func:`mouth_track` drives
    (:meth:`VisemeDriver.closure_weights`; None when ``options.closure_evidence`` is off or the
    speech is synthesized): measured once per block and given to both :func:`mouth_track` and
    :func:`closure_track`."""
    stop = n if stop is None else min(stop, n)
    return VisemeDriver(options or DriverOptions()).closure_weights(speech, fps, max(0, start - 1), min(n, stop + 1))


def closure_track(speech: Speech, fps: float, n: int, *, start: int = 0, stop: int | None = None,
                  options: DriverOptions | None = None, closures: np.ndarray | None = None) -> np.ndarray:
    """How firmly the lips must meet per frame, (T,) float32 in [0, 1]: bilabials (P B M,
    :attr:`VisemeTarget.closure`) target 1, labiodentals (F V: the lower lip meets the upper
    teeth) 0.5, everything else 0, blended with the same Cohen-Massaro dominance functions as
    the opening (:func:`twintake.motion.driver.phones_to_trajectory`), then ``(c - 0.65) / 0.3``
    clipped to [0, 1] (the core of each closure). Used to close an open
    photo's own mouth (a smile) on the closures only; silence keeps the photo's mouth.
    Frames ``start .. stop - 1`` only (default all). With recorded speech (``speech.text``
    empty) each recognized bilabial's dominance is weighted by its acoustic closure evidence
    (:meth:`twintake.motion.driver.VisemeDriver.closure_weights`; :mod:`twintake.motion.closure`),
    as in :func:`mouth_track`: a P/B/M heard on a loud vowel does not shut the mouth; with
    ``options.closure_evidence`` off the recognized bilabials close as they are. ``closures``:
    that evidence when already measured for a block around these frames (:func:`block_closures`,
    or the driver's for the same frames); None = measured here."""
    targets = {name: np.array([1.0 if v.closure else (0.5 if name == "FF" else 0.0)], np.float32)
               for name, v in VISEMES.items()}
    shapes = VisemeShapes(targets=targets, counts={k: 0 for k in targets})
    stop = n if stop is None else min(stop, n)
    if closures is None:
        closures = VisemeDriver(options or DriverOptions()).closure_weights(speech, fps, start, stop)
    c = phones_to_trajectory(speech.phones, shapes, np.zeros(1, np.float32), stop - start, fps, start=start,
                             closures=closures)[:, 0]
    # the bilabials' large dominance (alpha 10) spreads the blend far into the neighbours: keep
    # only the core (blend > 0.65) so the mouth opens again for the vowels around a closure
    return np.clip((c - 0.65) / 0.3, 0.0, 1.0).astype(np.float32)


#: Blink lengths at 25 fps, frames, as the measure of
#: :func:`twintake.motion.head.blink_events` reads them (aperture below half its median, with
#: hysteresis); real blinks last 100-400 ms.
BLINK_FRAMES_25 = (3, 8)
#: Intervals between blinks (or double blinks), seconds.
BLINK_INTERVAL_S = (2.0, 8.0)
#: Closure of the frame before a blink's shut frames and of the frames after them, at 25 fps:
#: the real talking videos' median blink time course (35 blinks, Face Mesh, aligned on the
#: first frame below half the median aperture: 0.68 before, 0.19 and 0.22 shut, then 0.54,
#: 0.72, 0.84, 0.89) as closure ``(1 - a) / (1 - 0.16)``, see :func:`blink_track`.
BLINK_PROFILE_25 = (0.38, (0.55, 0.33, 0.19, 0.13))
#: Chance that a blink is followed 0.25-0.5 s later by a second one (a double blink).
DOUBLE_BLINK_P = 0.15


def blink_track(n: int, fps: float, rng: np.random.Generator,
                lengths_25: np.ndarray | None = None) -> np.ndarray:
    """Eyelid closure per frame, (T,) float32 in [0, 1] (1 = shut).

    Intervals: gamma(shape 3, mean 3.5 s) clipped to :data:`BLINK_INTERVAL_S` (2-8 s; the
    first after 0.5-3 s), with a double blink (a second one 0.25-0.5 s later) at
    :data:`DOUBLE_BLINK_P`. Lengths ``L``: drawn from ``lengths_25`` (the real talking videos'
    blink lengths in frames at 25 fps, :attr:`HeadMotionModel.blink_frames`; uniform 3-5 when
    None), jittered by +-0.5 frame, rounded and clipped to :data:`BLINK_FRAMES_25`; the 25 fps
    closure profile is :data:`BLINK_PROFILE_25` with ``L - 1`` shut frames: closing in one
    frame (40-80 ms), shut, reopening slower over four (160 ms; Bentivoglio et
    al. 1997, Caffier et al. 2003: 100-400 ms). It is the real videos' median blink as Face
    Mesh reads it (aperture 0.68 on the frame before, 0.19-0.22 shut, then 0.54, 0.72, 0.84,
    0.89; ``benchmarks/bench_photo_life.py curve``), as closure
    ``(1 - a) / (1 - 0.16)`` (0.16: the median aperture a real shut eye reads): the blink
    measure of :func:`twintake.motion.head.blink_events` reads back ``L`` frames from
    ``1 - closure``. Resampled at other frame rates. Seed ``rng`` per avatar so that two photos
    never blink in unison.
    """
    out = np.zeros(n, np.float32)
    ts = (np.arange(n) + 0.5) / fps
    t = rng.uniform(0.5, 3.0)
    pool = None if lengths_25 is None or len(lengths_25) == 0 else np.asarray(lengths_25, np.float64)
    lo, hi = BLINK_FRAMES_25
    while t < n / fps:
        burst = 2 if rng.uniform() < DOUBLE_BLINK_P else 1
        for k in range(burst):
            frames = float(rng.choice(pool)) if pool is not None else float(rng.integers(3, 6))
            length = int(np.clip(round(frames + rng.uniform(-0.5, 0.5)), lo, hi))
            # a 25 fps profile: closing in one frame, shut, reopening over four (slower)
            c0, opening = BLINK_PROFILE_25
            prof = np.array([0.0, c0] + [1.0] * (length - 1) + list(opening) + [0.0])
            start = round(t * 25.0) / 25.0
            x = np.interp(ts, start + (np.arange(len(prof)) + 0.5) / 25.0, prof, left=0.0, right=0.0)
            if 0 < x.max() < 0.999:
                x[int(np.argmax(x))] = 1.0
            out = np.maximum(out, x.astype(np.float32))
            t = start + len(prof) / 25.0 + (rng.uniform(0.15, 0.4) if k + 1 < burst else 0.0)
        t += float(np.clip(rng.gamma(3.0, 3.5 / 3.0), *BLINK_INTERVAL_S))
    return out


def head_track(speech: Speech, fps: float, n: int, rng: np.random.Generator,
               model: HeadMotionModel | None = None) -> np.ndarray:
    """Speech-driven head motion per frame (:class:`twintake.motion.head.HeadMotionModel`):
    (T, 4) float64 pitch, yaw, roll (degrees), brow lift (inter-ocular distances).

    Nods and tilts follow loudness, onsets and F0 through the learned filter; idle motion with
    the real videos' spectrum is scaled down in quiet passages. ``rng`` seeds the idle part.

    Raises:
        BackendError: the packaged model is missing, or pyworld is not installed.
    """
    model = model or load_head_model()
    feat = speech_features(speech.samples, speech.sample_rate_hz, fps, n)
    return model.generate(feat, fps, rng)


def loudness01(speech: Speech, fps: float, n: int, active: np.ndarray) -> np.ndarray:
    """(T,) float64 loudness mapped to [0, 1] (30 dB below the 90th percentile of speech -> 0)."""
    db = loudness_envelope(speech.samples, speech.sample_rate_hz, fps).astype(np.float64)
    db = np.concatenate([db, np.full(max(0, n - len(db)), -100.0)])[:n]
    if not active.any():
        return np.zeros(n)
    top = float(np.percentile(db[active], 90))
    return np.clip((db - (top - 30.0)) / 30.0, 0.0, 1.0)
