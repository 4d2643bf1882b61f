"""Text-to-speech back ends: Kokoro-82M for English and (by default) Arabic, eSpeak NG for
Arabic on request; text2tashkeel diacritizes Arabic and eSpeak NG gives its phonemes.

All back ends yield :class:`TTSChunk` objects (24 kHz float32 + ARPAbet phone timings), one
per sentence, so long texts stream and memory stays small. They implement :class:`Synthesizer`
and are registered by name in :data:`SYNTHESIZERS` (``"kokoro"``, ``"espeak"``);
:func:`tts_chunks` speaks through any of them::

    from twintake.speech.tts import tts_chunks
    for chunk in tts_chunks(["Hello there."], "en"):   # backend="kokoro"
        chunk.samples, chunk.phones
"""

from __future__ import annotations

from collections.abc import Iterator

from .arabic import arabic_phonemes, diacritize
from .base import DEFAULT_SYNTHESIZER, SYNTHESIZERS, Synthesizer, TTSChunk
from .kokoro import DEFAULT_VOICE, SAMPLE_RATE, VOICES, available_voices, kokoro_arabic_chunks, kokoro_chunks
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
    "Synthesizer",
    "SYNTHESIZERS",
    "DEFAULT_SYNTHESIZER",
    "tts_chunks",
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

#: Arabic speech engines: ``"kokoro"`` (Kokoro-82M reading eSpeak's Arabic IPA mapped onto its
#: vocabulary) and ``"espeak"`` (eSpeak NG's own ``ar`` formant voice); the names of the
#: registered synthesizers that speak Arabic. Measured in docs/speech.md ("Arabic voice: Kokoro
#: vs eSpeak").
ARABIC_ENGINES = ("kokoro", "espeak")
DEFAULT_ARABIC_ENGINE = "kokoro"


def tts_chunks(sentences: list[str], lang: str, *, backend: str = DEFAULT_SYNTHESIZER,
               voice: str | None = None, speed: float = 1.0) -> Iterator[TTSChunk]:
    """Speak normalized ``sentences`` of language ``lang`` with the registered synthesizer
    ``backend`` (see :meth:`Synthesizer.chunks`).

    Args:
        sentences: normalized sentences (:func:`normalize_english` / :func:`normalize_arabic`).
        lang: ``"en"`` or ``"ar"``.
        backend: a name in :data:`SYNTHESIZERS`; default ``"kokoro"``.
        voice: the backend's voice name; None = its default.
        speed: speaking rate, 0.5-2.0.
    Returns:
        a lazy iterator of :class:`TTSChunk` (24 kHz float32 + phones relative to each chunk).
    Raises:
        BackendError: unknown backend (the message lists the known ones) or a missing package.
        SpeechError: a language the backend does not speak, or an unknown voice.
    """
    return SYNTHESIZERS.create(backend).chunks(sentences, lang, voice, speed)


def arabic_chunks(sentences: list[str], speed: float = 1.0, vocalize: bool = True, *,
                  engine: str = "espeak", voice: str | None = None) -> Iterator[TTSChunk]:
    """Synthesize normalized Arabic sentences, one chunk each (24 kHz float32 + ARPAbet phones).

    ``engine="kokoro"`` delegates to :func:`kokoro_arabic_chunks` (``voice`` = Kokoro voice
    pack); ``engine="espeak"`` (the default here) to
    :func:`~twintake.speech.tts.espeak_voice.espeak_arabic_chunks` (eSpeak NG's ``ar`` voice; phone
    timings from its phoneme events; ``voice`` ignored).

    Raises:
        BackendError: espeak-ng (or Kokoro) cannot be loaded.
        SpeechError: unknown engine (raised on the first ``next``).
    """
    if engine == "kokoro":
        yield from kokoro_arabic_chunks(sentences, voice, speed, vocalize)
        return
    if engine != "espeak":
        from ...errors import SpeechError

        raise SpeechError(f"unknown Arabic engine {engine!r}; use one of {', '.join(ARABIC_ENGINES)}")
    from .espeak_voice import espeak_arabic_chunks

    yield from espeak_arabic_chunks(sentences, speed, vocalize)
