"""``synthesize``: speak any English or Arabic text, optionally in a reference speaker's voice.

Pipeline: validate -> split by script (Arabic / Latin runs) -> normalize -> split into sentences
-> TTS sentence by sentence (Kokoro-82M for English; Arabic: text2tashkeel + eSpeak NG IPA read
by Kokoro-82M, or eSpeak NG's own voice with ``ar_engine="espeak"``) ->
join with short pauses -> optional voice conversion (WORLD + cepstral statistics transfer, timing preserved) ->
-16 LUFS. Phone timings (ARPAbet + ``"SIL"``) come from the TTS itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import SpeechError
from ..hooks import Progress, ProgressHook
from ..types import Phone, Speech
from .tts import TTSChunk
from .tts.text import (
    chunk_text,
    detect_language,
    has_arabic,
    normalize_arabic,
    normalize_english,
    split_scripts,
)

__all__ = ["synthesize", "synthesize_chunks", "plan_text", "base_voice_for", "SAMPLE_RATE", "LANGUAGES",
           "MALE_BASE_F0_HZ"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
LANGUAGES = ("en", "ar", "auto")
SENTENCE_PAUSE_S = 0.2
EDGE_PAD_S = 0.05
_CHUNK_CHARS = 300
# Base voice fed to voice conversion when the caller names none: references whose median F0
# is below this get the male ``jm_kumo``, the others the default ``jf_gongitsune``. Measured in
# docs/speech.md ("Base voice for cloning"): male references 106-130 Hz, female 142-215 Hz.
MALE_BASE_F0_HZ = 136.0
MALE_BASE_VOICE = "jm_kumo"
FEMALE_BASE_VOICE = "jf_gongitsune"


def plan_text(text: str, lang: str = "auto", max_chars: int = 20000) -> list[tuple[str, str]]:
    """Validate ``text`` and cut it into ``(language, normalized sentence)`` pieces.

    Raises:
        SpeechError: not a string, empty, longer than ``max_chars``, unknown ``lang``, Arabic
            script with ``lang="en"``, or nothing pronounceable.
    """
    if not isinstance(text, str):
        raise SpeechError(f"text must be a string, not {type(text).__name__}")
    if not text.strip():
        raise SpeechError("the text to speak is empty; give at least one word")
    if len(text) > max_chars:
        raise SpeechError(f"the text has {len(text)} characters; the limit is {max_chars} "
                          "(split it, or raise max_chars)")
    lang_l = str(lang).lower().strip()
    if lang_l not in LANGUAGES:
        raise SpeechError(f"unsupported language {lang!r}; use 'en', 'ar' or 'auto'")
    if lang_l == "en" and has_arabic(text):
        raise SpeechError("the text contains Arabic script but lang='en'; use lang='ar' or "
                          "lang='auto' to speak Arabic")
    if lang_l == "en":
        runs = [("en", text)]
    else:
        runs = [(r.lang, r.text) for r in split_scripts(text)]
        if lang_l == "ar" and runs and all(lg == "en" for lg, _ in runs) and not has_arabic(text):
            # Arabic requested for text without Arabic letters (e.g. digits only): speak in Arabic
            runs = [("ar", text)]
    pieces: list[tuple[str, str]] = []
    for lg, run in runs:
        norm = normalize_arabic(run) if lg == "ar" else normalize_english(run)
        pieces.extend((lg, s) for s in chunk_text(norm, _CHUNK_CHARS))
    if not pieces:
        raise SpeechError(f"nothing to pronounce in the text {text[:40]!r}")
    return pieces


def _trim(chunk: TTSChunk) -> TTSChunk:
    """Cut leading/trailing silence (below 1 % of full scale) down to ``EDGE_PAD_S`` and shift
    the phone times accordingly."""
    x = chunk.samples
    loud = np.flatnonzero(np.abs(x) > 0.01)
    if loud.size == 0:
        return chunk
    pad = int(EDGE_PAD_S * chunk.sample_rate_hz)
    a, b = max(0, loud[0] - pad), min(len(x), loud[-1] + pad)
    if a == 0 and b == len(x):
        return chunk
    t0, dur = float(a) / chunk.sample_rate_hz, float(b - a) / chunk.sample_rate_hz
    phones: list[Phone] = []
    for p in chunk.phones:
        s, e = max(0.0, float(p.start_s) - t0), min(dur, float(p.end_s) - t0)
        if e > s:
            phones.append(Phone(p.symbol, round(s, 6), round(e, 6)))
    if phones:
        phones[0] = Phone(phones[0].symbol, 0.0, phones[0].end_s)
        phones[-1] = Phone(phones[-1].symbol, phones[-1].start_s, dur)
    return TTSChunk(x[a:b], chunk.sample_rate_hz, phones, chunk.text, chunk.language)


def _check_ar_engine(ar_engine: str | None) -> str:
    from .tts import ARABIC_ENGINES, DEFAULT_ARABIC_ENGINE

    engine = DEFAULT_ARABIC_ENGINE if ar_engine is None else str(ar_engine).lower().strip()
    if engine not in ARABIC_ENGINES:
        raise SpeechError(f"unknown Arabic engine {ar_engine!r}; use one of {', '.join(ARABIC_ENGINES)}")
    return engine


def synthesize_chunks(text: str, lang: str = "auto", *, tts_voice: str | None = None, speed: float = 1.0,
                      max_chars: int = 20000, ar_engine: str | None = None) -> Iterator[TTSChunk]:
    """Base-voice speech as a generator of sentence chunks (24 kHz, phones relative to each
    chunk). Raises SpeechError / BackendError like :func:`synthesize`."""
    from .tts import arabic_chunks, kokoro_chunks

    if not 0.5 <= float(speed) <= 2.0:
        raise SpeechError(f"speed {speed} is out of range; use 0.5 to 2.0")
    engine = _check_ar_engine(ar_engine)
    pieces = plan_text(text, lang, max_chars)
    i = 0
    while i < len(pieces):
        lg = pieces[i][0]
        j = i
        while j < len(pieces) and pieces[j][0] == lg:
            j += 1
        group = [s for _, s in pieces[i:j]]
        gen = (kokoro_chunks(group, tts_voice, speed) if lg == "en"
               else arabic_chunks(group, speed, engine=engine, voice=tts_voice))
        for chunk in gen:
            yield _trim(chunk)
        i = j


def _resolve_voice(voice):
    from .voice import VoiceProfile, load_voice_profile

    if voice is None or (isinstance(voice, str) and voice.strip().lower() in ("", "none")):
        return None
    if isinstance(voice, VoiceProfile):
        return voice
    if isinstance(voice, (str, Path)):
        return load_voice_profile(voice)
    raise SpeechError(f"voice must be None, 'none', a path or a VoiceProfile, not {type(voice).__name__}")


def base_voice_for(profile) -> str:
    """Built-in English voice to convert from for a reference speaker: ``jm_kumo`` when the
    reference's median F0 is below :data:`MALE_BASE_F0_HZ`, else ``jf_gongitsune``."""
    f0 = float(getattr(profile, "f0_median_hz", 0.0) or 0.0)
    return MALE_BASE_VOICE if 0.0 < f0 < MALE_BASE_F0_HZ else FEMALE_BASE_VOICE


