"""Tests of the phoneme -> viseme table and the coarticulation reference."""

from __future__ import annotations

import numpy as np
import pytest

from twintake.motion.visemes import (
    NEUTRAL_VISEME,
    PHONE_TO_VISEME,
    VISEMES,
    VisemeTarget,
    coarticulate,
    dominance,
    viseme_of,
)
from twintake.speech.phones import ARPABET_PHONES
from twintake.types import Phone

VOWELS = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]


def target(phone: str) -> VisemeTarget:
    return VISEMES[viseme_of(phone)]


def test_table_covers_all_39_phones_and_sil() -> None:
    assert len(ARPABET_PHONES) == 39
    assert set(PHONE_TO_VISEME) == set(ARPABET_PHONES) | {"SIL"}
    assert set(PHONE_TO_VISEME.values()) == set(VISEMES)  # every viseme used
    assert len(VISEMES) == 15  # MPEG-4 set
    for name, v in VISEMES.items():
        assert v.name == name
        assert 0.0 <= v.open <= 1.0 and 0.0 <= v.width <= 1.0
        assert v.alpha > 0 and v.theta > 0 and v.c > 0


def test_bilabials_close_and_dominate() -> None:
    for p in "PBM":
        v = target(p)
        assert v.closure and v.open == 0.0
    assert [p for p in PHONE_TO_VISEME if target(p).closure] == ["P", "B", "M"]
    lips = min(target("P").alpha, target("F").alpha)
    assert lips >= 5 * max(target(v).alpha for v in VOWELS)
    assert target("F").open < 0.15


def test_vowel_targets_follow_the_vowel_chart() -> None:
    assert target("AA").open > target("IY").open
    assert target("AA").open > target("EH").open > target("IH").open
    assert target("UW").width < target("IY").width
    assert target("OW").width < target("EH").width
    assert target("SIL").open == 0.0 and not target("SIL").closure


@pytest.mark.parametrize("sym", ["", "+NSN+", "XX", "sil", "<s>", "Q"])
def test_unknown_symbols_are_neutral(sym: str) -> None:
    assert viseme_of(sym) == NEUTRAL_VISEME
    assert viseme_of(None) == NEUTRAL_VISEME  # type: ignore[arg-type]


def test_case_and_stress_ignored() -> None:
    assert viseme_of("ah0") == viseme_of("AH") == "aa"
    assert viseme_of("Iy1") == "I"


def test_dominance_peaks_at_alpha_and_decays() -> None:
    v = VISEMES["aa"]
    d = dominance(v, np.array([0.0, 0.05, 0.1, -0.1]))
    assert d[0] == pytest.approx(v.alpha)
    assert d[0] > d[1] > d[2] and d[2] == pytest.approx(d[3])


def test_coarticulation_closes_lips_on_a_short_p_between_vowels() -> None:
    # "ah-p-ah" with a 30 ms /p/ that covers no 25 fps frame centre.
    phones = [
        Phone("SIL", 0.0, 0.3), Phone("AA", 0.3, 0.61), Phone("P", 0.61, 0.64),
        Phone("AA", 0.64, 0.9), Phone("IY", 0.9, 1.1), Phone("UW", 1.1, 1.3),
        Phone("SIL", 1.3, 2.0),
    ]
    open_, width, closure = coarticulate(phones, 25.0)
    assert open_.shape == width.shape == closure.shape == (50,)
    k = int(0.625 * 25)
    assert open_[k] == 0.0 and closure[k] == 1.0
    assert open_[int(0.45 * 25)] > 0.6  # open vowel before
    assert width[int(1.0 * 25)] > width[int(1.22 * 25)] + 0.3  # IY spread, UW rounded
    assert open_[-1] < 0.05  # long trailing pause relaxes to closed
    assert closure[: int(0.4 * 25)].max() < 0.1


