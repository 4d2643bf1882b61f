"""Grapheme-to-phoneme for Kokoro (English via eSpeak NG IPA) and IPA -> ARPAbet phone symbols.

English: eSpeak NG (``en-us``) gives IPA with stress marks; it is rewritten into the symbol set
Kokoro-82M was trained on (misaki's: diphthongs as one letter ``A I O W Y``, affricates ``ʤ ʧ``,
``ᵊ`` for syllabic consonants), following the espeak -> misaki table of hexgrad/misaki
``misaki/espeak.py`` (Apache-2.0). Punctuation is kept so Kokoro phrases and pauses.

ARPAbet: every phone symbol is mapped to one of the 39 CMUdict ARPAbet phones (no stress) or
``"SIL"``, the keys of the viseme table used by the motion stage.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "ARPABET",
    "english_to_kokoro",
    "espeak_ipa_to_kokoro",
    "kokoro_symbol_to_arpabet",
    "arabic_ipa_to_arpabet",
    "arabic_ipa_to_kokoro",
    "arabic_to_kokoro",
    "arabic_kokoro_symbol_to_arpabet",
    "AR_TO_KOKORO",
]

#: The 39 ARPAbet phones of CMUdict (stress removed) plus ``"SIL"``.
ARPABET = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH SIL".split()
)

# espeak IPA (tie '^') -> misaki/Kokoro symbols; longest first.
_E2M = sorted(
    {
        "ʔˌn\u0329": "tᵊn", "ʔn\u0329": "tᵊn", "ʔn": "tᵊn", "ʔ": "t",
        "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A", "t^ʃ": "ʧ", "ɔ^ɪ": "Y",
        "ə^l": "ᵊl", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚ": "əɹ", "r": "ɹ", "x": "k", "ç": "k",
        "ɐ": "ə", "ɬ": "l", "\u0303": "",
    }.items(),
    key=lambda kv: -len(kv[0]),
)

_PUNCT_SPLIT = re.compile(r"([,.!?;:—…\"()“”])")


def espeak_ipa_to_kokoro(ipa: str) -> str:
    """Rewrite American-English eSpeak IPA (tie ``^``) into Kokoro's phoneme symbols."""
    ps = ipa
    for old, new in _E2M:
        ps = ps.replace(old, new)
    ps = re.sub(r"(\S)\u0329", r"ᵊ\1", ps).replace("\u0329", "")
    ps = ps.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə")
    ps = ps.replace("ː", "").replace("o", "ɔ")
    return ps.replace("^", "").replace("-", "")


def _phonemize_runs(text: str, punct: re.Pattern, voice: str, to_kokoro: Callable[[str], str],
                    vocab: dict[str, int] | None) -> str:
    """eSpeak NG IPA of each run of ``text`` between punctuation marks (``punct``, one capturing
    group), rewritten by ``to_kokoro``; the marks are kept (Kokoro phrases and pauses at them),
    symbols not in ``vocab`` (when given) dropped. Raises BackendError when eSpeak NG cannot be
    loaded."""
    from .espeak import text_to_ipa

    out: list[str] = []
    for piece in punct.split(text):
        if not piece:
            continue
        if punct.fullmatch(piece):
            if out and out[-1].endswith(" "):
                out[-1] = out[-1].rstrip()
            out.append(piece + " ")
            continue
        if not re.search(r"\w", piece):
            continue
        ps = to_kokoro(text_to_ipa(piece, voice))
        if ps:
            out.append(ps + " ")
    result = re.sub(r"\s+", " ", "".join(out)).strip()
    if vocab is not None:
        result = "".join(c for c in result if c in vocab)
    return result


def english_to_kokoro(text: str, vocab: dict[str, int] | None = None) -> str:
    """Phonemes of normalized English ``text`` in Kokoro's symbols, punctuation kept.

    ``"Hello, world."`` -> ``"həlˈO, wˈɜɹld."``. Symbols not in ``vocab`` (when given) are dropped.
    Raises BackendError when eSpeak NG cannot be loaded.
    """
    return _phonemize_runs(text, _PUNCT_SPLIT, "en-us", espeak_ipa_to_kokoro, vocab)


