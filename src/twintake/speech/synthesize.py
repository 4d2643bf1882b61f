"""``synthesize``: speak any English or Arabic text, optionally in a reference speaker's voice.

Pipeline: validate -> split by script (Arabic / Latin runs) -> normalize -> split into sentences
-> TTS sentence by sentence (Kokoro-82M for English; Arabic: text2tashkeel + eSpeak NG IPA read
by Kokoro-82M, or eSpeak NG's own voice with ``ar_engine="espeak"``) ->
join with short pauses -> optional voice conversion (WORLD + cepstral statistics transfer, timing preserved) ->
-16 LUFS. Phone timings (ARPAbet + ``"SIL"``) come from the TTS itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpeechError
from ..hooks import Progress, ProgressHook
from ..types import Phone, Speech
from .tts import TTSChunk
from .tts.kokoro import PARALLEL_CALLS
from .voice.choose import MALE_BASE_F0_HZ
from .voiceplan import (SAMPLE_RATE, _base_voice_stats, _convert_piece, _neural_plan, _plan_voice,  # noqa: F401
                        _VoicePlan, base_voice_for)
from .tts.text import (
    chunk_text,
    has_arabic,
    normalize_arabic,
    normalize_english,
    split_scripts,
)

__all__ = ["synthesize", "synthesize_stream", "SpeechPiece", "synthesize_chunks", "plan_text", "base_voice_for", "SAMPLE_RATE", "LANGUAGES",
           "MALE_BASE_F0_HZ"]

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ar", "auto")
SENTENCE_PAUSE_S = 0.2
EDGE_PAD_S = 0.05
_CHUNK_CHARS = 300
#: A streamed text's first sentence longer than this is cut at its first clause break.
FIRST_PIECE_CHARS = 40
#: Sentences synthesized (and converted) at once by the stream; Kokoro runs one thread per call.
STREAM_WORKERS = PARALLEL_CALLS


def plan_text(text: str, lang: str = "auto", max_chars: int = 20000) -> list[tuple[str, str]]:
    """Validate ``text`` and cut it into ``(language, normalized sentence)`` pieces.

    Raises:
        SpeechError: not a string, empty, longer than ``max_chars``, unknown ``lang``, Latin
            letters without Arabic script with ``lang="ar"``, Arabic
            script with ``lang="en"``, or nothing pronounceable.
    """
    if not isinstance(text, str):
        raise SpeechError(f"text must be a string, not {type(text).__name__}")
    if not text.strip():
        raise SpeechError("the text to speak is empty; give at least one word")
    if len(text) > max_chars:
        raise SpeechError(f"the text has {len(text)} characters; the limit is {max_chars} "
                          "(split it, or raise the limit: --max-chars, or max_chars in Python)")
    lang_l = str(lang).lower().strip()
    if lang_l not in LANGUAGES:
        raise SpeechError(f"unsupported language {lang!r}; use 'en', 'ar' or 'auto'")
    if lang_l == "en" and has_arabic(text):
        raise SpeechError("the text contains Arabic script but lang='en'; use lang='ar' or "
                          "lang='auto' to speak Arabic")
    if lang_l == "ar" and not has_arabic(text) and any("a" <= c.lower() <= "z" for c in text):
        raise SpeechError("the text has Latin letters and no Arabic script but lang='ar'; use lang='en' or "
                          "lang='auto' to speak English (digits alone are read in Arabic)")
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
    for lg, group in _language_groups(plan_text(text, lang, max_chars)):
        gen = (kokoro_chunks(group, tts_voice, speed) if lg == "en"
               else arabic_chunks(group, speed, engine=engine, voice=tts_voice))
        for chunk in gen:
            yield _trim(chunk)


def _language_groups(pieces: list[tuple[str, str]]):
    """Consecutive ``(language, sentence)`` pieces of one language, as ``(language, [sentences])``."""
    i = 0
    while i < len(pieces):
        lg = pieces[i][0]
        j = i
        while j < len(pieces) and pieces[j][0] == lg:
            j += 1
        yield lg, [s for _, s in pieces[i:j]]
        i = j


@dataclass
class SpeechPiece(Speech):
    """One piece of a streamed utterance (a :class:`~twintake.types.Speech` with its place).

    ``samples`` are this piece's audio (24 kHz, at the stream's fixed gain), starting with the
    pause that separates it from the previous piece, so the pieces concatenated are the whole
    utterance; ``phones`` carry times from the start of the *whole utterance* (the first phone
    starts at ``start_s``, the last ends at ``start_s + duration_s``).

    Attributes:
        start_s: where this piece starts in the utterance.
        index: 0, 1, ... in speaking order.
        total: number of sentences planned (a very long sentence may come as two pieces, so
            ``index`` can reach ``total`` or beyond; the stream simply ends).
    """

    start_s: float = 0.0
    index: int = 0
    total: int = 0


def _sentence_chunks(lg: str, sentence: str, plan: _VoicePlan, speed: float,
                     ar_engine: str) -> list[tuple[TTSChunk, str]]:
    """Trimmed chunks of one normalized sentence, each with how it was made: ``"pack"`` (Kokoro
    with the searched style), ``"kokoro"`` (a shipped Kokoro voice) or ``"espeak"`` (eSpeak NG's
    Arabic voice)."""
    from .tts import arabic_chunks, kokoro_chunks

    if plan.synth is not None:  # a zero-shot backend speaks in the reference voice itself
        gen, kind = plan.synth.chunks([sentence], lg, plan.tts_voice, speed), "neural"
    elif lg == "ar" and ar_engine != "kokoro":  # eSpeak's own voice: no style pack
        gen, kind = arabic_chunks([sentence], speed, engine=ar_engine, voice=plan.tts_voice), "espeak"
    elif plan.pack is not None:
        from .voice.style import style_chunks

        gen, kind = style_chunks([sentence], lg, plan.pack, speed), "pack"
    elif lg == "en":
        gen, kind = kokoro_chunks([sentence], plan.tts_voice, speed), "kokoro"
    else:
        gen, kind = arabic_chunks([sentence], speed, engine=ar_engine, voice=plan.tts_voice), "kokoro"
    return [(_trim(chunk), kind) for chunk in gen]


def _split_first(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Cut the first sentence at its first clause break (comma, semicolon, colon) when it is
    longer than :data:`FIRST_PIECE_CHARS`, so the first piece (what the renderer waits for) is
    short; the break becomes the pause between the two pieces."""
    if not pieces or len(pieces[0][1]) <= FIRST_PIECE_CHARS:
        return pieces
    lg, first = pieces[0]
    for i, ch in enumerate(first):
        if ch in ",;:،؛" and 8 <= i <= FIRST_PIECE_CHARS and len(first) - i > 12 and first[i + 1:i + 2] == " ":
            return [(lg, first[: i + 1]), (lg, first[i + 2:].strip()), *pieces[1:]]
    return pieces


