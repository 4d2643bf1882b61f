"""The ``espeak`` TTS backend: eSpeak NG's own Arabic formant voice (``ar_engine="espeak"``),
with phone timings from its phoneme events."""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import SpeechError
from ...types import Phone
from .base import TTSChunk
from .espeak import CHUNK_RATE_HZ, synthesize_espeak

__all__ = ["espeak_arabic_chunks", "EspeakSynthesizer"]


def espeak_arabic_chunks(sentences: list[str], speed: float = 1.0,
                         vocalize: bool = True) -> Iterator[TTSChunk]:
    """Synthesize normalized Arabic sentences with eSpeak NG's ``ar`` voice, one chunk each
    (24 kHz float32 + ARPAbet phones).

    Each sentence is diacritized first (text2tashkeel, when ``vocalize``). Phone timings come
    from eSpeak's phoneme events (IPA mapped by :func:`.g2p.arabic_ipa_to_arpabet`); each phone
    lasts until the next event, audio before the first event is ``"SIL"``. Audio is resampled
    from eSpeak's 22.05 kHz to 24 kHz (``scipy.signal.resample_poly``). Sentences that give no
    audio are skipped.

    Raises:
        BackendError: espeak-ng cannot be loaded.
    """
    from ..analysis import resample
    from .arabic import diacritize
    from .g2p import arabic_ipa_to_arpabet

    for sentence in sentences:
        spoken = diacritize(sentence) if vocalize else sentence
        out = synthesize_espeak(spoken, "ar", speed)
        if out.samples.size == 0:
            continue
        audio = resample(out.samples, out.sample_rate_hz, CHUNK_RATE_HZ)
        total = len(audio) / CHUNK_RATE_HZ
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
        yield TTSChunk(audio, CHUNK_RATE_HZ, phones, sentence, "ar")


class EspeakSynthesizer:
    """The ``espeak`` backend (a :class:`~twintake.speech.tts.base.Synthesizer`): Arabic through
    :func:`espeak_arabic_chunks`.

    Args:
        vocalize: diacritize with text2tashkeel before synthesis.
    """

    name = "espeak"
    languages = ("ar",)

    def __init__(self, *, vocalize: bool = True) -> None:
        self.vocalize = vocalize

    def chunks(self, sentences: list[str], lang: str, voice: str | None = None,
               speed: float = 1.0) -> Iterator[TTSChunk]:
        """24 kHz chunks of Arabic ``sentences``; ``voice`` is ignored (eSpeak NG's single
        ``ar`` voice is used, whatever Kokoro voice the caller names).

        Raises:
            SpeechError: ``lang`` is not ``"ar"``.
            BackendError: espeak-ng cannot be loaded.
        """
        if lang != "ar":
            raise SpeechError(f"the eSpeak synthesizer speaks Arabic ('ar') only, not {lang!r}")
        return espeak_arabic_chunks(sentences, speed, self.vocalize)
