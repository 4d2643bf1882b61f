"""Arabic text front end shared by the synthesizers: diacritization (text2tashkeel) and eSpeak NG
IPA phonemes."""

from __future__ import annotations

import functools
import logging

from .text import normalize_arabic

__all__ = ["diacritize", "arabic_phonemes"]

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _diacritizer():
    """text2tashkeel's default model (rawi-ensemble, Apache-2.0, ONNX inside the wheel)."""
    try:
        from text2tashkeel import Diacritizer
    except ImportError:
        return None
    return Diacritizer()


def diacritize(text: str) -> str:
    """Add Arabic vowel marks (tashkeel) with text2tashkeel; returns ``text`` unchanged (and
    logs a warning once) when the package is not installed."""
    d = _diacritizer()
    if d is None:
        log.warning("text2tashkeel is not installed (`pip install text2tashkeel==0.1.0`); "
                    "Arabic is spoken without vowel marks and sounds worse")
        return text
    try:
        return d(text)
    except Exception as exc:  # a model failure should not stop speech
        log.warning("diacritization failed (%s); speaking undiacritized text", exc)
        return text


def arabic_phonemes(text: str, vocalize: bool = True) -> str:
    """eSpeak NG IPA phonemes of Arabic ``text`` (diacritized first when ``vocalize``)."""
    from .espeak import text_to_ipa

    t = normalize_arabic(text)
    return text_to_ipa(diacritize(t) if vocalize else t, "ar")
