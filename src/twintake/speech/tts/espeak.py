"""eSpeak NG through its bundled shared library (ctypes): IPA phonemes and synthesis with timings;
the ``espeak`` synthesizer (eSpeak NG's own Arabic formant voice).

The library and its data come from the ``espeakng-loader`` wheel, so the Debian ``espeak-ng``
package is not needed. eSpeak NG keeps global state, so every call holds one module lock.

Reference: eSpeak NG ``speak_lib.h`` API (``espeak_Initialize``, ``espeak_TextToPhonemes``,
``espeak_Synth`` with a synth callback receiving ``espeakEVENT_PHONEME`` events).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from dataclasses import dataclass

import numpy as np

from ...errors import BackendError

__all__ = ["EspeakPhone", "EspeakAudio", "text_to_ipa", "synthesize_espeak", "sample_rate",
           "CHUNK_RATE_HZ"]

log = logging.getLogger(__name__)

_LOCK = threading.RLock()

#: Rate of the chunks of the ``espeak`` synthesizer: Kokoro's 24 kHz, so both backends' chunks join.
CHUNK_RATE_HZ = 24000

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PHONEMES_IPA = 0x02
_PHONEMES_TIE = 0x80


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class EspeakPhone:
    """One phoneme event of eSpeak NG: IPA ``symbol`` starting at ``start_s`` seconds."""

    symbol: str
    start_s: float


@dataclass
class EspeakAudio:
    """eSpeak NG output: ``samples`` (S,) float32 in [-1, 1] at ``sample_rate_hz``, phone events."""

    samples: np.ndarray
    sample_rate_hz: int
    phones: list[EspeakPhone]


class _State:
    def __init__(self, lib: ctypes.CDLL, rate: int) -> None:
        self.lib = lib
        self.rate = rate
        self.voice = ""
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []  # (sample index, ipa)
        self.n_samples = 0
        self.callback = _CALLBACK(self._on_audio)  # keep a reference: ctypes would free it

    def _on_audio(self, wav, numsamples, events) -> int:  # pragma: no cover - called from C
        i = 0
        while True:
            ev = events[i]
            if ev.type == _EVENT_LIST_TERMINATED:
                break
            if ev.type == _EVENT_PHONEME:
                raw = bytes(ev.id.string).split(b"\0", 1)[0]
                self.events.append((int(ev.audio_position), raw.decode("utf-8", "replace")))
            i += 1
        if numsamples > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
            self.n_samples += numsamples
        return 0


@functools.lru_cache(maxsize=1)
def _state() -> _State:
    """Load and initialize libespeak-ng once (raises BackendError if espeakng-loader is missing)."""
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendError(
            "espeak-ng is not available: install it with `pip install espeakng-loader`"
        ) from exc
    import os

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    data_parent = os.path.dirname(espeakng_loader.get_data_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.c_void_p, ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.restype = ctypes.c_int
    options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent.encode(), options)
    if rate <= 0:
        raise BackendError(f"espeak-ng failed to initialize (data in {data_parent}); reinstall espeakng-loader")
    state = _State(lib, rate)
    lib.espeak_SetSynthCallback(state.callback)
    return state


def _set_voice(state: _State, voice: str) -> None:
    if state.voice != voice:
        if state.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise BackendError(f"espeak-ng has no voice {voice!r}")
        state.voice = voice


def sample_rate() -> int:
    """Sampling rate of eSpeak NG's audio in Hz (22050 for the standard voices)."""
    return _state().rate


def text_to_ipa(text: str, voice: str = "en-us", tie: str = "^") -> str:
    """IPA phonemes of ``text`` with stress marks; multi-letter phonemes joined by ``tie``.

    Clauses are separated by a space; punctuation is dropped (split text at punctuation first to
    keep it). Returns ``""`` for text without pronounceable content.
    """
    with _LOCK:
        state = _state()
        _set_voice(state, voice)
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        mode = _PHONEMES_IPA | ((_PHONEMES_TIE | (ord(tie) << 8)) if tie else 0)
        out: list[str] = []
        while ptr.value:
            res = state.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, mode)
            if res:
                out.append(res.decode("utf-8", "replace").strip())
        return " ".join(p for p in out if p)


def synthesize_espeak(text: str, voice: str = "ar", speed: float = 1.0) -> EspeakAudio:
    """Synthesize ``text`` with eSpeak NG's ``voice`` and return audio plus phoneme events.

    ``speed`` scales the default 175 words per minute. Phone start times come from eSpeak's
    ``espeakEVENT_PHONEME`` events (``audio_position`` in ms).

    Raises:
        BackendError: espeak-ng cannot be loaded or the voice does not exist.
    """
    with _LOCK:
        state = _state()
        _set_voice(state, voice)
        state.lib.espeak_SetParameter(_PARAM_RATE, int(round(175 * float(speed))), 0)
        state.chunks, state.events, state.n_samples = [], [], 0
        data = text.encode("utf-8") + b"\0"
        rc = state.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if rc != 0:
            raise BackendError(f"espeak-ng synthesis failed (status {rc})")
        state.lib.espeak_Synchronize()
        pcm = np.concatenate(state.chunks) if state.chunks else np.zeros(0, np.int16)
        events = list(state.events)
        state.chunks, state.events = [], []
    samples = (pcm.astype(np.float32) / 32768.0).astype(np.float32)
    phones = [EspeakPhone(sym, ms / 1000.0) for ms, sym in events if sym]
    return EspeakAudio(samples, state.rate, phones)
