"""Tests of the phoneme -> viseme table and the coarticulation reference."""

from __future__ import annotations

import numpy as np
import pytest

from twintake.motion.visemes import (
    NEUTRAL_VISEME,
    PHONE_TO_VISEME,
    VISEMES,
    VisemeTarget,
    coarticulate,
    dominance,
    viseme_of,
)
from twintake.speech.phones import ARPABET_PHONES
from twintake.types import Phone

VOWELS = ["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"]


def target(phone: str) -> VisemeTarget:
    return VISEMES[viseme_of(phone)]


def test_table_covers_all_39_phones_and_sil() -> None:
    assert len(ARPABET_PHONES) == 39
    assert set(PHONE_TO_VISEME) == set(ARPABET_PHONES) | {"SIL"}
    assert set(PHONE_TO_VISEME.values()) == set(VISEMES)  # every viseme used
    assert len(VISEMES) == 15  # MPEG-4 set
    for name, v in VISEMES.items():
        assert v.name == name
        assert 0.0 <= v.open <= 1.0 and 0.0 <= v.width <= 1.0
        assert v.alpha > 0 and v.theta > 0 and v.c > 0


def test_bilabials_close_and_dominate() -> None:
    for p in "PBM":
        v = target(p)
        assert v.closure and v.open == 0.0
    assert [p for p in PHONE_TO_VISEME if target(p).closure] == ["P", "B", "M"]
    lips = min(target("P").alpha, target("F").alpha)
    assert lips >= 5 * max(target(v).alpha for v in VOWELS)
    assert target("F").open < 0.15


def test_vowel_targets_follow_the_vowel_chart() -> None:
    assert target("AA").open > target("IY").open
    assert target("AA").open > target("EH").open > target("IH").open
    assert target("UW").width < target("IY").width
    assert target("OW").width < target("EH").width
    assert target("SIL").open == 0.0 and not target("SIL").closure


@pytest.mark.parametrize("sym", ["", "+NSN+", "XX", "sil", "<s>", "Q"])
def test_unknown_symbols_are_neutral(sym: str) -> None:
    assert viseme_of(sym) == NEUTRAL_VISEME
    assert viseme_of(None) == NEUTRAL_VISEME  # type: ignore[arg-type]


def test_case_and_stress_ignored() -> None:
    assert viseme_of("ah0") == viseme_of("AH") == "aa"
    assert viseme_of("Iy1") == "I"


def test_dominance_peaks_at_alpha_and_decays() -> None:
    v = VISEMES["aa"]
    d = dominance(v, np.array([0.0, 0.05, 0.1, -0.1]))
    assert d[0] == pytest.approx(v.alpha)
    assert d[0] > d[1] > d[2] and d[2] == pytest.approx(d[3])


def test_coarticulation_closes_lips_on_a_short_p_between_vowels() -> None:
    # "ah-p-ah" with a 30 ms /p/ that covers no 25 fps frame centre.
    phones = [
        Phone("SIL", 0.0, 0.3), Phone("AA", 0.3, 0.61), Phone("P", 0.61, 0.64),
        Phone("AA", 0.64, 0.9), Phone("IY", 0.9, 1.1), Phone("UW", 1.1, 1.3),
        Phone("SIL", 1.3, 2.0),
    ]
    open_, width, closure = coarticulate(phones, 25.0)
    assert open_.shape == width.shape == closure.shape == (50,)
    k = int(0.625 * 25)
    assert open_[k] == 0.0 and closure[k] == 1.0
    assert open_[int(0.45 * 25)] > 0.6  # open vowel before
    assert width[int(1.0 * 25)] > width[int(1.22 * 25)] + 0.3  # IY spread, UW rounded
    assert open_[-1] < 0.05  # long trailing pause relaxes to closed
    assert closure[: int(0.4 * 25)].max() < 0.1