# Kokoro (misaki) symbol -> ARPAbet. None = no phone of its own (stress, space, length).
_KOKORO_ARPA: dict[str, str | None] = {
    "A": "EY", "I": "AY", "O": "OW", "W": "AW", "Y": "OY", "Q": "OW",
    "a": "AA", "ɑ": "AA", "ɒ": "AA", "æ": "AE", "ɐ": "AH", "ə": "AH", "ᵊ": "AH", "ʌ": "AH",
    "ɔ": "AO", "ɛ": "EH", "e": "EY", "ɜ": "ER", "ɚ": "ER", "i": "IY", "ɪ": "IH", "ᵻ": "IH",
    "ɨ": "IH", "u": "UW", "ʊ": "UH", "o": "OW", "y": "UW", "ø": "UW", "œ": "EH", "ɯ": "UW",
    "ɤ": "AH",
    "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "ʤ": "JH",
    "j": "Y", "k": "K", "l": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R",
    "ɾ": "D", "s": "S", "ʃ": "SH", "t": "T", "θ": "TH", "ʧ": "CH", "v": "V", "w": "W",
    "z": "Z", "ʒ": "ZH", "ʔ": "T", "x": "K", "ç": "HH", "ɣ": "G", "β": "B", "ɸ": "F",
    "c": "K", "q": "K", "ɲ": "N", "ɳ": "N", "ɴ": "N", "ʎ": "L", "ɻ": "R", "ʁ": "R", "ɽ": "D",
    "ʂ": "SH", "ɕ": "SH", "ʝ": "Y", "ɥ": "W", "ʋ": "V", "ɰ": "W", "χ": "HH", "ɖ": "D",
    "ʈ": "T", "ɟ": "JH", "ʣ": "Z", "ʥ": "JH", "ʦ": "S", "ʨ": "CH", "T": "T", "S": "S",
}
_SILENT_PUNCT = set(",.!?;:—…\"()“”")


def kokoro_symbol_to_arpabet(symbol: str) -> str | None:
    """ARPAbet phone of one Kokoro token symbol; ``"SIL"`` for punctuation; None for stress,
    length marks and spaces (their time goes to a neighbouring phone)."""
    if symbol in _SILENT_PUNCT:
        return "SIL"
    return _KOKORO_ARPA.get(symbol)


# Arabic eSpeak IPA -> ARPAbet (rough visual classes are what matter for visemes).
_AR_ARPA: dict[str, str] = {
    "a": "AA", "aː": "AA", "ɑ": "AA", "ɑː": "AA", "æ": "AE", "i": "IY", "iː": "IY", "ɪ": "IH",
    "u": "UW", "uː": "UW", "ʊ": "UH", "e": "EH", "eː": "EY", "o": "OW", "oː": "OW", "ə": "AH",
    "b": "B", "m": "M", "f": "F", "v": "V", "w": "W", "j": "Y", "t": "T", "tˤ": "T", "d": "D",
    "dˤ": "D", "s": "S", "sˤ": "S", "z": "Z", "ðˤ": "DH", "zˤ": "Z", "θ": "TH", "ð": "DH",
    "ʃ": "SH", "ʒ": "ZH", "dʒ": "JH", "d^ʒ": "JH", "ʤ": "JH", "k": "K", "q": "K", "g": "G",
    "ɡ": "G", "x": "HH", "ɣ": "G", "ħ": "HH", "h": "HH", "ʕ": "HH", "ʔ": "HH", "l": "L",
    "ɫ": "L", "r": "R", "ɾ": "R", "n": "N", "ŋ": "NG", "p": "P", "tʃ": "CH", "ʧ": "CH",
}


def arabic_ipa_to_arpabet(ipa: str) -> str | None:
    """ARPAbet phone for one eSpeak Arabic phoneme (IPA, maybe with stress / length / tie
    marks); ``"SIL"`` for eSpeak's pause ``_``; None when nothing maps."""
    s = ipa.replace("ˈ", "").replace("ˌ", "").replace("^", "").strip()
    if not s or s.startswith("_"):
        return "SIL" if s.startswith("_") else None
    if s in _AR_ARPA:
        return _AR_ARPA[s]
    s2 = s.replace("ː", "").replace("ˤ", "").replace("ˠ", "")
    if s2 in _AR_ARPA:
        return _AR_ARPA[s2]
    if s2 and s2[0] in _AR_ARPA:
        return _AR_ARPA[s2[0]]
    return _KOKORO_ARPA.get(s2[:1])


# ------------------------------------------------------------------ Arabic -> Kokoro

#: Arabic consonants Kokoro-82M has no token for (or never saw in training), eSpeak IPA -> the
#: nearest vocabulary symbol. Emphasis (``ˤ``, eSpeak's dental mark ``̪`` on ص ط, the ``.``
#: after a velarized vowel) is not a token: it backs the next /a/ to ``ɑ`` instead.
AR_TO_KOKORO: dict[str, str] = {
    "ħ": "h",   # voiceless pharyngeal fricative -> glottal fricative
    "ʕ": "ʔ",   # voiced pharyngeal -> glottal stop (Kokoro's ʔ is trained: Japanese sokuon)
    "χ": "x",   # uvular fricative -> velar (Spanish jota, trained)
    "q": "q",   # in the vocabulary (eSpeak Hindi/Urdu क़); kept
    "ɫ": "l", "g": "ɡ", "ʒ": "ʒ", "ɾ": "ɾ", "r": "ɾ",
}
_AR_VOWELS = "aɑiuɪʊeoəæ"
_AR_EMPH = re.compile(r"([^\sˈˌː])[\u032aˤˠ]+")
_AR_PUNCT = re.compile(r"([,.!?;:—…\"()“”])")


