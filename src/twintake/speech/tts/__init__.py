"""Text-to-speech back ends: Kokoro-82M for English and (by default) Arabic, eSpeak NG for
Arabic on request; text2tashkeel diacritizes Arabic and eSpeak NG gives its phonemes.

All back ends yield :class:`TTSChunk` objects (24 kHz float32 + ARPAbet phone timings), one
per sentence, so long texts stream and memory stays small.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator


from ...errors import BackendError
from ...types import Phone
from ..analysis import resample
from .kokoro import DEFAULT_VOICE, SAMPLE_RATE, VOICES, TTSChunk, available_voices, kokoro_chunks
from .text import (
    ScriptRun,
    chunk_text,
    detect_language,
    has_arabic,
    normalize_arabic,
    normalize_english,
    number_to_words,
    split_scripts,
    split_sentences,
)

__all__ = [
    "TTSChunk",
    "SAMPLE_RATE",
    "VOICES",
    "DEFAULT_VOICE",
    "available_voices",
    "kokoro_chunks",
    "arabic_chunks",
    "kokoro_arabic_chunks",
    "ARABIC_ENGINES",
    "DEFAULT_ARABIC_ENGINE",
    "diacritize",
    "arabic_phonemes",
    "ScriptRun",
    "chunk_text",
    "detect_language",
    "has_arabic",
    "normalize_arabic",
    "normalize_english",
    "number_to_words",
    "split_scripts",
    "split_sentences",
]

log = logging.getLogger(__name__)

#: Arabic speech engines: ``"kokoro"`` (Kokoro-82M reading eSpeak's Arabic IPA mapped onto its
#: vocabulary) and ``"espeak"`` (eSpeak NG's own ``ar`` formant voice). Measured in
#: docs/speech.md ("Arabic voice: Kokoro vs eSpeak").
ARABIC_ENGINES = ("kokoro", "espeak")
DEFAULT_ARABIC_ENGINE = "kokoro"


@functools.lru_cache(maxsize=1)
def _diacritizer():
    """text2tashkeel's default model (rawi-ensemble, Apache-2.0, ONNX inside the wheel)."""
    try:
        from text2tashkeel import Diacritizer
    except ImportError:
        return None
    return Diacritizer()


def diacritize(text: str) -> str:
    """Add Arabic vowel marks (tashkeel) with text2tashkeel; returns ``text`` unchanged (and
    logs a warning once) when the package is not installed."""
    d = _diacritizer()
    if d is None:
        log.warning("text2tashkeel is not installed (`pip install text2tashkeel==0.1.0`); "
                    "Arabic is spoken without vowel marks and sounds worse")
        return text
    try:
        return d(text)
    except Exception as exc:  # a model failure should not stop speech
        log.warning("diacritization failed (%s); speaking undiacritized text", exc)
        return text


def arabic_phonemes(text: str, vocalize: bool = True) -> str:
    """eSpeak NG IPA phonemes of Arabic ``text`` (diacritized first when ``vocalize``)."""
    from .espeak import text_to_ipa

    t = normalize_arabic(text)
    return text_to_ipa(diacritize(t) if vocalize else t, "ar")


