"""Speech -> per-frame mouth shapes (the ``viseme`` motion driver).

1. Phones with times (from the TTS, or recognized from the audio with pocketsphinx) are mapped
   to visemes (:mod:`twintake.motion.visemes`).
2. Each viseme has a target mouth shape in the person's own shape space: learned from the
   person's video where it shows that viseme often enough, else derived from the viseme's
   generic opening/width targets (:meth:`MouthModel.from_features`).
3. Coarticulation: targets are blended by Cohen-Massaro dominance functions (Cohen & Massaro,
   "Modeling coarticulation in synthetic visual speech", 1993):
   ``D_i(t) = alpha_i * exp(-theta_i * |t - centre_i| ** c_i)``, ``shape(t) = sum D_i T_i / sum D_i``.
4. The deviation from the rest shape is scaled by the loudness envelope, and silence (energy VAD)
   gives the closed, relaxed rest shape.
5. Optional loudness-locked opening (off by default): the inner-lip opening of the blended
   shape is pulled a fraction ``loudness_opening`` (``loudness_closing`` where it would close)
   of the way towards an opening read from the loudness envelope (the
   person's closed opening 30 dB under the speech level, their widest at it), moving only along
   the person's own opening direction (:meth:`MouthModel.opening_direction`), so width,
   rounding and the rest of the phone-driven shape are kept. It raises the correlation of the
   opening with the loudness but lowers the correlation with real mouths; see
   ``docs/visemes.md`` for the measurements that keep it off.
6. Spectral opening (on by default for recorded speech): the same pull, with the opening predicted from the
   log-mel spectrogram and the phone-driven opening by :class:`twintake.motion.opening.OpeningModel`
   (a ridge regression trained on talking videos) instead of the loudness alone; weight
   ``opening_weight`` both ways. See ``docs/visemes.md``.
7. Spectral lip shape (with the spectral opening, when the model file has a
   :class:`~twintake.motion.opening.ShapeModel`): the rest of the shape -- width, rounding,
   corner height -- is pulled a fraction ``shape_weight`` of the way towards the shape the model
   predicts from the same audio and phones, in its shared person-normalised coordinates, with
   the opening of step 6 kept exactly.

With recorded speech, recognized bilabials (P B M) close the lips only as far as the audio shows
a closure interval or a nasal murmur (:mod:`twintake.motion.closure`,
``DriverOptions.closure_evidence``): their dominance in steps 2-3 is weighted by that evidence and
timed by it; the spectral model's inputs keep the recognized phones as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..speech.analysis import loudness_envelope, voice_activity
from ..types import MouthTrajectory, Phone, Speech
from .closure import closure_spans
from .opening import DEFAULT_MODEL, OpeningModel, phone_context, shape_features, spectral_features, viseme_features
from .shapes import MouthModel
from .visemes import VISEMES, viseme_of

#: Standard deviation of the Gaussian smoothing of the spectral opening, frames (a per-frame
#: regression flickers; one frame of smoothing removes one-frame pops without a visible lag).
_SMOOTH_FRAMES = 1.0
#: Pseudo-count for blending a learned viseme shape with the generic one.
_PRIOR_FRAMES = 8.0


@dataclass
class VisemeShapes:
    """Target coefficients per viseme for one person.

    Attributes:
        targets: viseme name -> (K,) float32 coefficients.
        counts: viseme name -> number of the person's frames the target was learned from.
    """

    targets: dict[str, np.ndarray]
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def generic(cls, model: MouthModel) -> "VisemeShapes":
        targets = {}
        for name, v in VISEMES.items():
            targets[name] = model.rest.copy() if v.closure else model.from_features(v.open, v.width)
        return cls(targets=targets, counts={name: 0 for name in VISEMES})

    @classmethod
    def learn(cls, model: MouthModel, coeffs: np.ndarray, valid: np.ndarray, fps: float,
              phones: list[Phone]) -> "VisemeShapes":
        """Learn the person's viseme shapes from their own video.

        Args:
            model: the person's mouth model.
            coeffs: (N, K) coefficients of the source frames.
            valid: (N,) bool, frames with a tracked face.
            fps: source frame rate.
            phones: phones recognized in the source's audio.
        Returns:
            Shapes where each viseme seen in >= 1 frame is a blend of the person's mean shape
            during that viseme (central half of each phone) and the generic target, weighted by
            frame count (n / (n + 8)).
        """
        shapes = cls.generic(model)
        sums: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for ph in phones:
            vis = viseme_of(ph.symbol)
            if ph.symbol == "SIL":
                continue
            q = 0.25 * (ph.end_s - ph.start_s)
            lo = int(np.ceil((ph.start_s + q) * fps))
            hi = int(np.floor((ph.end_s - q) * fps))
            idx = np.arange(max(lo, 0), min(hi + 1, len(valid)))
            idx = idx[valid[idx]] if len(idx) else idx
            if len(idx) == 0:
                continue
            sums[vis] = sums.get(vis, 0) + coeffs[idx].sum(0)
            counts[vis] = counts.get(vis, 0) + len(idx)
        for vis, n in counts.items():
            if VISEMES[vis].closure:
                continue  # lips must close on bilabials: keep the closed target
            w = n / (n + _PRIOR_FRAMES)
            shapes.targets[vis] = (w * sums[vis] / n + (1 - w) * shapes.targets[vis]).astype(np.float32)
            shapes.counts[vis] = n
        return shapes

    def to_dict(self) -> dict[str, np.ndarray]:
        names = sorted(self.targets)
        return {"viseme_names": np.array(names), "viseme_targets": np.stack([self.targets[n] for n in names]),
                "viseme_counts": np.array([self.counts.get(n, 0) for n in names])}

    @classmethod
    def from_dict(cls, d) -> "VisemeShapes":
        names = [str(n) for n in d["viseme_names"]]
        return cls(targets={n: np.asarray(t, np.float32) for n, t in zip(names, d["viseme_targets"])},
                   counts={n: int(c) for n, c in zip(names, d["viseme_counts"])})


@dataclass
class DriverOptions:
    """Options of the viseme motion driver.

    Attributes:
        articulation: scale of the blended shape's deviation from rest; > 1 undoes the
            averaging of neighbouring targets by the dominance blend, so vowels open as wide
            as the person's own.
        loudness_gain: how strongly loudness scales the mouth's deviation from rest (0 = not).
        min_gain, max_gain: bounds of that scale.
        silence_ramp_s: time over which the mouth relaxes into / out of silence.
        loudness_opening: weight (0..1) of the loudness-driven opening where it is *wider* than
            the phone-driven one (0 = phones only, 1 = the loudness alone; width and rounding
            always come from the phones).
        loudness_closing: the same weight where the loudness-driven opening is *narrower*.
        opening_range_db: loudness range mapped onto the person's closed .. widest opening, dB
            under the speech level (90th percentile of the active frames' loudness).
        opening_smooth_s: standard deviation of the Gaussian smoothing of the loudness envelope
            before it drives the opening, seconds (removes frame-to-frame flicker).
        opening_model: ``"default"`` (the shipped :class:`~twintake.motion.opening.OpeningModel`),
            a path to another one, or ``"none"``: the spectral opening model, which replaces the
            loudness-driven opening of *recorded* speech (synthesized speech, whose
            ``Speech.text`` is set, keeps its exact TTS phones) on a video's mouth model.
        opening_weight: weight (0..1) of the spectral opening against the phone-driven one,
            both where it opens and where it closes the mouth.
        opening_pause_s: pauses inside speech up to this long, seconds, are shaped by the
            spectral model too (it keeps a mouth a little open between words, as real speakers
            do); longer silences close to the rest shape.
        shape_weight: weight (0..1) of the spectral model's lip shape (width, rounding, …:
            :class:`~twintake.motion.opening.ShapeModel`) against the phone-driven one, where the
            spectral opening applies; 0 = phones only. The opening itself is not changed by it.
            0.4: held-out rendered LMD 4.93 -> 4.85 % IOD, p95 9.45 -> 9.38 (0.7: 4.85 / 9.56).
        closure_evidence: with *recorded* speech (``Speech.text`` empty), scale each recognized
            bilabial's dominance by its acoustic closure evidence
            (:func:`twintake.motion.closure.closure_spans`: a closure interval or a nasal
            murmur within the phone), so a P/B/M the recognizer hears on a loud vowel does not
            press the lips shut. Synthesized speech keeps its exact phones.
    """

    articulation: float = 1.1
    loudness_gain: float = 1.0
    min_gain: float = 0.35
    max_gain: float = 1.25
    silence_ramp_s: float = 0.06
    loudness_opening: float = 0.0
    loudness_closing: float = 0.0
    opening_range_db: float = 30.0
    opening_smooth_s: float = 0.04
    opening_model: str = "default"
    opening_weight: float = 0.7
    opening_pause_s: float = 1.0
    shape_weight: float = 0.4
    closure_evidence: bool = True


def phones_to_trajectory(phones: list[Phone], shapes: VisemeShapes, rest: np.ndarray,
                         n_frames: int, fps: float, start: int = 0,
                         closures: np.ndarray | None = None) -> np.ndarray:
    """Blend viseme targets with Cohen-Massaro dominance functions.

    Args:
        phones: sorted phones.
        shapes: per-viseme targets.
        rest: (K,) closed-mouth coefficients, the target of silence.
        n_frames: T, output frames.
        fps: output rate; frame i is sampled at its centre, (i + 0.5) / fps.
        start: index of the first frame (frames start .. start + T - 1 are computed).
        closures: (P, 3) float per phone, ``strength`` in [0, 1] multiplying its dominance (alpha;
            0 drops the phone), ``start_s``, ``end_s`` replacing its times; None = the phones as
            they are. The driver passes each recognized bilabial's acoustic closure evidence and
            closure interval (:func:`bilabial_strengths`).
    Returns:
        (T, K) float32 coefficients.
    """
    k = len(rest)
    t = (start + np.arange(n_frames) + 0.5) / fps
    num = np.zeros((n_frames, k), np.float64)
    den = np.full(n_frames, 1e-6, np.float64)
    num += den[:, None] * rest
    for i, ph in enumerate(phones):
        vis = viseme_of(ph.symbol)
        v = VISEMES[vis]
        strength, t0, t1 = (1.0, ph.start_s, ph.end_s) if closures is None else closures[i]
        if strength <= 0.0:
            continue
        target = rest if ph.symbol == "SIL" else shapes.targets.get(vis, rest)
        centre = 0.5 * (t0 + t1)
        half = 0.5 * (t1 - t0)
        lo = int(max(0, np.floor((t0 - 0.35) * fps) - start))
        hi = int(min(n_frames, np.ceil((t1 + 0.35) * fps) - start))
        if hi <= lo:
            continue
        tau = np.maximum(np.abs(t[lo:hi] - centre) - half, 0.0)
        alpha = v.alpha * (0.3 if ph.symbol == "SIL" else 1.0) * float(strength)
        d = alpha * np.exp(-v.theta * tau**v.c)
        num[lo:hi] += d[:, None] * target
        den[lo:hi] += d
    return (num / den[:, None]).astype(np.float32)


class VisemeDriver:
    """The ``viseme`` :class:`MotionDriver`: speech -> :class:`MouthTrajectory`."""

    name = "viseme"

    def __init__(self, options: DriverOptions | None = None) -> None:
        self.options = options or DriverOptions()

    def articulation_scale(self, speech: Speech, fps: float, n_frames: int
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """How far the mouth leaves its rest shape in each output frame, and how open the
        loudness says it is.

        Computed once for the whole speech (loudness percentiles need all of it); then
        :meth:`drive` runs block by block (where the spectral opening model, when on, is
        applied to each block's phones: phones may be recognized block by block).

        Returns:
            scale: (T,) float64, articulation x loudness gain x speech-activity ramp (0 in
                silence).
            active: (T,) bool speech activity (energy VAD).
            loud_open: (T, 3) float64: columns 0 and 1 the weights of the loudness-driven
                opening where it opens / closes the mouth (``loudness_opening`` and
                ``loudness_closing`` x the speech-activity ramp, 0 in silence; with the spectral
                model ``opening_weight`` x the ramp), column 2 that opening as a fraction of
                the person's range (0 closed .. 1 widest).
            spectral: (T, 175) float64 :func:`~twintake.motion.opening.spectral_features`, or
                None when the spectral opening model is off.
        """
        o = self.options
        n = n_frames
        loud = _fit(loudness_envelope(speech.samples, speech.sample_rate_hz, fps), n, -100.0)
        active = _fit(voice_activity(speech.samples, speech.sample_rate_hz, fps), n, False)
        level = float(np.percentile(loud[active], 90)) if active.any() else 0.0
        if active.any():
            g = np.clip((loud - (level - 30.0)) / 30.0, 0.0, None) ** 0.7
            g = g / max(float(g[active].mean()), 1e-6)  # typical speech keeps its full shape
            g = 1.0 + o.loudness_gain * (g - 1.0)
            g = np.clip(g, o.min_gain, o.max_gain)
        else:
            g = np.zeros(n)
        # Ease in/out of silence: a short ramp on the speech-activity weight.
        w = active.astype(np.float64)
        ramp = max(1, int(round(o.silence_ramp_s * fps)))
        if ramp > 1:
            kernel = np.ones(2 * ramp - 1) / (2 * ramp - 1)
            # zero-padded first, so a track shorter than the kernel (the last frame of a
            # streamed speech) keeps its length; longer tracks are unchanged
            p = 2 * ramp + 1
            wp = np.pad(w, p)
            w = (np.minimum(np.convolve(wp, kernel, mode="same") * 1.5, 1.0) * (
                np.convolve(wp, np.ones(2 * ramp + 1), mode="same") > 0))[p:p + n]
        smooth = _gaussian_smooth(loud, o.opening_smooth_s * fps)
        frac = np.clip((smooth - (level - o.opening_range_db)) / o.opening_range_db, 0.0, 1.0)
        amount = o.articulation * g * w
        loud_open = np.stack([o.loudness_opening * w, o.loudness_closing * w, frac], 1)
        spectral = None
        # recorded speech only: a synthesized one (``speech.text`` set) has exact phone timings
        # from the TTS, and its audio is unlike the talking videos the model learned from (on
        # Kokoro speech the model's opening anti-correlated with the loudness: docs/visemes.md)
        if o.opening_model != "none" and o.opening_weight > 0 and not speech.text:
            self.opening_model()  # a missing or stale model fails here, before any work
            spectral = spectral_features(speech.samples, speech.sample_rate_hz, fps, n)
            # short pauses inside speech: the model decides (real mouths rarely shut between
            # words); longer silences keep the closed rest shape
            k = int(round(o.opening_pause_s * fps))
            bridged = _close_gaps(active, k) if k > 0 else active
            loud_open[:, :2] = o.opening_weight * np.maximum(w, bridged)[:, None]
        return amount, active, loud_open, spectral

    def opening_model(self) -> OpeningModel:
        """The spectral opening model named by ``options.opening_model``."""
        name = self.options.opening_model
        return OpeningModel.load(DEFAULT_MODEL if name == "default" else name)

    def _spectral_opening(self, speech: Speech, model: MouthModel, shapes: VisemeShapes, fps: float,
                          amount: np.ndarray, spectral: np.ndarray, start: int, stop: int
                          ) -> tuple[np.ndarray, np.ndarray | None]:
        """The spectral model's opening and lip shape of frames ``start .. stop - 1``, Gaussian-
        smoothed over :data:`_SMOOTH_FRAMES` (computed on a margin around the block, so a block
        equals the same frames of the whole track).

        Returns:
            ((stop - start,) float64 opening fractions in [0, 1]; (stop - start, J) float64
            shape coordinates (:meth:`ShapeModel.coords`), or None when the model has no shape
            part or ``shape_weight`` is 0).
        """
        n = len(amount)
        r = int(np.ceil(3 * _SMOOTH_FRAMES))
        a, b = max(0, start - r), min(n, stop + r)
        c, d = max(0, a - 2), min(n, b + 2)
        om = self.opening_model()
        # the model's inputs keep the recognized closures at full strength, as it was trained
        # (scripts/train_opening.py); the acoustic closure check acts on the phone-driven shape
        # the prediction pulls (drive): held out, weighting the inputs too lost 0.016 of the
        # target's opening correlation on the English videos for no gain on Arabic speech
        coeffs = self.phone_shape(speech, model, shapes, fps, amount[c:d], start=c)
        ph = self._fraction(model, coeffs)
        pad = (2 - (a - c), 2 - (d - b))
        x = np.concatenate([spectral[a:b], phone_context(np.pad(ph, pad, mode="edge")),
                            viseme_features(speech.phones, fps, a, b - a)], 1)
        preds = [om.predict(x)[:, None]]
        sm = om.shape if self.options.shape_weight > 0 else None
        if sm is not None:
            pc = sm.coords(model.decode(coeffs), model.mean, model.open_range)
            preds.append(sm.predict(shape_features(x, np.pad(pc, (pad, (0, 0)), mode="edge"))))
        pred = np.concatenate(preds, 1)
        # edge padding where the block meets the track's ends, as the whole track would see it
        pred = np.pad(pred, ((r - (start - a), r - (b - stop)), (0, 0)), mode="edge")
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / _SMOOTH_FRAMES) ** 2)
        k /= k.sum()
        out = np.stack([np.convolve(pred[:, j], k, mode="valid") for j in range(pred.shape[1])], 1)
        return np.clip(out[:, 0], 0.0, 1.0), (out[:, 1:] if sm is not None else None)

    @staticmethod
    def phone_shape(speech: Speech, model: MouthModel, shapes: VisemeShapes, fps: float,
                    amount: np.ndarray, start: int = 0) -> np.ndarray:
        """(T, K) float64 coefficients of the phone-driven shapes of frames ``start .. start + T - 1``
        (the dominance blend scaled by the (T,) articulation ``amount``, before any loudness or
        spectral pull), from the recognized phones as they are (no closure evidence): the
        spectral opening model's input, as ``scripts/train_opening.py`` computes it."""
        coeffs = phones_to_trajectory(speech.phones, shapes, model.rest, len(amount), fps, start=start)
        return model.rest + amount[:, None] * (coeffs.astype(np.float64) - model.rest)

    @staticmethod
    def _fraction(model: MouthModel, coeffs: np.ndarray) -> np.ndarray:
        """(T, K) coefficients -> (T,) float64 inner-lip opening as a fraction of the person's range."""
        _, op_rest = model.opening_direction()
        op = op_rest + (coeffs - model.rest) @ model.opening_gradient()
        lo, hi = model.open_range
        return (op - lo) / max(hi - lo, 1e-6)

    @staticmethod
    def phone_opening(speech: Speech, model: MouthModel, shapes: VisemeShapes, fps: float,
                      amount: np.ndarray, start: int = 0) -> np.ndarray:
        """(T,) float64 opening of the phone-driven shapes of frames ``start .. start + T - 1``
        (before any loudness or spectral pull; ``amount`` is their (T,) articulation scale), as a
        fraction of the person's range (0 closed, 1 widest)."""
        return VisemeDriver._fraction(model, VisemeDriver.phone_shape(speech, model, shapes, fps, amount, start))

    def drive(self, speech: Speech, model: MouthModel, shapes: VisemeShapes, fps: float,
              n_frames: int | None = None, *, start: int = 0, stop: int | None = None,
              scale: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
              closures: np.ndarray | None = None) -> MouthTrajectory:
        """Mouth shapes for output frames ``start .. stop - 1``.

        Args:
            speech: audio with phones (if ``speech.phones`` is empty they must be recognized by
                the caller first; see :func:`twintake.speech.phones.recognize_phones`).
            model, shapes: the person's mouth model and viseme shapes.
            fps: output frame rate.
            n_frames: T, default ``round(duration_s * fps)``.
            start, stop: the block of frames to compute (default all), for streaming.
            scale: :meth:`articulation_scale` of the whole speech, computed once when driving
                block by block.
            closures: :meth:`closure_weights` of these frames (or of a block around them) when
                already measured, e.g. shared with :func:`twintake.motion.photo.closure_track`;
                None = measured here.
        Returns:
            :class:`MouthTrajectory` with (stop - start, K) coefficients and the silence mask.
        """
        n = n_frames if n_frames is not None else int(round(speech.duration_s * fps))
        stop = n if stop is None else min(stop, n)
        amount, active, loud_open, spectral = scale if scale is not None else self.articulation_scale(speech, fps, n)
        w = closures if closures is not None else self.closure_weights(speech, fps, start, stop)
        coeffs = phones_to_trajectory(speech.phones, shapes, model.rest, stop - start, fps, start=start, closures=w)
        out = model.rest + amount[start:stop, None] * (coeffs - model.rest)
        if isinstance(model, MouthModel):  # (the photo renderer drives a 2-D stand-in: phones only)
            up, down, frac = loud_open[start:stop].T
            coords = None
            if spectral is not None:
                frac, coords = self._spectral_opening(speech, model, shapes, fps, amount, spectral, start, stop)
            lo, hi = model.open_range
            direction, op_rest = model.opening_direction()
            grad = model.opening_gradient()
            op = op_rest + (out - model.rest) @ grad
            diff = lo + frac * (hi - lo) - op
            out = out + (np.where(diff > 0, up, down) * diff)[:, None] * direction
            if coords is not None and self.options.opening_weight > 0:
                out = self._shape_pull(out, model, coords, self.options.shape_weight * up / self.options.opening_weight)
        return MouthTrajectory(coeffs=out.astype(np.float32), fps=float(fps), silent=~active[start:stop])


    def closure_weights(self, speech: Speech, fps: float, start: int, stop: int) -> np.ndarray | None:
        """The recognized bilabials' acoustic closure evidence for frames ``start .. stop - 1``
        (:func:`bilabial_strengths`), or None when ``options.closure_evidence`` is off. Measured
        once per block: :meth:`drive` and :func:`twintake.motion.photo.closure_track` take it."""
        return bilabial_strengths(speech, fps, start, stop) if self.options.closure_evidence else None

    def _shape_pull(self, out: np.ndarray, model: MouthModel, coords: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """(B, K) coefficients pulled ``weight`` (B,) of the way towards the predicted (B, J) shape
        coordinates in the model's shared basis, then moved back along the person's opening
        direction so that the inner-lip opening is unchanged. Two small matrix products per block."""
        sm = self.opening_model().shape
        lo, hi = model.open_range
        comps = np.asarray(model.components, np.float64)
        cur = sm.coords(model.decode(out), model.mean, model.open_range)
        # coordinates -> coefficients: the basis in points, times the range, projected on the PCA
        delta = (weight[:, None] * (coords - cur)) @ (sm.basis @ comps.T) * max(hi - lo, 1e-6)
        direction, _ = model.opening_direction()
        delta -= (delta @ model.opening_gradient())[:, None] * direction
        return out + delta


def bilabial_strengths(speech: Speech, fps: float, start: int, stop: int) -> np.ndarray | None:
    """Per-phone dominance weights and times of ``speech.phones`` for frames ``start .. stop - 1``:
    each recognized bilabial's acoustic closure evidence and closure interval
    (:func:`twintake.motion.closure.closure_spans`, measured on the bilabials within 0.35 s of
    those frames, the reach of a phone's dominance in :func:`phones_to_trajectory`); every other
    phone keeps weight 1 and its times.

    Returns:
        (P, 3) float64 ``strength, start_s, end_s``, or None for synthesized speech
        (``speech.text`` set: its phones are exact) and for speech without phones.
    """
    if speech.text or not speech.phones:
        return None
    return closure_spans(speech.phones, speech.samples, speech.sample_rate_hz,
                             start / fps - 0.35, stop / fps + 0.35)


def _close_gaps(active: np.ndarray, max_gap: int) -> np.ndarray:
    """(T,) bool -> the same with every run of False of at most ``max_gap`` frames between two
    True runs set to True (the ends of the track are left alone)."""
    out = active.copy()
    on = np.flatnonzero(active)
    if len(on) < 2:
        return out
    gaps = np.flatnonzero(np.diff(on) > 1)
    for g in gaps:
        a, b = on[g] + 1, on[g + 1]
        if b - a <= max_gap:
            out[a:b] = True
    return out


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """(T,) -> (T,) float64 Gaussian-smoothed (``sigma`` in samples, edges padded by repetition)."""
    x = np.asarray(x, np.float64)
    if sigma < 0.3 or len(x) == 0:
        return x
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return np.convolve(np.pad(x, r, mode="edge"), k / k.sum(), mode="valid")


def _fit(x: np.ndarray, n: int, pad) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.full(n - len(x), pad, dtype=x.dtype)])
