"""The ``pocketsphinx`` phone recognizer: PocketSphinx 5 allphone search and forced alignment
(CPU, offline).

Recognition uses PocketSphinx's *allphone* search (phone-loop decoding constrained by the
bundled English phone trigram model ``en-us-phone.lm.bin``) with the bundled ``en-us``
continuous-density acoustic model; see Huggins-Daines et al., "PocketSphinx: A free,
real-time continuous speech recognition system for hand-held devices", ICASSP 2006, and the
CMU Sphinx "Phoneme recognition" tutorial (cmusphinx.github.io/wiki/phonemerecognition).

Alignment (:meth:`PocketSphinxRecognizer.align`) uses PocketSphinx 5's word-alignment search
(``Decoder.set_align_text``) with one pseudo-word per phone, so the word segmentation *is* the
phone segmentation; optional silences are allowed between phones.

PocketSphinx is imported when the first decoder is built, not when this module is imported.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np

from twintake.errors import SpeechError
from twintake.types import Phone

from .base import ARPABET_PHONES, SAMPLE_RATE_HZ, SILENT_DB, levels_db, normalize_symbol

__all__ = ["PocketSphinxRecognizer", "MODES"]

_FRAMES_PER_S = 100  # PocketSphinx frame rate (10 ms shift)

# Utterance segmentation for long audio.
_MAX_UTT_S = 25.0  # longest utterance handed to the decoder
_MIN_UTT_S = 12.0  # don't cut before this when splitting a long stretch
_MIN_SILENT_RUN_S = 0.30  # silent runs at least this long split utterances
_PAD_S = 0.10  # silence kept around each decoded stretch
_EDGE_PAD_S = 0.20  # faint noise added around each decoded stretch (removed from the times)
# Sanity check of the fast triphone search: a non-silence phone this long means the beam
# lost the path (seen on some radio recordings); the utterance is re-decoded.
_MAX_PHONE_S = 0.60

# Decoder settings (see PocketSphinxRecognizer.recognize for why).
# cmn="batch": cepstral mean normalization over each utterance alone, so results never depend on
# what the (cached) decoder heard before (the default "live" CMN carries over between calls).
_COMMON = dict(lw=1.0, loglevel="FATAL", cmn="batch")
_MODES = {
    # Context-dependent (triphone) phone loop, beams narrowed from the 1e-48 defaults:
    # phone error rate 0.38 on LJSpeech test clips vs 0.45 for "fast", RTF ~0.25-0.4. Beams of
    # 1e-9 instead of 1e-10 cost 21 % less CPU and change 1.0 % of the phones (4 shared talking
    # videos; 1e-8: 40 % less, 6.8 % changed).
    "accurate": dict(allphone_ci=False, beam=1e-9, pbeam=1e-9, wbeam=1e-8),
    # Context-independent phone loop (PocketSphinx default for allphone), RTF ~0.05.
    "fast": dict(allphone_ci=True),
}
#: Recognition modes of this backend.
MODES = tuple(_MODES)

_lock = threading.Lock()  # a PocketSphinx decoder is not thread-safe


@functools.lru_cache(maxsize=None)
def _allphone_decoder(mode: str):  # -> pocketsphinx.Decoder
    """Create (once per mode) an allphone decoder with the bundled en-us models."""
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise SpeechError(
            "phoneme recognition needs the 'pocketsphinx' package (pip install pocketsphinx)"
        ) from exc
    try:
        return pocketsphinx.Decoder(
            hmm=pocketsphinx.get_model_path("en-us/en-us"),
            allphone=pocketsphinx.get_model_path("en-us/en-us-phone.lm.bin"),
            **_COMMON,
            **_MODES[mode],
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise SpeechError(f"could not load the PocketSphinx English phone models: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _align_decoder():  # -> pocketsphinx.Decoder
    """Create (once) a decoder whose dictionary has one pseudo-word per ARPAbet phone."""
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover
        raise SpeechError(
            "phoneme alignment needs the 'pocketsphinx' package (pip install pocketsphinx)"
        ) from exc
    try:
        dec = pocketsphinx.Decoder(
            hmm=pocketsphinx.get_model_path("en-us/en-us"), lm=None, loglevel="FATAL"
        )
        for k, p in enumerate(ARPABET_PHONES):
            dec.add_word(_align_word(p), p, k == len(ARPABET_PHONES) - 1)
        return dec
    except (RuntimeError, ValueError, OSError) as exc:
        raise SpeechError(f"could not load the PocketSphinx English models: {exc}") from exc


def _align_word(phone: str) -> str:
    return "tt_" + phone.lower()


def _pcm16(x: np.ndarray, pad_s: float = 0.0) -> bytes:
    """16-bit PCM bytes of ``x``, optionally with ``pad_s`` of faint noise on both sides.

    The padding (deterministic noise at about -80 dBFS) gives the decoder silence to start and
    end in when speech touches the edges of the audio; otherwise the last phone can be lost.
    """
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype(np.int16)
    n = int(round(pad_s * SAMPLE_RATE_HZ))
    if n > 0:
        rng = np.random.default_rng(0)
        pad = lambda: rng.integers(-3, 4, n).astype(np.int16)  # noqa: E731
        pcm = np.concatenate([pad(), pcm, pad()])
    return pcm.astype("<i2").tobytes()


def _utterances(x: np.ndarray) -> list[tuple[int, int]]:
    """Split 16 kHz audio into decodable stretches ``(start, end)`` in samples.

    Stretches are the non-silent parts (10 ms levels above -60 dBFS, silent runs shorter than
    0.3 s bridged), padded by 0.1 s; stretches longer than 25 s are cut at the quietest
    0.1 s-smoothed point between 12 and 25 s from their start.
    """
    hop = SAMPLE_RATE_HZ // _FRAMES_PER_S
    levels = levels_db(x)
    n = levels.size
    loud = levels > SILENT_DB
    if not loud.any():
        return []
    # Bridge short silent runs.
    idx = np.flatnonzero(loud)
    spans: list[list[int]] = [[int(idx[0]), int(idx[0]) + 1]]
    min_run = int(round(_MIN_SILENT_RUN_S * _FRAMES_PER_S))
    for i in idx[1:]:
        if i - spans[-1][1] < min_run:
            spans[-1][1] = int(i) + 1
        else:
            spans.append([int(i), int(i) + 1])
    pad = int(round(_PAD_S * _FRAMES_PER_S))
    smooth = np.convolve(levels, np.ones(10) / 10.0, mode="same")
    out: list[tuple[int, int]] = []
    max_len = int(_MAX_UTT_S * _FRAMES_PER_S)
    min_len = int(_MIN_UTT_S * _FRAMES_PER_S)
    for s, e in spans:
        s, e = max(0, s - pad), min(n, e + pad)
        while e - s > max_len:
            lo, hi = s + min_len, s + max_len
            cut = lo + int(np.argmin(smooth[lo:hi]))
            out.append((s, cut))
            s = cut
        out.append((s, e))
    return [(s * hop, min(e * hop, x.size)) for s, e in out if e > s]


def _decode(mode: str, pcm: bytes) -> list[tuple[str, int, int]]:
    """Allphone-decode one utterance; returns (symbol, start_frame, end_frame_exclusive)."""
    dec = _allphone_decoder(mode)
    with _lock:
        try:
            # Reset the feature front end (cepstral mean, AGC): the decoder adapts it after every
            # utterance, which would make results depend on what was decoded before.
            dec.reinit_feat()
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            return [(seg.word, int(seg.start_frame), int(seg.end_frame) + 1) for seg in dec.seg()]
        except RuntimeError as exc:
            raise SpeechError(f"PocketSphinx phone decoding failed: {exc}") from exc


def _lost_path(segs: list[tuple[str, int, int]]) -> bool:
    limit = _MAX_PHONE_S * _FRAMES_PER_S
    return any(normalize_symbol(w) != "SIL" and e - s > limit for w, s, e in segs)


def _check_rate(sample_rate_hz: int) -> None:
    if int(sample_rate_hz) != SAMPLE_RATE_HZ:
        raise SpeechError(f"PocketSphinx decodes 16 kHz audio, got {sample_rate_hz} Hz: resample first "
                          "(twintake.speech.phones.recognize_phones does)")


class PocketSphinxRecognizer:
    """The ``pocketsphinx`` backend (a :class:`~twintake.speech.phones.base.PhoneRecognizer`
    and :class:`~twintake.speech.phones.base.PhoneAligner`).

    Decoders are built once per process and shared by all instances (they are not thread-safe:
    calls are serialized by a lock).
    """

    name = "pocketsphinx"

    def recognize(self, samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ,
                  mode: str = "accurate") -> list[Phone]:
        """Recognize phones with the allphone search.

        Audio is split into utterances of at most 25 s at silent or quiet points (each decoded
        with whole-utterance cepstral mean normalization, 0.2 s of faint noise on both sides);
        silent stretches (below -60 dBFS for 0.3 s or more) are not decoded. Segment frames (100
        per second) are offset back to the time of ``samples``.

        Decoder parameters: language weight ``lw=1.0`` (the PocketSphinx default of 6.5 is
        tuned for word LMs; on 4 LJSpeech clips with CMUdict references, lw 1-2 gave the lowest
        phone error rate, lw 1 found the most P/B/M, and lw >= 3 dropped bilabials).
        ``mode="accurate"`` decodes with context-dependent triphones (``allphone_ci=False``)
        and beams ``beam=pbeam=1e-9``, ``wbeam=1e-8``: phone error rate 0.38 vs 0.45
        context-independent, and about 1.7x more P/B/M found, at RTF ~0.25-0.4 (the default
        1e-48 beams cost RTF ~2 for no gain). If that narrow beam loses the path (a
        non-silence "phone" over 0.6 s), the utterance is re-decoded with ``mode="fast"``
        (context-independent phones, default beams, RTF ~0.05).

        Args:
            samples: (S,) float64 mono in [-1, 1] at 16 kHz.
            sample_rate_hz: must be 16000.
            mode: ``"accurate"`` or ``"fast"``.
        Returns:
            unclipped phones (ARPAbet or ``"SIL"``), in time order, times in seconds.
        Raises:
            SpeechError: unknown mode, a rate other than 16 kHz, or a decoder failure.
        """
        if mode not in _MODES:
            raise SpeechError(f"unknown phone recognition mode {mode!r}; use 'accurate' or 'fast'")
        _check_rate(sample_rate_hz)
        x = samples
        raw: list[Phone] = []
        for s, e in _utterances(x):
            pcm = _pcm16(x[s:e], _EDGE_PAD_S)
            segs = _decode(mode, pcm)
            if mode != "fast" and _lost_path(segs):
                segs = _decode("fast", pcm)
            off = s / float(SAMPLE_RATE_HZ) - _EDGE_PAD_S
            raw.extend(Phone(normalize_symbol(w), off + a / _FRAMES_PER_S, off + b / _FRAMES_PER_S)
                       for w, a, b in segs)
        return raw

    def align(self, samples: np.ndarray, sample_rate_hz: int, phonemes: Sequence[str]) -> list[Phone]:
        """Force-align ARPAbet ``phonemes`` (validated, no ``"SIL"``) to 16 kHz speech.

        The whole audio is aligned as one utterance (Viterbi over the linear phone HMM; memory
        grows with duration, fine for minutes), with 0.2 s of faint noise on both sides.

        Returns:
            unclipped phones in time order: the given ones, ``"SIL"`` where pauses were found.
        Raises:
            SpeechError: a rate other than 16 kHz, silent audio, audio shorter than 30 ms per
                phone, or no alignment found (the phones do not fit the audio).
        """
        _check_rate(sample_rate_hz)
        x = samples
        wanted = list(phonemes)
        if not _utterances(x):
            raise SpeechError("cannot align phones to silent audio")
        if len(wanted) * 3 > x.size // (SAMPLE_RATE_HZ // _FRAMES_PER_S):
            raise SpeechError(
                f"audio of {x.size / SAMPLE_RATE_HZ:.2f} s is too short for {len(wanted)} phones "
                "(30 ms each)"
            )
        dec = _align_decoder()
        with _lock:
            try:
                dec.set_align_text(" ".join(_align_word(p) for p in wanted))
                dec.start_utt()
                dec.process_raw(_pcm16(x, _EDGE_PAD_S), full_utt=True)
                dec.end_utt()
                segs = [(seg.word, int(seg.start_frame), int(seg.end_frame) + 1) for seg in dec.seg()]
            except RuntimeError as exc:
                raise SpeechError(
                    f"PocketSphinx could not align the phones to the audio: {exc}"
                ) from exc
        got = [normalize_symbol(w) for w, _, _ in segs if w.startswith("tt_")]
        if got != wanted:
            raise SpeechError(
                "PocketSphinx found no alignment of the phones to the audio "
                f"({len(got)} of {len(wanted)} phones placed); check that the phones match the speech"
            )
        return [Phone(normalize_symbol(w), a / _FRAMES_PER_S - _EDGE_PAD_S, b / _FRAMES_PER_S - _EDGE_PAD_S)
                for w, a, b in segs]
