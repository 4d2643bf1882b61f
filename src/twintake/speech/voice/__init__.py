"""Voice cloning: a per-person search of Kokoro-82M's style space (:mod:`.search`, judged by
a torch-free d-vector, :mod:`.encoder`), and voice conversion: WORLD analysis + cepstral
statistics transfer (or kNN spectral regression, ``method="knn"``) + F0 mapping, applied on top
where the search measured that it helps. :func:`choose_voice` picks the voice for a job (the
clone, or a built-in voice by pitch when the recording is too short).

``convert(samples, rate, profile)`` turns speech (e.g. the built-in TTS voice) into the voice of
the reference speaker in ``profile`` without changing its timing, so phone timings stay valid.
See :mod:`.world` for the method and :mod:`.profile` for reference preparation.
"""

from __future__ import annotations

from .base import CONVERTERS, VoiceConverter
from .choose import VoiceChoice, choose_voice, fallback_voice
from .loudness import TARGET_LUFS, integrated_loudness, normalize_loudness
from .profile import (
    MIN_SPEECH_S,
    RECOMMENDED_SPEECH_S,
    VoiceProfile,
    decode_audio,
    load_voice_profile,
    voice_cache_dir,
)
from .search import VoiceSearchResult, search_voice
from .convert import DEFAULT_METHOD, convert, convert_many

__all__ = [
    "CONVERTERS",
    "VoiceConverter",
    "DEFAULT_METHOD",
    "VoiceProfile",
    "VoiceChoice",
    "choose_voice",
    "fallback_voice",
    "search_voice",
    "VoiceSearchResult",
    "load_voice_profile",
    "voice_cache_dir",
    "decode_audio",
    "convert",
    "convert_many",
    "integrated_loudness",
    "normalize_loudness",
    "TARGET_LUFS",
    "MIN_SPEECH_S",
    "RECOMMENDED_SPEECH_S",
]
