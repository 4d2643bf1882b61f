"""Tests of twintake.speech.phones and twintake.speech.analysis on real speech."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from twintake.errors import SpeechError
from twintake.speech.analysis import (
    is_silent,
    loudness_envelope,
    speech_activity_ratio,
    voice_activity,
)
from twintake.speech.phones import ARPABET_PHONES, align_phones, recognize_phones
from twintake.types import Phone

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
# "the uncle claimed her. the husband resisted."
LJ_SHORT = MEDIA / "speech_en/ljspeech_lj011_0202.wav"
LJ_LONG = MEDIA / "speech_en/ljspeech_lj030_0031.wav"  # "... formed a cordon to keep the press ..."
MUSETALK = MEDIA / "speech_en/musetalk_eng.wav"  # 60 s, 3 s of silence at the start
SR = 16000
BILABIALS = {"P", "B", "M"}
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
# CMUdict pronunciation of "the uncle claimed her the husband resisted".
LJ_SHORT_PHONES = (
    "DH AH AH NG K AH L K L EY M D HH ER DH AH HH AH Z B AH N D R IH Z IH S T IH D".split()
)


def read_audio(path: Path, max_s: float | None = None) -> np.ndarray:
    """Decode a media file to mono float32 at 16 kHz with PyAV (test helper)."""
    av = pytest.importorskip("av")
    if not path.exists():
        pytest.skip(f"test media missing: {path}")
    chunks = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    x = np.concatenate(chunks).astype(np.float32)
    return x[: int(max_s * SR)] if max_s else x


def assert_well_formed(phones: list[Phone], duration_s: float) -> None:
    assert phones, "no phones"
    assert phones[0].start_s == 0.0
    assert phones[-1].end_s == pytest.approx(duration_s, abs=1e-6)
    for a, b in zip(phones, phones[1:]):
        assert a.end_s == pytest.approx(b.start_s, abs=1e-9), (a, b)  # sorted, no gap/overlap
    for p in phones:
        assert p.end_s > p.start_s, p
        assert p.symbol == "SIL" or p.symbol in ARPABET_PHONES, p
    for a, b in zip(phones, phones[1:]):
        assert not (a.symbol == "SIL" and b.symbol == "SIL"), "adjacent SIL not merged"


def symbols_in(phones: list[Phone], t0: float, t1: float) -> set[str]:
    return {p.symbol for p in phones if p.end_s > t0 and p.start_s < t1}


@pytest.fixture(scope="module")
def lj_short() -> np.ndarray:
    return read_audio(LJ_SHORT)


# ---------------------------------------------------------------------------- recognize_phones


def test_recognize_short_clip_is_well_formed(lj_short: np.ndarray) -> None:
    phones = recognize_phones(lj_short, SR)
    duration = len(lj_short) / SR
    assert_well_formed(phones, duration)
    speech = [p.symbol for p in phones if p.symbol != "SIL"]
    assert len(speech) >= 20  # 31 phones spoken in 3.1 s
    assert VOWELS & set(speech)
    # The pause between the two sentences (about 1.27-1.74 s) is found.
    assert "SIL" in symbols_in(phones, 1.35, 1.65)
    assert symbols_in(phones, 1.45, 1.55) == {"SIL"}
    # Ends in silence (trailing ~80 ms); the clip starts with speech after only ~10 ms, so the
    # first phone is SIL or a phone that starts right at 0.
    assert phones[-1].symbol == "SIL"


def test_recognize_finds_bilabials_and_resamples() -> None:
    x = read_audio(LJ_LONG)  # "formed", "keep", "press", "photographers", "impeding", "movements"
    from scipy.signal import resample_poly

    x22 = resample_poly(x, 22050, 16000).astype(np.float32)  # LJSpeech's native rate
    phones = recognize_phones(x22, 22050)
    assert_well_formed(phones, len(x22) / 22050)
    speech = [p.symbol for p in phones if p.symbol != "SIL"]
    assert sum(s in BILABIALS for s in speech) >= 4  # 9 in the reference transcription
    assert len(speech) >= 60


def test_digital_silence_in_the_middle_is_sil(lj_short: np.ndarray) -> None:
    cut = int(1.0 * SR)  # inside "claimed her"
    x = np.concatenate([lj_short[:cut], np.zeros(SR, np.float32), lj_short[cut:]])
    phones = recognize_phones(x, SR)
    assert_well_formed(phones, len(x) / SR)
    assert symbols_in(phones, 1.0 + 0.01, 2.0 - 0.01) == {"SIL"}
    assert VOWELS & symbols_in(phones, 0.0, 1.0)
    assert VOWELS & symbols_in(phones, 2.0, len(x) / SR)


def test_long_audio_times_are_offset() -> None:
    # 40 s of a 60 s file: longer than one 25 s utterance, so it is cut and re-offset.
    x = read_audio(MUSETALK, max_s=40.0)
    t0 = time.perf_counter()
    phones = recognize_phones(x, SR, mode="fast")
    rtf = (time.perf_counter() - t0) / 40.0
    assert_well_formed(phones, 40.0)
    first = next(p for p in phones if p.symbol != "SIL")
    assert 2.5 <= first.start_s <= 3.3, first
    # Speech continues through both utterances (no dropped chunk): phones in every 5 s window.
    for w in range(5, 40, 5):
        assert symbols_in(phones, w - 5, w) - {"SIL"}, f"no phones in [{w - 5}, {w}) s"
    assert rtf < 0.5


def test_all_zero_audio_gives_one_sil() -> None:
    phones = recognize_phones(np.zeros(SR * 2, np.float32), SR)
    assert phones == [Phone("SIL", 0.0, 2.0)]


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 100), np.float32), np.array([0.0, np.nan], np.float32), np.zeros(10, np.int16)],
)
def test_bad_input_raises_speech_error(bad: np.ndarray) -> None:
    with pytest.raises(SpeechError):
        recognize_phones(bad, SR)


def test_unknown_mode_raises(lj_short: np.ndarray) -> None:
    with pytest.raises(SpeechError):
        recognize_phones(lj_short, SR, mode="slow")


# ---------------------------------------------------------------------------------- align_phones


def test_align_known_phones(lj_short: np.ndarray) -> None:
    phones = align_phones(lj_short, SR, [p + "1" if p in VOWELS else p for p in LJ_SHORT_PHONES])
    assert_well_formed(phones, len(lj_short) / SR)
    assert [p.symbol for p in phones if p.symbol != "SIL"] == LJ_SHORT_PHONES
    # The sentence pause is a SIL of at least 0.3 s between "her" (ER) and "the" (DH).
    i = next(k for k, p in enumerate(phones) if p.symbol == "ER")
    assert phones[i + 1].symbol == "SIL" and phones[i + 1].duration_s >= 0.3
    m = next(p for p in phones if p.symbol == "M")  # "claimed" is at about 0.5-1.0 s
    assert 0.6 < m.start_s < 1.0


def test_align_rejects_unknown_phone_and_silence(lj_short: np.ndarray) -> None:
    with pytest.raises(SpeechError):
        align_phones(lj_short, SR, ["DH", "XX"])
    with pytest.raises(SpeechError):
        align_phones(np.zeros(SR, np.float32), SR, ["AA"])
    with pytest.raises(SpeechError):
        align_phones(lj_short[: SR // 10], SR, LJ_SHORT_PHONES)  # 31 phones in 0.1 s


# -------------------------------------------------------------------------------------- analysis


def test_loudness_envelope_length_and_levels() -> None:
    fps = 25.0
    t = np.arange(int(2.5 * SR)) / SR
    sine = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    x = np.concatenate([np.zeros(SR), sine]).astype(np.float32)  # 1 s silence + 2.5 s sine
    env = loudness_envelope(x, SR, fps)
    assert env.shape == (round(3.5 * fps),) and env.dtype == np.float32
    assert np.all(env[:24] <= -90.0)  # silence (frame 24 straddles the onset window)
    assert np.allclose(env[27:], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.2)  # -9.03 dBFS
    assert loudness_envelope(x, SR, 30.0).shape == (105,)
    assert loudness_envelope(x[:0], SR, 25.0).shape == (0,)


def test_voice_activity_finds_the_pause_and_is_level_invariant(lj_short: np.ndarray) -> None:
    fps = 25.0
    cut = int(1.0 * SR)
    x = np.concatenate([lj_short[:cut], np.zeros(SR // 2, np.float32), lj_short[cut:]])
    vad = voice_activity(x, SR, fps)
    assert vad.shape == (round(len(x) / SR * fps),) and vad.dtype == bool
    assert not vad[int(1.05 * fps) : int(1.45 * fps)].any()  # inserted 0.5 s of silence
    assert vad[: int(0.9 * fps)].mean() > 0.8  # speech before it (gaps inside words filled)
    # The natural 0.47 s sentence pause (1.27-1.74 s in the original, +0.5 s here).
    assert not vad[int(1.85 * fps) : int(2.15 * fps)].any()
    quiet = voice_activity(x * 0.05, SR, fps)
    assert np.mean(quiet == vad) >= 0.97


def test_voice_activity_on_silence_and_noise() -> None:
    assert not voice_activity(np.zeros(SR * 2, np.float32), SR, 25.0).any()
    noise = (np.random.default_rng(0).standard_normal(SR) * 1e-5).astype(np.float32)
    assert not voice_activity(noise, SR, 25.0).any()  # -100 dBFS hiss


def test_is_silent(lj_short: np.ndarray) -> None:
    assert is_silent(np.zeros(SR, np.float32), SR)
    assert is_silent(lj_short * 1e-4, SR)  # peak below -60 dBFS
    assert is_silent(lj_short[:0], SR)
    assert not is_silent(lj_short, SR)
    assert not is_silent(lj_short * 0.05, SR)
    ratio = speech_activity_ratio(lj_short, SR)
    assert 0.6 < ratio < 0.97  # speech with one sentence pause