def _preload() -> None:
    """Import what the first piece needs after its synthesis (``scipy.signal`` for the loudness
    filter and resampling: ~1-1.5 s on a cold start) in a background thread, while the model
    loads and the first sentence is synthesized; a later import just waits for it."""
    import sys

    if "scipy.signal" in sys.modules:
        return

    def run() -> None:
        import scipy.signal  # noqa: F401

    threading.Thread(target=run, name="twintake-preload", daemon=True).start()


def synthesize_stream(text: str, lang: str = "auto", voice: str | Path | object | None = None, *,
                      tts_voice: str | None = None, speed: float = 1.0, max_chars: int = 20000,
                      hook: ProgressHook | None = None, cancel: threading.Event | None = None,
                      ar_engine: str | None = None, voice_backend: str | None = None,
                      checkpoint: str | Path | None = None, device: str = "cpu") -> Iterator[SpeechPiece]:
    """Speak ``text`` sentence by sentence: a generator of :class:`SpeechPiece` (arguments as
    :func:`synthesize`; ``cancel`` is a ``threading.Event``).

    Worker threads (:data:`STREAM_WORKERS`) synthesize (and convert) the next sentences while
    the caller uses the current one; a first sentence longer than :data:`FIRST_PIECE_CHARS` is
    cut at its first clause break, so the first piece comes soon. Loudness: one fixed gain for the whole stream, set from the first piece so
    that it reads -16 LUFS (pieces join without level jumps; peaks above 0.97 are softly
    limited per piece). Text, language, speed and voice are validated before the first piece;
    the voice reference (and its search, when not cached) is loaded before the first piece too.

    Raises:
        SpeechError, VoiceError, BackendError: as :func:`synthesize` (from the first ``next``).
        Cancelled: ``cancel`` was set or the hook asked to stop; checked every 0.1 s while
            waiting for a piece, so the stream stops within 1 s whatever the sentence length.
    """
    from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout

    from .voice import TARGET_LUFS, integrated_loudness
    from .voice.convert import _soft_limit as soft_limit

    progress = Progress(hook, cancel)
    pieces = plan_text(text, lang, max_chars)  # validate before loading anything heavy
    if not 0.5 <= float(speed) <= 2.0:
        raise SpeechError(f"speed {speed} is out of range; use 0.5 to 2.0")
    engine = _check_ar_engine(ar_engine)
    _preload()
    if voice_backend not in (None, "kokoro"):
        plan = _neural_plan(voice_backend, checkpoint, voice, tts_voice, device)
    else:
        if tts_voice is not None:
            from .tts.kokoro import _voice_pack

            _voice_pack(tts_voice)
        plan = _plan_voice(voice, tts_voice, engine, progress)  # a first-time reference is searched here
    pieces = _split_first(pieces)
    total = len(pieces)
    progress("tts", 0, total)
    stop = threading.Event()

    def make(lg: str, sentence: str) -> list[tuple[TTSChunk, np.ndarray]]:
        if stop.is_set():
            return []
        return [(chunk, _convert_piece(chunk.samples, kind, plan, chunk.phones))
                for chunk, kind in _sentence_chunks(lg, sentence, plan, speed, engine)]

    # STREAM_WORKERS sentences are made at once, at most STREAM_WORKERS + 1 ahead of the caller;
    # pool threads are not daemons: at exit Python waits for the sentence in progress (they
    # stop between sentences once ``stop`` is set) instead of killing them inside onnxruntime
    pool = ThreadPoolExecutor(max_workers=STREAM_WORKERS, thread_name_prefix="twintake-tts")
    futures: list = []

    def top_up(upto: int) -> None:
        while len(futures) < min(upto, total):
            futures.append(pool.submit(make, *pieces[len(futures)]))

    gap = np.zeros(int(SENTENCE_PAUSE_S * SAMPLE_RATE), np.float32)
    gain = None
    t = 0.0
    index = 0
    try:
        for k in range(total):
            top_up(k + STREAM_WORKERS + 1)
            while True:
                if cancel is not None and cancel.is_set():
                    progress("tts", min(index, total), total)  # raises Cancelled
                try:
                    made = futures[k].result(timeout=0.1)
                    break
                except FutureTimeout:
                    continue
            for chunk, audio in made:
                if gain is None:
                    lufs = integrated_loudness(audio, SAMPLE_RATE) if len(audio) > SAMPLE_RATE // 2 else float("nan")
                    if not np.isfinite(lufs):
                        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0
                        lufs = 20 * np.log10(rms) - 0.7 if rms > 0 else TARGET_LUFS
                    gain = np.float32(10 ** ((TARGET_LUFS - lufs) / 20))
                y = audio.astype(np.float32) * gain
                if y.size and float(np.max(np.abs(y))) > 0.97:
                    y = soft_limit(y)
                phones: list[Phone] = []
                start = t
                if index:
                    y = np.concatenate([gap, y])
                    phones.append(Phone("SIL", round(t, 6), round(t + len(gap) / SAMPLE_RATE, 6)))
                    t += len(gap) / SAMPLE_RATE
                phones.extend(Phone(p.symbol, round(t + p.start_s, 6), round(t + p.end_s, 6)) for p in chunk.phones)
                t = start + len(y) / SAMPLE_RATE
                phones = _tidy_phones(phones, start, t)
                if plan.profile is not None:
                    progress("voice", min(index + 1, total), total)
                yield SpeechPiece(samples=y.astype(np.float32), sample_rate_hz=SAMPLE_RATE, phones=phones,
                                  text=chunk.text, language=chunk.language, start_s=round(start, 6), index=index,
                                  total=total)
                index += 1
                progress("tts", min(index, total), total)  # the hook may raise Cancelled too
        if index == 0:
            raise SpeechError(f"nothing to pronounce in the text {text[:40]!r}")
        progress("tts", total, total)
    finally:
        stop.set()
        for f in futures:
            f.cancel()
        pool.shutdown(wait=False)