def arabic_ipa_to_kokoro(ipa: str, vocab: dict[str, int] | None = None) -> str:
    """Rewrite eSpeak NG Arabic IPA (``ar`` voice, tie ``^`` or none) into Kokoro-82M tokens.

    Rules (nearest trained symbols; Kokoro's vocabulary has no pharyngeals, no ``ˤ``):
    ``ħ -> h``, ``ʕ -> ʔ``, ``χ -> x``, ``r -> ɾ``, ``dʒ -> ʤ``; an emphatic consonant
    (``sˤ``, ``s̪``, ``dˤ``...) loses its mark and, like the uvulars and pharyngeals
    ``q χ ɣ ħ ʕ``, backs the next /a/ (consonants and stress marks may come between) to ``ɑ``; eSpeak's velarized vowel ``a.`` -> ``ɑ``; a geminate
    (``Cː`` or ``CCC`` from eSpeak's sun-letter assimilation) becomes a doubled consonant ``CC``;
    long vowels keep ``ː``; diphthongs ``ai au`` -> ``aj aw``; stress marks and spaces are
    kept. ``"mˈarħabˌan"`` -> ``"mˈaɾhɑbˌan"``. Symbols not in ``vocab`` (when given) are dropped.
    """
    s = ipa.replace("^", "").replace("dʒ", "ʤ").replace("tʃ", "ʧ")
    # emphatics: strip the mark, back the next a (possibly behind a doubled copy / stress / length)
    s = _AR_EMPH.sub(lambda m: m.group(1) + "\u0001", s)
    s = re.sub(r"([qχɣħʕ])", "\\1\u0001", s)  # uvulars and pharyngeals colour /a/ too
    s = re.sub(f"\u0001([^\\s{_AR_VOWELS}]*?)a", lambda m: m.group(1).replace("\u0001", "") + "ɑ", s)
    s = s.replace("\u0001", "")
    s = re.sub(r"a\.", "ɑ", s).replace(".", "")
    s = "".join(AR_TO_KOKORO.get(c, c) for c in s)
    # geminates: Cː -> CC, runs of 3+ identical consonants -> 2
    s = re.sub(rf"([^\s{_AR_VOWELS}ˈˌː])ː", r"\1\1", s)
    s = re.sub(rf"([^\s{_AR_VOWELS}ˈˌː])\1+", r"\1\1", s)
    s = re.sub(r"([aɑ])i(?![ː" + _AR_VOWELS + "])", r"\1j", s)
    s = re.sub(r"([aɑ])u(?![ː" + _AR_VOWELS + "])", r"\1w", s)
    s = re.sub(r"\s+", " ", s).strip()
    if vocab is not None:
        s = "".join(c for c in s if c in vocab)
    return s


def arabic_to_kokoro(text: str, vocab: dict[str, int] | None = None) -> str:
    """Kokoro phonemes of (diacritized, normalized) Arabic ``text``, punctuation kept so Kokoro
    phrases and pauses. Phonemes come from eSpeak NG's ``ar`` voice
    (:func:`~twintake.speech.tts.espeak.text_to_ipa`), rewritten by :func:`arabic_ipa_to_kokoro`.
    Raises BackendError when eSpeak NG cannot be loaded."""
    return _phonemize_runs(text, _AR_PUNCT, "ar", arabic_ipa_to_kokoro, vocab)


_AR_KOKORO_ARPA = {"ʔ": "HH", "h": "HH", "x": "HH", "ɾ": "R", "q": "K", "ɑ": "AA", "a": "AA"}


def arabic_kokoro_symbol_to_arpabet(symbol: str) -> str | None:
    """ARPAbet phone of a Kokoro token in Arabic speech: like
    :func:`kokoro_symbol_to_arpabet`, except the classes the eSpeak Arabic path uses
    (``ʔ h x -> HH``, ``ɾ -> R``, ``q -> K``, ``a ɑ -> AA``)."""
    if symbol in _AR_KOKORO_ARPA:
        return _AR_KOKORO_ARPA[symbol]
    return kokoro_symbol_to_arpabet(symbol)
