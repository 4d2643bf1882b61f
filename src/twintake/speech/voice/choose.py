"""Which voice a job speaks with: the person's cloned voice, or — when their recording is too
short to clone — the built-in voice nearest to what there is, with a note saying so.

``choose_voice(path)`` is the one call for a job or ``prepare``: it returns a
:class:`VoiceChoice` with either a searched :class:`~.profile.VoiceProfile` or a built-in Kokoro
voice picked from the reference's pitch, and timbre where pitch is ambiguous (see
:func:`fallback_voice`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import MediaError, VoiceError
from ...hooks import ProgressHook

__all__ = ["VoiceChoice", "fallback_voice", "choose_voice", "MIN_FALLBACK_VOICED_S", "MALE_BASE_F0_HZ",
           "MALE_BASE_VOICE", "FEMALE_BASE_VOICE"]

log = logging.getLogger(__name__)

MIN_FALLBACK_VOICED_S = 0.5  # less voiced speech than this: no pitch to go by
# Base voice fed to voice conversion when the caller names none: references whose median F0
# is below this get the male ``jm_kumo``, the others the default ``jf_gongitsune``. Measured in
# docs/speech.md ("Base voice for cloning"): male references 106-130 Hz, female 142-215 Hz.
MALE_BASE_F0_HZ = 136.0
MALE_BASE_VOICE = "jm_kumo"
FEMALE_BASE_VOICE = "jf_gongitsune"


@dataclass
class VoiceChoice:
    """The voice for a job.

    Attributes:
        profile: the person's profile (cloned voice), or None.
        tts_voice: a built-in Kokoro voice to use instead (fallback), or None.
        note: a sentence for the user when the person's voice is not cloned, else None.
        f0_median_hz: the reference's median F0 (0 when unknown).
        speech_s: seconds of speech found in the reference.
    """

    profile: object | None = None
    tts_voice: str | None = None
    note: str | None = None
    f0_median_hz: float = 0.0
    speech_s: float = 0.0


def _voiced_f0(samples: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """(voiced F0 values in Hz, seconds of speech) by the profile's VAD + WORLD Harvest."""
    from .vad import VAD_FRAME_S as _VAD_FRAME_S
    from .vad import speech_segments
    from .world import F0_CEIL, F0_FLOOR, FRAME_MS, _pyworld

    pw = _pyworld()
    mask = speech_segments(samples, rate)
    n = int(round(_VAD_FRAME_S * rate))
    speech = samples[: len(mask) * n].reshape(len(mask), n)[mask].reshape(-1) if mask.any() else samples[:0]
    if speech.size < rate // 4:
        return np.zeros(0), len(speech) / rate
    x = speech.astype(np.float64)
    f0, t = pw.harvest(x, rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
    return f0[f0 > 0], len(speech) / rate


def fallback_voice(samples: np.ndarray, rate: int, source: str = "the reference") -> VoiceChoice:
    """The built-in voice nearest to a (too short) recording, by pitch.

    Median F0 of the voiced frames below ``MALE_BASE_F0_HZ`` (136 Hz) -> ``jm_kumo`` (the only
    male voice); 136-175 Hz, the overlap of low female and higher male voices, is settled by the
    d-vector (:mod:`.encoder`): ``jm_kumo`` if the recording is closer to its reference
    embedding than to ``jf_gongitsune``'s; above 175 Hz -> ``jf_gongitsune``.

    Raises:
        VoiceError: fewer than :data:`MIN_FALLBACK_VOICED_S` seconds of voiced speech.
    """

    x = np.asarray(samples, np.float32).ravel()
    f0, speech_s = _voiced_f0(x, rate)
    voiced_s = len(f0) * 0.005
    if voiced_s < MIN_FALLBACK_VOICED_S:
        raise VoiceError(f"{source} has almost no voiced speech ({voiced_s:.1f} s); no pitch to choose a voice by")
    med = float(np.median(f0))
    how = "pitch"
    if med < MALE_BASE_F0_HZ:
        voice = MALE_BASE_VOICE
    elif med > 175.0:
        voice = FEMALE_BASE_VOICE
    else:
        voice, how = _nearest_by_dvector(x, rate, (MALE_BASE_VOICE, FEMALE_BASE_VOICE)), "pitch and timbre"
    kind = "male" if voice == MALE_BASE_VOICE else "female"
    note = (f"the voice was not cloned: {source} has only {speech_s:.1f} s of speech (at least 5 s are "
            f"needed, 30 s recommended); the built-in {kind} voice {voice} was chosen by {how} "
            f"(median F0 {med:.0f} Hz). Give a longer clip of the person as the voice reference to clone it.")
    log.info(note)
    return VoiceChoice(tts_voice=voice, note=note, f0_median_hz=med, speech_s=speech_s)


def _nearest_by_dvector(samples: np.ndarray, rate: int, voices: tuple[str, ...]) -> str:
    from .encoder import dvector_encoder
    from .search import SEARCH_SENTENCES
    from .style import phonemize, shipped_packs, synthesize_style

    enc = dvector_encoder()
    target = enc.embed(samples, rate)
    packs = shipped_packs()
    ph = phonemize(SEARCH_SENTENCES[0], "en")[0]
    sims = {v: float(enc.embed(synthesize_style(ph, packs[v])[0], 24000) @ target) for v in voices if v in packs}
    return max(sims, key=sims.get)


def choose_voice(reference: str | Path, *, search: bool = True, hook: ProgressHook | None = None,
                 search_options: dict | None = None) -> VoiceChoice:
    """The voice for a job whose person is heard in ``reference`` (audio or video file).

    Enough speech (>= 5 s): the cloned voice (``profile``: cached, searched once per file,
    see :func:`~.profile.load_voice_profile`). Too little: :func:`fallback_voice` (a built-in
    voice by pitch, with a ``note``).

    Raises:
        VoiceError / MediaError: the file is missing, not audio, silent, music, or has no
            voiced speech at all (callers that have a default voice catch these).
    """
    from .profile import MIN_SPEECH_S, decode_audio, load_voice_profile

    try:
        prof = load_voice_profile(reference, search=search, hook=hook, search_options=search_options)
        return VoiceChoice(profile=prof, f0_median_hz=prof.f0_median_hz, speech_s=prof.speech_s)
    except VoiceError as exc:
        if f"at least {MIN_SPEECH_S:.0f} s" not in str(exc):
            raise
    except MediaError:
        raise
    samples = decode_audio(reference, 24000)
    return fallback_voice(samples, 24000, source=Path(reference).name)