# --------------------------------------------------------------------------- loudness-locked opening
def _toy_model():
    """A tiny seeded mouth model: 200 synthetic mouths whose inner lips open and spread."""
    from twintake.motion.shapes import N_POINTS, MouthModel

    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 0.3, (N_POINTS, 2))
    op = rng.uniform(0.0, 0.3, 200)
    wd = rng.uniform(-0.05, 0.05, 200)
    pts = np.repeat(base[None], 200, 0)
    pts[:, N_POINTS // 2:, 1] += op[:, None] * np.linspace(0.0, 1.0, N_POINTS - N_POINTS // 2)  # lower part drops
    pts[:, :, 0] *= 1.0 + wd[:, None]
    pts += rng.normal(0.0, 0.002, pts.shape)
    return MouthModel.fit(pts.reshape(200, -1).astype(np.float32), n_coeffs=6)


def test_opening_direction_opens_by_exactly_d() -> None:
    from twintake.motion.shapes import opening

    m = _toy_model()
    direction, rest_open = m.opening_direction()
    assert rest_open == pytest.approx(float(opening(m.decode(m.rest)[None])[0]), abs=1e-5)
    for d in (0.02, 0.1):
        opened = opening(m.decode((m.rest + d * direction)[None]))[0]
        assert opened - rest_open == pytest.approx(d, abs=1e-4)


def _loud_speech(fps: float = 25.0):
    """2 s: 0.3 s silence, 1.4 s of speech whose loudness swells and fades twice, 0.3 s silence;
    the phones are a steady 'M AA M AA ...' so the phones alone close the mouth 7 times (a steady
    tone has no closure in it: the tests of the loudness pull turn the acoustic closure check off,
    ``closure_evidence=False``, which would otherwise drop those Ms)."""
    from twintake.types import Speech

    sr = 16000
    t = np.arange(2 * sr) / sr
    env = np.where((t > 0.3) & (t < 1.7), 0.05 + 0.95 * np.sin(np.pi * (t - 0.3) / 0.7) ** 2, 0.0)
    samples = (0.3 * env * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    phones = [Phone("SIL", 0.0, 0.3)]
    s = 0.3
    while s < 1.69:
        phones += [Phone("M", s, s + 0.06), Phone("AA", s + 0.06, s + 0.2)]
        s += 0.2
    phones.append(Phone("SIL", s, 2.0))
    return Speech(samples=samples, sample_rate_hz=sr, phones=phones), env[:: sr // int(fps)][:50]


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_loudness_locked_opening_follows_the_loudness(weight: float) -> None:
    from twintake.motion.driver import DriverOptions, VisemeDriver, VisemeShapes
    from twintake.motion.shapes import opening

    m = _toy_model()
    speech, env = _loud_speech()
    shapes = VisemeShapes.generic(m)
    drv = VisemeDriver(DriverOptions(loudness_opening=weight, loudness_closing=weight, opening_model="none",
                                     closure_evidence=False))
    traj = drv.drive(speech, m, shapes, 25.0, 50)
    op = opening(m.decode(traj.coeffs))
    # silence (away from the short ease in/out of speech) is the rest shape whatever the weight
    assert traj.silent[:4].all() and traj.silent[-4:].all()
    assert np.allclose(traj.coeffs[np.r_[0:4, 46:50]], m.rest, atol=1e-5)
    speaking = ~traj.silent
    corr = np.corrcoef(op[speaking], env[speaking])[0, 1]
    if weight == 0.0:
        assert corr < 0.6  # the bilabials pull the opening away from the loudness
    else:
        base = VisemeDriver(DriverOptions(loudness_opening=0.0, opening_model="none", closure_evidence=False)).drive(
            speech, m, shapes, 25.0, 50)
        corr0 = np.corrcoef(opening(m.decode(base.coeffs))[speaking], env[speaking])[0, 1]
        assert corr > corr0 + 0.1
        # streaming: block by block with the whole-speech scale gives the same frames
        scale = drv.articulation_scale(speech, 25.0, 50)
        parts = [drv.drive(speech, m, shapes, 25.0, 50, start=a, stop=a + 10, scale=scale).coeffs
                 for a in range(0, 50, 10)]
        assert np.allclose(np.concatenate(parts), traj.coeffs, atol=1e-5)


def test_loudness_opening_alone_only_opens() -> None:
    """With ``loudness_closing = 0`` the loudness can open a mouth the phones closed (the /m/s in
    loud speech) but never narrows the phone-driven opening."""
    from twintake.motion.driver import DriverOptions, VisemeDriver, VisemeShapes
    from twintake.motion.shapes import opening

    m = _toy_model()
    speech, env = _loud_speech()
    shapes = VisemeShapes.generic(m)
    off = {"opening_model": "none", "closure_evidence": False}
    phones_only = opening(m.decode(VisemeDriver(DriverOptions(**off)).drive(speech, m, shapes, 25.0, 50).coeffs))
    up = opening(m.decode(VisemeDriver(DriverOptions(loudness_opening=0.5, **off)).drive(speech, m, shapes, 25.0, 50).coeffs))
    assert np.all(up >= phones_only - 1e-5)
    assert (up - phones_only).max() > 0.2 * (m.open_range[1] - m.open_range[0])


# -- the spectral opening model ----------------------------------------------------------------


def test_opening_model_fit_recovers_a_linear_relation(tmp_path) -> None:
    from twintake.motion.opening import N_FEATURES, OpeningModel

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, N_FEATURES))
    w = rng.normal(size=N_FEATURES) * (rng.uniform(size=N_FEATURES) < 0.1)
    y = 0.4 + 0.02 * x @ w + rng.normal(0.0, 0.02, 2000)
    y[::50] = np.nan  # untracked frames are dropped, not fitted
    m = OpeningModel.fit(x, y, ridge=10.0)
    ok = np.isfinite(y)
    assert np.corrcoef(m.predict(x[ok], expand=False), y[ok])[0, 1] > 0.9
    assert m.spread >= 1.0 and abs(m.centre - np.nanmean(y)) < 1e-9
    m.save(tmp_path / "m.npz")
    back = OpeningModel.load(tmp_path / "m.npz")
    assert np.allclose(back.predict(x[:10]), m.predict(x[:10]))


def test_opening_model_errors_name_the_file(tmp_path) -> None:
    from twintake.errors import TwintakeError
    from twintake.motion.driver import DriverOptions, VisemeDriver
    from twintake.motion.opening import OpeningModel

    with pytest.raises(TwintakeError, match="missing.npz"):
        OpeningModel.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "old.npz", mean=np.zeros(3), std=np.ones(3), weights=np.zeros(4), centre=0.0,
             spread=1.0, info=np.array(""), n_features=3)
    with pytest.raises(TwintakeError, match="retrain"):
        VisemeDriver(DriverOptions(opening_model=str(tmp_path / "old.npz"))).articulation_scale(
            _loud_speech()[0], 25.0, 50)


