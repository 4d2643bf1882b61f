"""Phoneme recognition and forced alignment with PocketSphinx 5 (CPU, offline).

Recognition uses PocketSphinx's *allphone* search (phone-loop decoding constrained by the
bundled English phone trigram model ``en-us-phone.lm.bin``) with the bundled ``en-us``
continuous-density acoustic model; see Huggins-Daines et al., "PocketSphinx: A free,
real-time continuous speech recognition system for hand-held devices", ICASSP 2006, and the
CMU Sphinx "Phoneme recognition" tutorial (cmusphinx.github.io/wiki/phonemerecognition).

Alignment (:func:`align_phones`) uses PocketSphinx 5's word-alignment search
(``Decoder.set_align_text``) with one pseudo-word per phone, so the word segmentation *is* the
phone segmentation; optional silences are allowed between phones.

Phones are ARPAbet (the 39 CMUdict phones, upper case, no stress digits) or ``"SIL"``. Non-English
speech is decoded with the same English phone set (closest English phones), which is what the
viseme mapping needs.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Sequence

import numpy as np

from twintake.errors import SpeechError
from twintake.types import Phone

from .analysis import _mono, frame_levels_db

__all__ = ["ARPABET_PHONES", "recognize_phones", "align_phones", "normalize_symbol"]

#: The 39 CMUdict / ARPAbet phones (stress removed).
ARPABET_PHONES: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
    "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
    "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH",
)
_ARPABET = frozenset(ARPABET_PHONES)

SAMPLE_RATE_HZ = 16000  # the en-us acoustic model's rate
_FRAMES_PER_S = 100  # PocketSphinx frame rate (10 ms shift)

# Utterance segmentation for long audio.
_MAX_UTT_S = 25.0  # longest utterance handed to the decoder
_MIN_UTT_S = 12.0  # don't cut before this when splitting a long stretch
_SILENT_DB = -60.0  # 10 ms frames below this are treated as silence (not decoded)
_MIN_SILENT_RUN_S = 0.30  # silent runs at least this long split utterances
_PAD_S = 0.10  # silence kept around each decoded stretch
_EDGE_PAD_S = 0.20  # faint noise added around each decoded stretch (removed from the times)
# Sanity check of the fast triphone search: a non-silence phone this long means the beam
# lost the path (seen on some radio recordings); the utterance is re-decoded.
_MAX_PHONE_S = 0.60

# Decoder settings (see recognize_phones' docstring for why).
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


_STRESS = re.compile(r"[0-9]+$")


def normalize_symbol(symbol: str) -> str:
    """Map a recognizer / dictionary symbol to ARPAbet without stress, or ``"SIL"``.

    ``"AH0"`` -> ``"AH"``; ``"sil"``, ``"+NSN+"``, ``"+SPN+"``, ``"<s>"``, ``"</s>"``,
    ``"<sil>"``, ``"(NULL)"`` and anything not in :data:`ARPABET_PHONES` -> ``"SIL"``.
    """
    s = _STRESS.sub("", symbol.strip().upper())
    if s.startswith("TT_"):
        s = s[3:]
    return s if s in _ARPABET else "SIL"


def _to_16k(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Validate, then resample to 16 kHz float64 (polyphase, scipy.signal.resample_poly)."""
    x = _mono(samples, sample_rate_hz)
    sr = int(sample_rate_hz)
    if sr != SAMPLE_RATE_HZ and x.size:
        from .analysis import resample

        x = resample(x, sr, SAMPLE_RATE_HZ).astype(np.float64)
    return x


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
    levels = frame_levels_db(x, SAMPLE_RATE_HZ, hop_s=0.01, win_s=0.01)
    n = levels.size
    loud = levels > _SILENT_DB
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


def _silent_spans(x: np.ndarray) -> list[tuple[float, float]]:
    """Spans (seconds) where 10 ms levels stay below -60 dBFS for at least 50 ms."""
    levels = frame_levels_db(x, SAMPLE_RATE_HZ, hop_s=0.01, win_s=0.01)
    quiet = np.concatenate([[False], levels <= _SILENT_DB, [False]])
    d = np.diff(quiet.astype(np.int8))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(a / _FRAMES_PER_S, b / _FRAMES_PER_S) for a, b in zip(starts, ends) if b - a >= 5]


def _carve(
    raw: list[tuple[str, float, float]], spans: list[tuple[float, float]]
) -> list[tuple[str, float, float]]:
    """Remove the silent ``spans`` from the recognized phones (they become SIL gaps)."""
    if not spans:
        return raw
    out: list[tuple[str, float, float]] = []
    for w, s, e in raw:
        pieces = [(s, e)]
        for a, b in spans:
            if b <= s or a >= e:
                continue
            nxt = []
            for ps_, pe in pieces:
                if ps_ < a:
                    nxt.append((ps_, min(pe, a)))
                if pe > b:
                    nxt.append((max(ps_, b), pe))
            pieces = nxt
        out.extend((w, ps_, pe) for ps_, pe in pieces if pe - ps_ >= 0.01)
    return out


def _finalize(raw: list[tuple[str, float, float]], duration_s: float) -> list[Phone]:
    """Clip, sort, make non-overlapping, fill gaps with SIL, merge adjacent SIL."""
    raw = sorted(((normalize_symbol(w), max(0.0, s), min(duration_s, e)) for w, s, e in raw),
                 key=lambda r: (r[1], r[2]))
    out: list[list] = []
    t = 0.0
    for sym, s, e in raw:
        s = max(s, t)
        if e <= s + 1e-9:
            continue
        if s > t + 1e-9:
            out.append(["SIL", t, s])
        out.append([sym, s, e])
        t = e
    if duration_s > t + 1e-9 or not out:
        out.append(["SIL", t, duration_s])
    merged: list[list] = []
    for item in out:
        if merged and item[0] == "SIL" and merged[-1][0] == "SIL":
            merged[-1][2] = item[2]
        else:
            merged.append(item)
    return [Phone(sym, float(round(s, 6)), float(round(e, 6))) for sym, s, e in merged]


