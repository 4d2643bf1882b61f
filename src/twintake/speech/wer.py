"""Word error rate: Levenshtein alignment of words (the intelligibility guard of the voice search
and the figure reported by the evaluation)."""

from __future__ import annotations

import re

__all__ = ["word_errors", "word_error_rate"]


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words) by Levenshtein alignment of
    lower-cased words with punctuation removed; sum both over a corpus for corpus WER."""
    r, h = _words(reference), _words(hypothesis)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words, by
    Levenshtein alignment of lower-cased words with punctuation removed (standard ASR WER,
    e.g. NIST sclite). 0 = perfect; may exceed 1. NaN for an empty reference."""
    errors, words = word_errors(reference, hypothesis)
    return errors / words if words else float("nan")