def test_spectral_opening_follows_real_speech_and_streams_block_by_block(tiny_speech) -> None:
    """On real speech the shipped model opens the mouth more on the loud parts than the quiet
    ones, closes it in silence, and driving block by block gives the whole track's frames."""
    from twintake.motion.driver import DriverOptions, VisemeDriver, VisemeShapes
    from twintake.motion.shapes import opening
    from twintake.speech.analysis import loudness_envelope
    from twintake.speech.input import load_speech
    from twintake.speech.phones import recognize_phones

    speech = load_speech(tiny_speech)
    speech.phones = recognize_phones(speech.samples, speech.sample_rate_hz)
    n = int(round(speech.duration_s * 25))
    m = _toy_model()
    shapes = VisemeShapes.generic(m)
    drv = VisemeDriver(DriverOptions())
    scale = drv.articulation_scale(speech, 25.0, n)
    assert scale[3] is not None
    traj = drv.drive(speech, m, shapes, 25.0, n, scale=scale)
    op = opening(m.decode(traj.coeffs))
    loud = loudness_envelope(speech.samples, speech.sample_rate_hz, 25.0)[:n]
    speaking = ~traj.silent
    assert np.corrcoef(op[speaking], loud[speaking])[0, 1] > 0.3
    # silence away from the short ease in/out stays the rest shape (the model never opens it)
    synth, _ = _loud_speech()
    quiet = drv.drive(synth, m, shapes, 25.0, 50)
    assert np.allclose(quiet.coeffs[np.r_[0:4, 46:50]], m.rest, atol=1e-5)
    parts = [drv.drive(speech, m, shapes, 25.0, n, start=a, stop=min(n, a + 17), scale=scale).coeffs
             for a in range(0, n, 17)]
    assert np.allclose(np.concatenate(parts), traj.coeffs, atol=1e-5)
    # and it differs from the phones-only driver (the model is really applied)
    plain = VisemeDriver(DriverOptions(opening_model="none")).drive(speech, m, shapes, 25.0, n)
    assert np.abs(opening(m.decode(plain.coeffs)) - op)[speaking].max() > 0.01