def recognize_phones(
    samples: np.ndarray, sample_rate_hz: int = 16000, *, mode: str = "accurate"
) -> list[Phone]:
    """Recognize the phone sequence and timings of speech (any language, English phone set).

    Method: PocketSphinx 5 allphone search (Huggins-Daines et al., ICASSP 2006) with the bundled
    ``en-us`` acoustic model and ``en-us-phone.lm.bin`` phone trigram. Audio is resampled to
    16 kHz (``scipy.signal.resample_poly``), split into utterances of at most 25 s at silent or
    quiet points (each decoded with whole-utterance cepstral mean normalization), and the
    segment frames (100 per second) are offset back to file time. Silent stretches (below
    -60 dBFS for 0.3 s or more) are not decoded, and any stretch below -60 dBFS for 50 ms or
    more is ``"SIL"`` whatever the decoder said.

    Decoder parameters: language weight ``lw=1.0`` (the PocketSphinx default of 6.5 is tuned
    for word LMs; on 4 LJSpeech clips with CMUdict references, lw 1-2 gave the lowest phone
    error rate, lw 1 found the most P/B/M, and lw >= 3 dropped bilabials).
    ``mode="accurate"`` decodes with context-dependent triphones (``allphone_ci=False``) and
    beams ``beam=pbeam=1e-9``, ``wbeam=1e-8``: phone error rate 0.38 vs 0.45
    context-independent, and about 1.7x more P/B/M found, at RTF ~0.25-0.4 (the default 1e-48
    beams cost RTF ~2 for no gain). If that narrow beam loses the path (a non-silence "phone"
    over 0.6 s), the utterance is re-decoded with ``mode="fast"``
    (context-independent phones, default beams, RTF ~0.05).

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples`` in hertz.
        mode: ``"accurate"`` (default) or ``"fast"``.

    Returns:
        Phones sorted by time, non-overlapping, covering exactly ``[0, S / sample_rate_hz]``
        (gaps filled with ``"SIL"``; adjacent silences merged). Symbols are ARPAbet without
        stress or ``"SIL"`` (noise / spoken-noise / filler units map to ``"SIL"``).

    Raises:
        SpeechError: invalid samples (not mono float, not finite), unknown mode, or a decoder
            failure.
    """
    if mode not in _MODES:
        raise SpeechError(f"unknown phone recognition mode {mode!r}; use 'accurate' or 'fast'")
    x = _to_16k(samples, sample_rate_hz)
    duration_s = _mono(samples, sample_rate_hz).size / float(sample_rate_hz)
    raw: list[tuple[str, float, float]] = []
    for s, e in _utterances(x):
        pcm = _pcm16(x[s:e], _EDGE_PAD_S)
        segs = _decode(mode, pcm)
        if mode != "fast" and _lost_path(segs):
            segs = _decode("fast", pcm)
        off = s / float(SAMPLE_RATE_HZ) - _EDGE_PAD_S
        raw.extend((w, off + a / _FRAMES_PER_S, off + b / _FRAMES_PER_S) for w, a, b in segs)
    return _finalize(_carve(raw, _silent_spans(x)), duration_s)


def align_phones(
    samples: np.ndarray, sample_rate_hz: int, phonemes: Sequence[str]
) -> list[Phone]:
    """Force-align a known ARPAbet phone sequence to speech.

    Method: PocketSphinx 5 word alignment (``Decoder.set_align_text``) over a dictionary with one
    pseudo-word per phone, so the aligned word segments are the phone segments; optional
    silence is allowed between any two phones and at both ends. The whole file is aligned as one
    utterance (Viterbi over the linear phone HMM; memory grows with duration, fine for minutes).

    Args:
        samples: shape (S,), float, mono in [-1, 1].
        sample_rate_hz: sampling rate of ``samples``.
        phonemes: ARPAbet phones in spoken order; case and stress digits are ignored and
            ``"SIL"`` / ``"SP"`` entries are dropped (pauses are found by the aligner).

    Returns:
        Phones as in :func:`recognize_phones`: sorted, non-overlapping, covering the duration,
        with the given phones in order and ``"SIL"`` where pauses were found.

    Raises:
        SpeechError: empty or unknown phones, silent or too short audio, or no alignment found
            (the phones do not fit the audio).
    """
    wanted: list[str] = []
    for p in phonemes:
        q = _STRESS.sub("", str(p).strip().upper())
        if q in ("SIL", "SP", "SPN", ""):
            continue
        if q not in _ARPABET:
            raise SpeechError(f"cannot align unknown phone {p!r}; use the 39 ARPAbet phones")
        wanted.append(q)
    if not wanted:
        raise SpeechError("nothing to align: the phone sequence is empty")
    x = _to_16k(samples, sample_rate_hz)
    duration_s = _mono(samples, sample_rate_hz).size / float(sample_rate_hz)
    if not _utterances(x):
        raise SpeechError("cannot align phones to silent audio")
    if len(wanted) * 3 > x.size // (SAMPLE_RATE_HZ // _FRAMES_PER_S):
        raise SpeechError(
            f"audio of {duration_s:.2f} s is too short for {len(wanted)} phones (30 ms each)"
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
    raw = [(w, a / _FRAMES_PER_S - _EDGE_PAD_S, b / _FRAMES_PER_S - _EDGE_PAD_S)
           for w, a, b in segs]
    return _finalize(raw, duration_s)