def _tidy_phones(phones: list[Phone], start_s: float, end_s: float) -> list[Phone]:
    """Sorted, contiguous, non-empty phones covering exactly ``[start_s, end_s]``."""
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
    if not merged:
        return [Phone("SIL", round(start_s, 6), round(end_s, 6))]
    merged[0] = Phone(merged[0].symbol, round(start_s, 6), merged[0].end_s)
    merged[-1] = Phone(merged[-1].symbol, merged[-1].start_s, round(end_s, 6))
    return merged


def synthesize(text: str, lang: str = "auto", voice: str | Path | object | None = None, *,
               tts_voice: str | None = None, speed: float = 1.0, max_chars: int = 20000,
               hook: ProgressHook | None = None, ar_engine: str | None = None,
               cancel: threading.Event | None = None, voice_backend: str | None = None,
               checkpoint: str | Path | None = None, device: str = "cpu") -> Speech:
    """Speak ``text`` (English, Arabic or both) offline, optionally in a cloned voice.

    The pieces of :func:`synthesize_stream` joined, the whole set to -16 LUFS.

    Args:
        text: what to say; numbers, abbreviations and symbols are spelled out.
        lang: ``"en"``, ``"ar"`` or ``"auto"`` (by script; mixed text is split into runs, each
            spoken in its language).
        voice: None or ``"none"`` keeps the built-in TTS voice; a path to an audio/video file
            (>= 5 s of speech, 30 s recommended) or a saved ``.npz`` profile, or a
            :class:`~twintake.speech.voice.VoiceProfile`, speaks in that speaker's voice: the
            Kokoro style found by the voice search (run once per file and cached, see
            :func:`~twintake.speech.voice.load_voice_profile`), with WORLD conversion on top
            where the search measured that it helps; a profile without a search result
            converts an F0-chosen built-in voice (:func:`base_voice_for`).
        tts_voice: Kokoro voice (default ``"jf_gongitsune"``; ``"jm_kumo"`` is male), for English
            and for Arabic with ``ar_engine="kokoro"``. An explicit value always wins over the
            searched voice (and is then converted to the reference).
        speed: speaking rate, 0.5-2.0.
        max_chars: longest accepted text.
        hook: progress hook, called as ``hook("tts", done, total)``, ``hook("voice", done,
            total)`` with a reference, and ``hook("voice_search", done, total)`` when a
            reference file is searched for the first time.
        ar_engine: Arabic speech engine, ``"kokoro"`` (default: Kokoro-82M reading eSpeak's
            Arabic phonemes) or ``"espeak"`` (eSpeak NG's formant voice); None = default.
        cancel: a ``threading.Event``; set it to stop (raises Cancelled).
        voice_backend, checkpoint, device: ``"xtts"`` speaks with XTTS-v2 from the checkpoint
            folder, cloning ``voice`` (a clip) zero-shot (:mod:`twintake.speech.tts.xtts`);
            None/``"kokoro"`` = the default above.
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
    from .voice import TARGET_LUFS, normalize_loudness

    parts = list(synthesize_stream(text, lang, voice, tts_voice=tts_voice, speed=speed, max_chars=max_chars,
                                   hook=hook, cancel=cancel, ar_engine=ar_engine, voice_backend=voice_backend,
                                   checkpoint=checkpoint, device=device))
    samples = normalize_loudness(np.concatenate([p.samples for p in parts]), SAMPLE_RATE, TARGET_LUFS)
    phones = _tidy_phones([ph for p in parts for ph in p.phones], 0.0, len(samples) / SAMPLE_RATE)
    by_lang: dict[str, int] = {}
    for p in parts:
        by_lang[p.language] = by_lang.get(p.language, 0) + len(p.samples)
    language = max(by_lang, key=by_lang.get)
    return Speech(samples=samples, sample_rate_hz=SAMPLE_RATE, phones=phones, text=text, language=language)