def test_synthesized_speech_keeps_its_tts_phones(tiny_speech) -> None:
    """The spectral opening model is for recorded speech: speech with its text known (from the
    TTS, exact phone timings) is driven by the phones alone."""
    import dataclasses

    from twintake.motion.driver import DriverOptions, VisemeDriver
    from twintake.speech.input import load_speech

    speech = load_speech(tiny_speech)
    drv = VisemeDriver(DriverOptions())
    assert drv.articulation_scale(speech, 25.0, 75)[3] is not None
    said = dataclasses.replace(speech, text="the text the TTS spoke")
    assert drv.articulation_scale(said, 25.0, 75)[3] is None


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_speech_of_a_frame_or_two_is_driven(n: int) -> None:
    """The last piece of a streamed speech can cover a single frame: the driver keeps its length
    (the silence ramp's convolution used to return the kernel's length instead)."""
    from twintake.motion.driver import DriverOptions, VisemeDriver, VisemeShapes
    from twintake.types import Phone, Speech

    m = _toy_model()
    sr = 16000
    t = np.arange(int(n * sr / 25)) / sr
    speech = Speech(samples=(0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), sample_rate_hz=sr,
                    phones=[Phone("AA", 0.0, n / 25)], text="a")
    drv = VisemeDriver(DriverOptions())
    amount, active, loud_open, spectral = drv.articulation_scale(speech, 25.0, n)
    assert amount.shape == active.shape == (n,) and loud_open.shape == (n, 3)
    traj = drv.drive(speech, m, VisemeShapes.generic(m), 25.0, n)
    assert traj.coeffs.shape == (n, len(m.rest)) and np.isfinite(traj.coeffs).all()


# -- acoustic evidence of recognized bilabial closures --------------------------------------------
def _harmonics(t: np.ndarray, f0: float, peaks: list[tuple[float, float, float]], floor: float) -> np.ndarray:
    """A harmonic tone whose spectral envelope is a sum of resonances (centre Hz, width Hz, gain)
    over a flat ``floor``."""
    out = np.zeros_like(t)
    for k in range(1, int(4000 / f0)):
        f = k * f0
        a = sum(g / (1.0 + ((f - c) / w) ** 2) for c, w, g in peaks) + floor
        out += a * np.sin(2 * np.pi * f * t)
    return out


