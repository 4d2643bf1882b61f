"""The text-to-speech stage: :class:`TTSChunk`, the :class:`Synthesizer` protocol and the
:data:`SYNTHESIZERS` registry.

A synthesizer backend reads normalized sentences of one language and yields audio chunks with
their phone timings, so long texts stream. Backends register a factory under a name; a second
one plugs in with one call and no pipeline change::

    from twintake.speech.tts import SYNTHESIZERS, tts_chunks
    SYNTHESIZERS.register("mine", "my_package.tts:MySynthesizer")   # or the class itself
    for chunk in tts_chunks(["Hello there."], "en", backend="mine"): ...

Registered here, by path (nothing heavy is imported until a backend is built and used):
``"kokoro"`` (Kokoro-82M: English, and Arabic read from eSpeak NG IPA;
:class:`twintake.speech.tts.kokoro.KokoroSynthesizer`) and ``"espeak"`` (eSpeak NG's own
Arabic formant voice; :class:`twintake.speech.tts.espeak_voice.EspeakSynthesizer`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ...registry import Registry
from ...types import Phone

__all__ = ["TTSChunk", "Synthesizer", "SYNTHESIZERS", "DEFAULT_SYNTHESIZER"]


@dataclass
class TTSChunk:
    """One synthesized piece of speech.

    Attributes:
        samples: (S,) float32 in [-1, 1] at ``sample_rate_hz``.
        sample_rate_hz: sampling rate.
        phones: ARPAbet phones with times in seconds from the start of this chunk.
        text: the (normalized) text of the chunk.
        language: ``"en"`` or ``"ar"``.
    """

    samples: np.ndarray
    sample_rate_hz: int
    phones: list[Phone] = field(default_factory=list)
    text: str = ""
    language: str = "en"


@runtime_checkable
class Synthesizer(Protocol):
    """A text-to-speech backend, built by its registry factory (keyword options only).

    Attributes:
        languages: the language codes it speaks (``"en"``, ``"ar"``).
    """

    languages: tuple[str, ...]

    def chunks(self, sentences: list[str], lang: str, voice: str | None = None,
               speed: float = 1.0) -> Iterator[TTSChunk]:
        """Speak normalized sentences (see :mod:`twintake.speech.tts.text`), lazily.

        Args:
            sentences: normalized sentences of language ``lang``, in order.
            lang: ``"en"`` or ``"ar"``, one of :attr:`languages`.
            voice: backend voice name; None = the backend's default.
            speed: speaking rate, 0.5-2.0 (1 = natural).
        Yields:
            :class:`TTSChunk` per sentence (or per piece of a long sentence); sentences
            with nothing pronounceable yield nothing. Phone times are relative to each chunk
            and cover it.
        Raises:
            SpeechError: a language it does not speak, or an unknown voice.
            BackendError: its packages are missing.
        """
        ...


#: Text-to-speech backends by name; ``SYNTHESIZERS.create(name)`` builds a :class:`Synthesizer`.
SYNTHESIZERS: Registry[Synthesizer] = Registry("speech synthesizer")
SYNTHESIZERS.register("kokoro", "twintake.speech.tts.kokoro:KokoroSynthesizer")
SYNTHESIZERS.register("espeak", "twintake.speech.tts.espeak_voice:EspeakSynthesizer")
# XTTS-v2 from a local checkpoint folder (extra `neural`): SYNTHESIZERS.create("xtts", checkpoint=DIR, reference=CLIP)
SYNTHESIZERS.register("xtts", "twintake.speech.tts.xtts:XttsSynthesizer")
DEFAULT_SYNTHESIZER = "kokoro"