def synthesize(text: str, lang: str = "auto", voice: str | Path | object | None = None, *,
               tts_voice: str | None = None, speed: float = 1.0, max_chars: int = 20000,
               hook: ProgressHook | None = None, ar_engine: str | None = None) -> Speech:
    """Speak ``text`` (English, Arabic or both) offline, optionally in a cloned voice.

    Args:
        text: what to say; numbers, abbreviations and symbols are spelled out.
        lang: ``"en"``, ``"ar"`` or ``"auto"`` (by script; mixed text is split into runs, each
            spoken in its language).
        voice: None or ``"none"`` keeps the built-in TTS voice; a path to an audio/video file
            (>= 5 s of speech, 30 s recommended) or a saved ``.npz`` profile, or a
            :class:`~twintake.speech.voice.VoiceProfile`, converts to that speaker's voice.
        tts_voice: Kokoro voice (default ``"jf_gongitsune"``; ``"jm_kumo"`` is male), for English
            and for Arabic with ``ar_engine="kokoro"``.
            With a ``voice`` reference and no ``tts_voice``, the base voice is picked by the
            reference's median F0 (see :func:`base_voice_for`); an explicit value always wins.
        speed: speaking rate, 0.5-2.0.
        max_chars: longest accepted text.
        hook: progress hook, called as ``hook("tts", done, total)`` and ``hook("voice", ...)``.
        ar_engine: Arabic speech engine, ``"kokoro"`` (default: Kokoro-82M reading eSpeak's
            Arabic phonemes) or ``"espeak"`` (eSpeak NG's formant voice); None = default.
    Returns:
        :class:`~twintake.types.Speech`: samples (S,) float32 at 24 kHz, -16 LUFS; phones cover
        the whole audio (sorted, contiguous); ``text`` as given; ``language`` ``"en"``, ``"ar"``
        or the dominant one for mixed text.
    Raises:
        SpeechError: bad text / lang / speed / tts_voice.
        VoiceError: the reference is missing, not audio, silent, music or under 5 s of speech.
        BackendError: a TTS or voice-conversion package is missing.
        Cancelled: the hook asked to stop.
    """
    progress = Progress(hook)
    pieces = plan_text(text, lang, max_chars)  # validate before loading anything heavy
    ar_engine = _check_ar_engine(ar_engine)
    profile = _resolve_voice(voice)
    if tts_voice is None and profile is not None:
        tts_voice = base_voice_for(profile)
        log.info("base voice %s for reference median F0 %.0f Hz", tts_voice, profile.f0_median_hz)
    total = len(pieces)
    progress("tts", 0, total)
    chunks: list[TTSChunk] = []
    for chunk in synthesize_chunks(text, lang, tts_voice=tts_voice, speed=speed, max_chars=max_chars,
                                   ar_engine=ar_engine):
        chunks.append(chunk)
        progress("tts", min(len(chunks), total), total)
    if not chunks:
        raise SpeechError(f"nothing to pronounce in the text {text[:40]!r}")
    from .voice import TARGET_LUFS, convert_many, normalize_loudness

    audio_parts = [c.samples for c in chunks]
    if profile is not None:
        progress("voice", 0, 1)
        audio_parts = convert_many(audio_parts, SAMPLE_RATE, profile, loudness_lufs=None)
        progress("voice", 1, 1)
    gap = np.zeros(int(SENTENCE_PAUSE_S * SAMPLE_RATE), np.float32)
    out: list[np.ndarray] = []
    phones: list[Phone] = []
    t = 0.0
    for i, (chunk, audio) in enumerate(zip(chunks, audio_parts)):
        if i:
            out.append(gap)
            phones.append(Phone("SIL", round(t, 6), round(t + len(gap) / SAMPLE_RATE, 6)))
            t += len(gap) / SAMPLE_RATE
        out.append(audio)
        for p in chunk.phones:
            phones.append(Phone(p.symbol, round(t + p.start_s, 6), round(t + p.end_s, 6)))
        t += len(audio) / SAMPLE_RATE
    samples = normalize_loudness(np.concatenate(out), SAMPLE_RATE, TARGET_LUFS)
    merged: list[Phone] = []
    for p in phones:
        if merged and p.start_s < merged[-1].end_s:
            p = Phone(p.symbol, merged[-1].end_s, max(p.end_s, merged[-1].end_s))
        if p.end_s <= p.start_s:
            continue
        if merged and merged[-1].symbol == p.symbol == "SIL":
            merged[-1] = Phone("SIL", merged[-1].start_s, p.end_s)
        else:
            merged.append(p)
    if merged:
        merged[-1] = Phone(merged[-1].symbol, merged[-1].start_s, len(samples) / SAMPLE_RATE)
    langs = [c.language for c in chunks]
    language = max(set(langs), key=lambda lg: sum(len(c.samples) for c in chunks if c.language == lg))
    return Speech(samples=samples, sample_rate_hz=SAMPLE_RATE, phones=merged, text=text, language=language)