def _vowel_with(gap: str):
    """1.48 s: silence, 0.4 s of a loud /a/-like vowel (F0 120 Hz, resonances at 700 and 1200 Hz),
    80 ms of ``gap``, 0.4 s of the vowel again, silence; the phones say 'AA M AA' with the M on
    the 80 ms. ``gap``: "vowel" (the vowel goes on: a misrecognized M), "silence" (a stop closure)
    or "murmur" (a nasal murmur: one resonance at 250 Hz, nothing formant-like above 1 kHz,
    8 dB under the vowel)."""
    from twintake.types import Speech

    sr = 16000
    t = np.arange(int(1.48 * sr)) / sr
    vowel = _harmonics(t, 120.0, [(700.0, 150.0, 1.0), (1200.0, 200.0, 0.7), (2600.0, 300.0, 0.2)], 0.02)
    vowel *= 0.2 / np.sqrt(np.mean(vowel ** 2))
    x = np.where((t >= 0.3) & (t < 1.18), vowel, 0.0)
    m = (t >= 0.7) & (t < 0.78)
    if gap == "silence":
        x[m] = 0.0
    elif gap == "murmur":
        murmur = _harmonics(t, 120.0, [(250.0, 60.0, 1.0)], 0.003)
        x[m] = (murmur * 0.2 * 10 ** (-8 / 20) / np.sqrt(np.mean(murmur ** 2)))[m]
    x = x + np.random.default_rng(0).normal(0.0, 1e-4, len(x))  # a faint noise floor
    phones = [Phone("SIL", 0.0, 0.3), Phone("AA", 0.3, 0.7), Phone("M", 0.7, 0.78), Phone("AA", 0.78, 1.18),
              Phone("SIL", 1.18, 1.48)]
    return Speech(samples=x.astype(np.float32), sample_rate_hz=sr, phones=phones)


@pytest.mark.parametrize("gap", ["vowel", "silence", "murmur"])
def test_a_recognized_closure_needs_a_closure_or_a_murmur_in_the_audio(gap: str) -> None:
    """A recognized M over a loud harmonic vowel is not pressed shut (video driver, photo closure,
    reference coarticulation); over a closure silence or a nasal murmur it is, and a synthesized
    speech (exact phones) always is."""
    import dataclasses

    from twintake.motion.closure import closure_spans
    from twintake.motion.driver import DriverOptions, VisemeDriver, VisemeShapes
    from twintake.motion.photo import closure_track
    from twintake.motion.shapes import opening

    speech = _vowel_with(gap)
    real = gap != "vowel"
    spans = closure_spans(speech.phones, speech.samples, speech.sample_rate_hz)
    strength = spans[2, 0]
    assert (strength >= 0.9) if real else (strength < 0.2)
    assert np.all(spans[[0, 1, 3, 4], 0] == 1.0)  # only bilabials are weighed
    if real:  # re-timed inside the recognized span +-30 ms
        assert 0.67 <= spans[2, 1] < spans[2, 2] <= 0.81
    # streaming: measuring only the span around the M gives the same
    assert np.allclose(closure_spans(speech.phones, speech.samples, 16000, 0.6, 0.9), spans)

    k = int(0.74 * 25)  # the frame in the middle of the M
    open_, _, closure = coarticulate(speech.phones, 25.0, 37, closures=spans)
    assert (open_[k] == 0.0 and closure[k] == 1.0) if real else (open_[k] > 0.8 and closure[k] < 0.2)

    shut = closure_track(speech, 25.0, 37)
    assert (shut[k] > 0.5) if real else (shut.max() < 0.05)

    m = _toy_model()
    lo, hi = m.open_range
    drv = VisemeDriver(DriverOptions(opening_model="none"))
    frac = (opening(m.decode(drv.drive(speech, m, VisemeShapes.generic(m), 25.0, 37).coeffs)) - lo) / (hi - lo)
    assert (frac[k] < 0.2) if real else (frac[k] > 0.8)  # (0.07-0.16 as with exact phones, below)
    # synthesized speech: the TTS's phones are exact, the M closes whatever the audio
    said = dataclasses.replace(speech, text="ama")
    frac_said = (opening(m.decode(drv.drive(said, m, VisemeShapes.generic(m), 25.0, 37).coeffs)) - lo) / (hi - lo)
    assert frac_said[k] < 0.2 and closure_track(said, 25.0, 37)[k] > 0.5
