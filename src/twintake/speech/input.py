"""Speech given as audio: loading a speech file, and its phones (recognized when not known).

    speech = load_speech("speech.wav")          # Speech without phones
    speech = ensure_phones(speech)              # phones recognized from the audio (whole file)
    phones = recognize_block(speech, 2.0, 10.0) # or block by block, while rendering
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MediaError, SpeechError
from ..media import aac_rate, load_audio, probe
from ..types import Phone, Speech
from .analysis import is_silent, resample

__all__ = ["load_speech", "ensure_phones", "recognize_block", "recognizer_mode"]

#: Past this much speech the fast (context-independent) recognizer is used.
ACCURATE_MAX_S = 30.0


def load_speech(audio: str | Path, max_duration_s: float = 1800.0) -> Speech:
    """Read a speech file (wav/mp3/m4a/flac or a video's audio track) as mono float32.

    The samples keep the file's rate when AAC can encode it, else they are resampled to 48 kHz.

    Args:
        audio: the file.
        max_duration_s: longest speech accepted, seconds.
    Returns:
        :class:`Speech` with ``samples`` (S,) float32 in [-1, 1] and no phones.
    Raises:
        MediaError: not a media file, or no audio stream.
        SpeechError: silent, or longer than ``max_duration_s``.
    """
    info = probe(audio)
    if info.audio is None:
        raise MediaError(f"{audio} has no audio stream: give a speech file (wav, mp3, m4a, flac) "
                         "or a video with sound")
    if info.audio.duration_s > max_duration_s:
        raise SpeechError(f"{audio} is {info.audio.duration_s / 60:.1f} min long, over the "
                          f"{max_duration_s / 60:.0f} min limit: split it or raise --max-duration")
    rate = aac_rate(info.audio.sample_rate_hz)
    samples = load_audio(audio, rate)
    if len(samples) == 0 or is_silent(samples, rate):
        raise SpeechError(f"{audio} is silent: there is no speech to lip-sync to")
    if len(samples) / rate > max_duration_s:
        raise SpeechError(f"{audio} is over the {max_duration_s / 60:.0f} min limit")
    return Speech(samples=samples, sample_rate_hz=rate)


def recognizer_mode(duration_s: float) -> str:
    """``"accurate"`` (triphone search, ~0.3-0.5x real time) up to :data:`ACCURATE_MAX_S` of
    speech, ``"fast"`` (~0.05x) beyond, so a long job stays near real time."""
    return "accurate" if duration_s <= ACCURATE_MAX_S else "fast"


def recognize_block(speech: Speech, start_s: float, end_s: float, mode: str) -> list[Phone]:
    """Phones of ``speech`` between ``start_s`` and ``end_s`` (times in the whole file).

    Raises:
        SpeechError: the recognizer failed.
    """
    from .phones import recognize_phones

    sr = speech.sample_rate_hz
    part = speech.samples[int(round(start_s * sr)):int(round(end_s * sr))]
    if len(part) < sr // 50:
        return [Phone("SIL", start_s, end_s)]
    phones = recognize_phones(resample(part, sr, 16000), 16000, mode=mode)
    return [Phone(p.symbol, p.start_s + start_s, p.end_s + start_s) for p in phones]


def ensure_phones(speech: Speech) -> Speech:
    """Fill ``speech.phones`` (in place) by recognizing them from the whole audio when they are
    not known; returns ``speech``."""
    if not speech.phones:
        from .phones import recognize_phones

        speech.phones = recognize_phones(resample(speech.samples, speech.sample_rate_hz, 16000), 16000,
                                         mode=recognizer_mode(speech.duration_s))
    return speech
