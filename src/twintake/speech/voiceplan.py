"""How an utterance is voiced (for :mod:`.synthesize`): the reference speaker's profile, the
Kokoro voice or searched style to speak with, a zero-shot synthesizer, and the voice conversion
applied to each piece with fixed source statistics (so the pieces of a stream match)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SpeechError
from ..types import is_builtin_voice
from .voice.choose import FEMALE_BASE_VOICE, MALE_BASE_F0_HZ, MALE_BASE_VOICE

__all__ = ["SAMPLE_RATE", "base_voice_for"]

log = logging.getLogger(__name__)

#: Kokoro-82M's (and the conversion's) sample rate, Hz.
SAMPLE_RATE = 24000


def _resolve_voice(voice, hook=None):
    from .voice import VoiceProfile, load_voice_profile

    if voice is None or is_builtin_voice(voice):
        return None
    if isinstance(voice, VoiceProfile):
        return voice
    if isinstance(voice, (str, Path)):
        return load_voice_profile(voice, hook=hook)
    raise SpeechError(f"voice must be None, 'none', a path or a VoiceProfile, not {type(voice).__name__}")


def base_voice_for(profile) -> str:
    """Built-in English voice to convert from for a reference speaker: ``jm_kumo`` when the
    reference's median F0 is below :data:`MALE_BASE_F0_HZ`, else ``jf_gongitsune``."""
    f0 = float(getattr(profile, "f0_median_hz", 0.0) or 0.0)
    return MALE_BASE_VOICE if 0.0 < f0 < MALE_BASE_F0_HZ else FEMALE_BASE_VOICE


@dataclass
class _VoicePlan:
    """How the utterance is voiced: Kokoro pack or name, and the conversion applied on top."""

    tts_voice: str | None = None
    pack: np.ndarray | None = None
    profile: object | None = None
    conversion: str = "none"  # "none" | "f0" | "mvn"
    converter: str = "world"  # the backend in twintake.speech.voice.CONVERTERS
    synth: object | None = None  # a zero-shot synthesizer (e.g. xtts) that clones by itself
    src_lf0: tuple[float, float] | None = None
    src_cep: dict | None = None
    src_cls: dict | None = None  # per-phone-class source statistics (phone-class conversion)
    notes: list[str] = field(default_factory=list)


def _neural_plan(backend: str, checkpoint, voice, tts_voice: str | None, device: str) -> _VoicePlan:
    """The plan of a registered zero-shot synthesizer (``xtts``), loaded now (a bad checkpoint or
    reference fails before the first piece); ``voice`` must be a clip path or None/"none"."""
    from .tts import SYNTHESIZERS

    if voice is not None and not isinstance(voice, (str, Path)):
        raise SpeechError(f"the {backend} voice backend clones from a voice clip file, not a {type(voice).__name__}")
    ref = None if voice is None or is_builtin_voice(voice) else voice
    synth = SYNTHESIZERS.create(backend, checkpoint=checkpoint, reference=ref, device=device)
    return _VoicePlan(tts_voice=tts_voice, synth=synth)


def _plan_voice(voice, tts_voice: str | None, ar_engine: str, hook=None) -> _VoicePlan:
    profile = _resolve_voice(voice, hook)
    if profile is None:
        return _VoicePlan(tts_voice=tts_voice)
    found = getattr(profile, "search", None)
    if tts_voice is None and found is not None:
        log.info("voice: the searched Kokoro style, conversion %s", found.conversion)
        plan = _VoicePlan(pack=found.pack, profile=profile, conversion=found.conversion,
                          src_lf0=(float(found.src_lf0[0]), float(found.src_lf0[1])), src_cep=found.src_cep_stats())
    else:
        if tts_voice is None:
            tts_voice = base_voice_for(profile)
            log.info("base voice %s for reference median F0 %.0f Hz", tts_voice, profile.f0_median_hz)
        plan = _VoicePlan(tts_voice=tts_voice, profile=profile, conversion="mvn")
    _add_class_stats(plan)
    return plan


def _add_class_stats(plan: _VoicePlan) -> None:
    """Per-phone-class statistics of the plan's Kokoro voice when the conversion method uses
    them (:mod:`.voice.phoneclass`; computed once per voice and cached on disk)."""
    from .voice.convert import default_uses_phone_classes

    if plan.converter != "world" or not default_uses_phone_classes() or plan.conversion != "mvn":
        return
    if getattr(plan.profile, "voiced_cls", None) is None:
        return  # no labels on the reference: the global transform
    from .voice.phoneclass import voice_class_stats

    plan.src_cls = voice_class_stats(plan.pack if plan.pack is not None else (plan.tts_voice or FEMALE_BASE_VOICE))


def _base_voice_stats(name: str):
    """(log-F0 (mean, std), cepstral stats) of a shipped Kokoro voice, from
    ``data/kokoro_voice_stats.npz`` (made by benchmarks/bench_voice_search.py --stats); None
    when the voice is not in the file (statistics then come from each piece)."""
    import importlib.resources as res

    try:
        with (res.files("twintake") / "data" / "kokoro_voice_stats.npz").open("rb") as f, np.load(f) as z:
            if f"{name}_lf0" not in z.files:
                return None
            lf0, cep = z[f"{name}_lf0"], z[f"{name}_cep"]
    except (FileNotFoundError, OSError):
        return None
    return (float(lf0[0]), float(lf0[1])), {True: (cep[0], cep[1]), False: (cep[2], cep[3])}


def _convert_piece(audio: np.ndarray, kind: str, plan: _VoicePlan, phones=None) -> np.ndarray:
    """Voice conversion of one piece with fixed source statistics (so pieces match); ``phones``
    (the TTS's timed phones of the piece) label the source frames for the phone-class methods."""
    if plan.profile is None or (kind == "pack" and plan.conversion == "none"):
        return audio
    from .voice.base import CONVERTERS

    convert = CONVERTERS.create(plan.converter).convert  # the registered voice-conversion backend

    extra = {"phones": [phones]} if phones is not None else {}
    if plan.src_cls is not None and kind != "espeak":
        extra["src_class_stats"] = plan.src_cls

    def convert_many(chunks, rate, profile, **kw):
        return convert(chunks, rate, profile, **kw, **extra)

    if kind == "espeak":  # statistics of this piece: eSpeak's voice is not a Kokoro one
        return convert_many([audio], SAMPLE_RATE, plan.profile, loudness_lufs=None)[0]
    if kind == "pack":
        strength = 0.0 if plan.conversion == "f0" else 1.0
        return convert_many([audio], SAMPLE_RATE, plan.profile, strength=strength, loudness_lufs=None,
                            src_lf0_stats=plan.src_lf0, src_cep_stats=plan.src_cep)[0]
    stats = _base_voice_stats(plan.tts_voice or "jf_gongitsune")
    kw = {"src_lf0_stats": stats[0], "src_cep_stats": stats[1]} if stats else {}
    return convert_many([audio], SAMPLE_RATE, plan.profile, loudness_lufs=None, **kw)[0]
