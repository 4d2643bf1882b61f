"""Arabic diacritics: stripping and the diacritization error rates of Fadel et al. (2019).

``score(references, predictions)`` compares a diacritizer's output with hand-diacritized text
letter by letter: every Arabic letter carries a (possibly empty) set of marks (fatha, damma,
kasra, the three tanween, sukun, shadda); a letter is wrong when the sets differ. DER is the
share of wrong letters (letters without any mark in the reference count too, as in Fadel et
al.'s default), WER the share of words with at least one wrong letter. The ``*_no_ce`` variants
ignore the last letter of each word, i.e. the case ending (and a pause-form sukun).

Some models also rewrite the hamza seat (``ان`` -> ``إن`` / ``أن``): letters are matched after
folding hamza seats (أ إ آ ٱ -> ا, ئ ى -> ي, ؤ -> و), and a letter whose seat differs from the
reference counts as wrong (``إن`` vs ``أن`` is the same kasra/fatha decision). Sentences whose
folded letters still differ (a word added or dropped) are skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MARKS", "strip_diacritics", "letter_marks", "DiacritizationScore", "score"]

#: fathatan, dammatan, kasratan, fatha, damma, kasra, shadda, sukun
MARKS = frozenset(chr(c) for c in range(0x064B, 0x0653))
_IGNORED = {"\u0670", "\u0640"}          # dagger alif, tatweel: spelling, not a diacritic
_LETTER = re.compile("[\u0621-\u063A\u0641-\u064A\u0671]")
_FOLD = str.maketrans("أإآٱئىؤ", "ااااييو")


def strip_diacritics(text: str) -> str:
    """``text`` without tashkeel marks (and without dagger alif / tatweel)."""
    return "".join(ch for ch in text if ch not in MARKS and ch not in _IGNORED)


def letter_marks(word: str) -> list[tuple[str, frozenset[str]]]:
    """``[(letter, marks), ...]`` for the Arabic letters of ``word`` (other characters dropped)."""
    out: list[tuple[str, set[str]]] = []
    for ch in word:
        if ch in MARKS:
            if out:
                out[-1][1].add(ch)
        elif _LETTER.fullmatch(ch):
            out.append((ch, set()))
    return [(c, frozenset(m)) for c, m in out]


@dataclass(frozen=True)
class DiacritizationScore:
    """Error rates in [0, 1] over ``letters`` letters and ``words`` words (``skipped``: sentences
    whose letters the diacritizer changed, left out of the counts)."""

    der: float
    der_no_ce: float
    wer: float
    wer_no_ce: float
    letters: int
    words: int
    skipped: int = 0


def score(references: Iterable[str], predictions: Iterable[str]) -> DiacritizationScore:
    """DER / WER of ``predictions`` against diacritized ``references`` (same order)."""
    n_let = n_let_nce = bad = bad_nce = 0
    n_words = bad_w = bad_w_nce = skipped = 0
    for ref, hyp in zip(references, predictions, strict=True):
        ref_words = [w for w in (letter_marks(t) for t in ref.split()) if w]
        hyp_words = [w for w in (letter_marks(t) for t in hyp.split()) if w]
        def folded(words):
            return ["".join(c for c, _ in w).translate(_FOLD) for w in words]

        if folded(ref_words) != folded(hyp_words):
            skipped += 1
            continue
        for rw, hw in zip(ref_words, hyp_words):
            wrong = [r != h for r, h in zip(rw, hw)]
            n_words += 1
            n_let += len(wrong)
            n_let_nce += len(wrong) - 1
            bad += sum(wrong)
            bad_nce += sum(wrong[:-1])
            bad_w += any(wrong)
            bad_w_nce += any(wrong[:-1])
    return DiacritizationScore(
        der=bad / max(n_let, 1), der_no_ce=bad_nce / max(n_let_nce, 1),
        wer=bad_w / max(n_words, 1), wer_no_ce=bad_w_nce / max(n_words, 1),
        letters=n_let, words=n_words, skipped=skipped,
    )