def kokoro_arabic_chunks(sentences: list[str], voice: str | None = None, speed: float = 1.0,
                         vocalize: bool = True) -> Iterator[TTSChunk]:
    """Synthesize normalized Arabic sentences with Kokoro-82M, one 24 kHz chunk per <= 500 tokens.

    Each sentence is diacritized (text2tashkeel, when ``vocalize``), turned into eSpeak NG ``ar``
    IPA and mapped onto Kokoro's vocabulary (:func:`.g2p.arabic_to_kokoro`: pharyngeals and
    emphatics to the nearest trained symbols), then read by the Kokoro voice pack ``voice``
    (default ``jf_gongitsune``) with word spaces removed (punctuation kept). Phone timings come from Kokoro's predicted token durations like
    English (:func:`.kokoro.synthesize_phonemes`), tokens mapped to ARPAbet by
    :func:`.g2p.arabic_kokoro_symbol_to_arpabet`. Sentences with nothing pronounceable are skipped.

    Raises:
        SpeechError: unknown ``voice``.
        BackendError: Kokoro or eSpeak NG packages missing.
    """
    from .g2p import arabic_kokoro_symbol_to_arpabet, arabic_to_kokoro
    from .kokoro import _assets, _split_phonemes, _voice_pack, synthesize_phonemes

    _, vocab, _, _ = _assets()
    _voice_pack(voice)
    for sentence in sentences:
        spoken = diacritize(sentence) if vocalize else sentence
        ps = arabic_to_kokoro(spoken, vocab)
        for piece in _split_phonemes(ps):
            # No word spaces: with the Japanese voice packs Kokoro treats a space as a phrase
            # break (final lengthening, pauses): 0.164 -> 0.130 s/char and proxy PER 0.76 ->
            # 0.71 on 12 MSA sentences (docs/speech.md). Punctuation still phrases.
            piece = piece.replace(" ", "")
            if not any(arabic_kokoro_symbol_to_arpabet(c) not in (None, "SIL") for c in piece):
                continue
            audio, phones = synthesize_phonemes(piece, voice, speed, arabic_kokoro_symbol_to_arpabet)
            yield TTSChunk(audio, SAMPLE_RATE, phones, sentence, "ar")


def arabic_chunks(sentences: list[str], speed: float = 1.0, vocalize: bool = True, *,
                  engine: str = "espeak", voice: str | None = None) -> Iterator[TTSChunk]:
    """Synthesize normalized Arabic sentences, one chunk each (24 kHz float32 + ARPAbet phones).

    ``engine="kokoro"`` delegates to :func:`kokoro_arabic_chunks` (``voice`` = Kokoro voice
    pack); ``engine="espeak"`` (the default here) uses eSpeak NG's ``ar`` voice:

    Phone timings come from eSpeak's phoneme events; each phone lasts until the next event,
    audio before the first event is ``"SIL"``. Audio is resampled to 24 kHz.
    Raises BackendError when espeak-ng cannot be loaded, SpeechError for an unknown engine.
    """
    if engine == "kokoro":
        yield from kokoro_arabic_chunks(sentences, voice, speed, vocalize)
        return
    if engine != "espeak":
        from ...errors import SpeechError

        raise SpeechError(f"unknown Arabic engine {engine!r}; use one of {', '.join(ARABIC_ENGINES)}")
    from .espeak import synthesize_espeak
    from .g2p import arabic_ipa_to_arpabet

    for sentence in sentences:
        spoken = diacritize(sentence) if vocalize else sentence
        out = synthesize_espeak(spoken, "ar", speed)
        if out.samples.size == 0:
            continue
        audio = resample(out.samples, out.sample_rate_hz, SAMPLE_RATE)
        total = len(audio) / SAMPLE_RATE
        spans: list[list] = []
        first = out.phones[0].start_s if out.phones else total
        if first > 0:
            spans.append(["SIL", 0.0])
        for ev in out.phones:
            sym = arabic_ipa_to_arpabet(ev.symbol)
            start = min(ev.start_s, total)
            if sym is None or (spans and spans[-1][0] == sym == "SIL"):
                continue
            if spans and start <= spans[-1][1]:
                if sym != "SIL":
                    spans[-1][0] = sym  # same instant: the later event wins
                continue
            spans.append([sym, start])
        phones: list[Phone] = []
        for i, (sym, start) in enumerate(spans):
            end = spans[i + 1][1] if i + 1 < len(spans) else total
            if end > start:
                phones.append(Phone(sym, round(start, 6), round(end, 6)))
        if phones:
            phones[-1] = Phone(phones[-1].symbol, phones[-1].start_s, total)
        yield TTSChunk(audio, SAMPLE_RATE, phones, sentence, "ar")
