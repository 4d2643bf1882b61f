"""Text front end: script detection, mixed-script splitting, normalization, sentence splitting.

Everything here is pure Python (no model, no I/O). English normalization spells out numbers
(cardinals, ordinals, decimals, years, dates, phone numbers, ranges, money, percentages, times)
and common abbreviations so that the phonemizer sees words only; Arabic normalization maps
Arabic-Indic digits to Western digits (eSpeak NG's Arabic voice reads those as Arabic number
words) and drops tatweel.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "ScriptRun",
    "is_arabic_char",
    "has_arabic",
    "detect_language",
    "split_scripts",
    "number_to_words",
    "ordinal_to_words",
    "normalize_english",
    "normalize_arabic",
    "split_sentences",
    "chunk_text",
]

_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_ARABIC_INDIC = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")}
_ARABIC_INDIC.update({ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})
_ARABIC_PUNCT = {"،": ",", "؛": ";", "؟": "?", "٪": "%", "٫": ".", "٬": ","}


@dataclass(frozen=True)
class ScriptRun:
    """A run of text in one language: ``lang`` is ``"en"`` (Latin script) or ``"ar"``."""

    text: str
    lang: str


def is_arabic_char(ch: str) -> bool:
    """True for a character in one of the Unicode Arabic blocks (letters, marks, digits)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _ARABIC_RANGES)


def _is_arabic_letter(ch: str) -> bool:
    return is_arabic_char(ch) and unicodedata.category(ch).startswith("L")


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and not is_arabic_char(ch) and ord(ch) < 0x0250


def has_arabic(text: str) -> bool:
    """True when ``text`` contains at least one Arabic letter."""
    return any(_is_arabic_letter(c) for c in text)


def detect_language(text: str) -> str:
    """``"ar"`` when Arabic letters outnumber Latin ones, else ``"en"``."""
    n_ar = sum(_is_arabic_letter(c) for c in text)
    n_la = sum(_is_latin_letter(c) for c in text)
    return "ar" if n_ar > n_la else "en"


def split_scripts(text: str) -> list[ScriptRun]:
    """Split mixed text into runs of one script each (``"ar"`` for Arabic, ``"en"`` for Latin).

    Neutral characters (spaces, digits, punctuation) join the run before them; neutral text at
    the very start joins the first lettered run. Runs keep their spacing; empty runs are dropped.
    A text without letters gives one ``"en"`` run (or ``"ar"`` if it has Arabic-Indic digits).
    """
    runs: list[list[str]] = []  # [lang, text]
    pending = ""
    for ch in text:
        if _is_arabic_letter(ch) or unicodedata.category(ch) == "Mn" and is_arabic_char(ch):
            lang = "ar"
        elif _is_latin_letter(ch):
            lang = "en"
        else:
            if runs:
                runs[-1][1] += ch
            else:
                pending += ch
            continue
        if runs and runs[-1][0] == lang:
            runs[-1][1] += ch
        elif runs:
            # move trailing neutral characters of the previous run (spaces, opening brackets)
            # to this run only when they are spaces; punctuation stays with what it ends.
            prev = runs[-1][1]
            stripped = prev.rstrip()
            runs[-1][1] = stripped
            runs.append([lang, prev[len(stripped):] + ch])
        else:
            runs.append([lang, pending + ch])
            pending = ""
    if not runs:
        lang = "ar" if any(ord(c) in _ARABIC_INDIC for c in text) else "en"
        return [ScriptRun(text, lang)] if text.strip() else []
    return [ScriptRun(t, lang) for lang, t in runs if t.strip()]


# --------------------------------------------------------------------------- English numbers

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [
    (10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"),
]
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_thousand(n: int) -> str:
    words: list[str] = []
    if n >= 100:
        words.append(_ONES[n // 100] + " hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else ""))
    elif n > 0 or not words:
        words.append(_ONES[n])
    return " ".join(words)


def number_to_words(n: int) -> str:
    """English cardinal words of an integer: ``42 -> "forty-two"``, ``-3 -> "minus three"``.

    Integers of 10**15 and more are read digit by digit.
    """
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= 10**15:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n < 1000:
        return _below_thousand(n)
    parts: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            parts.append(_below_thousand(n // value) + " " + name)
            n %= value
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def ordinal_to_words(n: int) -> str:
    """English ordinal words: ``1 -> "first"``, ``22 -> "twenty-second"``, ``100 -> "one hundredth"``."""
    words = number_to_words(n)
    head, sep, last = max(words.rpartition(" "), words.rpartition("-"), key=lambda p: len(p[0]))
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return head + sep + last


def _year_to_words(n: int) -> str:
    if 2000 <= n <= 2009:
        return number_to_words(n)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return number_to_words(hi) + " hundred"
    if lo < 10:
        return number_to_words(hi) + " oh " + number_to_words(lo)
    return number_to_words(hi) + " " + number_to_words(lo)


def _decade(m: re.Match[str]) -> str:
    """``1990s`` -> "nineteen nineties", ``'80s`` / ``80s`` -> "eighties", ``2000s`` -> "two
    thousands" (the year's words with the last one made plural)."""
    n = int(m.group(1))
    words = (_year_to_words(n) if len(m.group(1)) == 4 else number_to_words(n)).split(" ")
    last = words[-1]
    words[-1] = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return " ".join(words)


def _digits(s: str) -> str:
    return " ".join(_ONES[int(d)] for d in s)


_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence")}
_ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "prof": "professor",
    "st": "saint", "jr": "junior", "sr": "senior", "vs": "versus", "etc": "et cetera",
    "approx": "approximately", "dept": "department", "co": "company", "inc": "incorporated",
    "ltd": "limited", "mt": "mount", "ft": "feet", "no": "number", "gov": "governor",
    "gen": "general", "capt": "captain", "lt": "lieutenant", "sgt": "sergeant", "ave": "avenue",
}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
# a whole number: thousands groups only as 1,234,567 (a comma before a space is punctuation)
_INT = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_SYMBOLS = {"&": " and ", "+": " plus ", "@": " at ", "=": " equals ", "#": " number ",
            "°": " degrees "}


def _date_words(year: int, month: int, day: int) -> str | None:
    """``"March twelfth, twenty twenty-five"``, or None when it is not a calendar date."""
    try:
        datetime.date(year, month, day)
    except ValueError:
        return None
    y = number_to_words(year) if year % 1000 == 0 or year < 1000 else _year_to_words(year)
    return f"{_MONTHS[month - 1]} {ordinal_to_words(day)}, {y}"


def _iso_date(m: re.Match[str]) -> str:
    words = _date_words(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return m.group(0) if words is None else words + (" at " if m.group(4) else "")


def _numeric_date(m: re.Match[str]) -> str:
    a, sep, b, year = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
    month, day = (b, a) if sep == "." else (a, b)  # d.m.y with dots, m/d/y otherwise
    if month > 12:
        month, day = day, month  # 25/12/2024, 12.25.2024: the other order is the only date
    words = _date_words(year, month, day)
    return m.group(0) if words is None else words


#: Words that make a bare ``555-1234`` a phone number (otherwise it is a range, read "to").
_PHONE_CUE = r"\b(?:call|calls|calling|phone|telephone|tel|fax|mobile|cell|ext|extension|dial|number|contact|text|whatsapp)\b\W*(?:\w+\W+){0,2}$|:\s*$"


def _phone(m: re.Match[str]) -> str:
    s = m.group(0)
    groups = re.findall(r"\d+", s)
    if sum(map(len, groups)) < 7:
        return s
    if len(groups) == 2 and not re.search(_PHONE_CUE, m.string[max(0, m.start() - 40):m.start()], re.IGNORECASE):
        return s  # 125-1350, 800-1066 AD: a range unless a phone word comes just before
    return ("plus " if s.startswith("+") else "") + ", ".join(_digits(g) for g in groups)


def _dates_and_phones(t: str) -> str:
    """Read dates and phone numbers before hyphens between digits become "to".

    Dates (read ``"March twelfth, twenty twenty-five"``), year always four digits:
    ISO ``2025-03-12`` (a following ``T10:30`` reads "at ten thirty"); ``3/12/2025`` and
    ``3-12-2025`` are month/day/year (US order), ``12.3.2025`` is day.month.year, and either is
    swapped when the month would be over 12 (``25/12/2024`` is December twenty-fifth). Impossible
    dates (``13/14/2025``, ``2025-02-30``) are left to the number rules.

    Phone numbers are read digit by digit, a comma between groups (``"five five five, one two
    three four"``): ``+`` and a country code followed by groups (``+1 (555) 123-4567``, ``+44 20
    7946 0958``, at least 7 digits), ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567`` (an
    optional ``1-`` before), and ``555-1234`` when a phone word comes just before it ("call",
    "phone", "tel", "fax", "mobile", "number", "contact"... or a colon: ``call 555-1234``,
    ``Tel: 555-1234``); without one it is a range (``125-1350 units``, ``800-1066 AD``), as is
    any other hyphen between numbers (``10-20``, ``1990-1995``, ``$5-10``: "to").
    """
    t = re.sub(r"(?<![\w/])(?<!\d[.-])(\d{4})-(\d{1,2})-(\d{1,2})"
               r"(?:(T)(?=\d{1,2}:\d{2})|(?![\w/]|[.-]\d))", _iso_date, t)
    t = re.sub(r"(?<![\w/])(?<!\d[.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?![\w/]|[.-]\d)",
               _numeric_date, t)
    t = re.sub(r"(?<![\w)])\+\d{1,3}(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,4}){2,6}(?![\w-]|\.\d)",
               _phone, t)
    t = re.sub(r"(?<![\w+(.$€£-])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\w-]|\.\d)",
               _phone, t)
    return re.sub(r"(?<![\w.+$€£-])\d{3}-\d{4}(?![\w-]|\.\d)", _phone, t)


def _money(match: re.Match[str]) -> str:
    sym, whole, frac, scale = match.group(1), match.group(2), match.group(3), match.group(4)
    one, many, sub_one, sub_many = _CURRENCY[sym]
    n = int(whole.replace(",", ""))
    if scale:
        amount = whole.replace(",", "") + (("." + frac) if frac else "")
        return f"{_number_text(amount)} {scale} {many}"
    out = f"{number_to_words(n)} {one if n == 1 else many}"
    if frac:
        cents = int((frac + "0")[:2])
        if cents:
            out += f" and {number_to_words(cents)} {sub_one if cents == 1 else sub_many}"
    return out


def _number_text(s: str) -> str:
    """Words of a decimal number string such as ``"1,234.5"`` (no sign)."""
    whole, _, frac = s.replace(",", "").partition(".")
    words = number_to_words(int(whole)) if whole else "zero"
    if frac:
        words += " point " + _digits(frac)
    return words


def _number(match: re.Match[str]) -> str:
    sign, s = match.group(1), match.group(2)
    if not sign and "," not in s and "." not in s and len(s) == 4 and 1100 <= int(s) <= 2099:
        return _year_to_words(int(s))
    if not sign and len(s) > 1 and s.startswith("0") and "." not in s:
        return _digits(s)  # codes like 007
    return ("minus " if sign else "") + _number_text(s)


def _is_saint(before: str, after: str) -> bool:
    """``St.`` is "Saint" before a capitalised word (``St. Louis``, ``in St. Paul's``) and
    "Street" otherwise (``Baker St.``, ``Baker St., London``, ``Main St. is closed``), and also
    after an address's house number and capitalised name (``221B Baker St. London``)."""
    if not re.match(r"\s+[A-Z]", after):
        return False
    return not re.search(r"(?:^|\s)\d\w*\s+(?:[A-Z][\w'-]*\s+)+$", before)


def normalize_english(text: str) -> str:
    """Spell out numbers, money, percentages, times, ordinals, symbols and abbreviations.

    ``"Dr. Smith paid $3.50 for 42 items on the 1st of May 1984."`` ->
    ``"doctor Smith paid three dollars and fifty cents for forty-two items on the first of May
    nineteen eighty-four."``. Whitespace is collapsed; sentence punctuation is kept.

    Dates and phone numbers: see :func:`_dates_and_phones`; any other hyphen between numbers is a
    range ("to"). Thousands separators are commas between groups of three digits (``10,000,000``);
    a comma followed by a space stays a pause (``£5, 10`` -> "five pounds, ten"). Letters glued to
    a number are split off (``221B`` -> "two hundred twenty-one B"), except a plural ``s``:
    decades are read as such (``1990s`` -> "nineteen nineties", ``'80s`` -> "eighties").
    ``St.`` is Saint or Street, see :func:`_is_saint`.
    """
    t = unicodedata.normalize("NFKC", text)
    t = t.translate(_ARABIC_INDIC)
    t = re.sub(r"[\u2018\u2019\u02bc]", "'", t)
    t = re.sub(r"[\u201c\u201d«»]", '"', t)
    t = t.replace("...", "…").replace("--", "—").replace("–", "—")
    # abbreviations with a period (keep sentence end when the period ends the text/sentence)
    def _abbr(m: re.Match[str]) -> str:
        word = m.group(1)
        full = _ABBREVIATIONS[word.lower()]
        if word.lower() == "no" and not re.match(r"\s*\d", t[m.end():m.end() + 3]):
            return m.group(0)
        if word.lower() == "st" and not _is_saint(t[:m.start()], t[m.end():]):
            full = "street"
        return full.capitalize() if word[0].isupper() and word.lower() in {"mr", "mrs", "ms", "dr", "prof", "st"} else full
    t = re.sub(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.(?=[\s,;:!?)]|$)", _abbr, t, flags=re.IGNORECASE)
    t = re.sub(r"\be\.g\.", "for example", t, flags=re.IGNORECASE)
    t = re.sub(r"\bi\.e\.", "that is", t, flags=re.IGNORECASE)
    t = _dates_and_phones(t)
    t = re.sub(r"(?<=\d)\s*-\s*(?=[$€£]?\d)", " to ", t)  # ranges 3-5, $5-10, 10:30-11:30
    # money with optional scale word: $3.5 million
    t = re.sub(r"([$€£])\s?(" + _INT + r")(?:\.(\d+))?(?:\s(thousand|million|billion|trillion))?", _money, t)
    t = re.sub(r"((?:" + _INT + r")(?:\.\d+)?)\s?%", lambda m: _number_text(m.group(1)) + " percent", t)
    t = re.sub(r"\b(\d{1,2}):(\d{2})\b", lambda m: number_to_words(int(m.group(1))) + " "
               + ("o'clock" if m.group(2) == "00" else ("oh " + number_to_words(int(m.group(2)))
                  if m.group(2).startswith("0") else number_to_words(int(m.group(2))))), t)
    t = re.sub(r"(?<![\w.,])'?(\d0|\d{3}0)s\b", _decade, t)  # decades: 1990s, '80s
    t = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_to_words(int(m.group(1))), t, flags=re.IGNORECASE)
    t = re.sub(r"\b(\d[\d,.]*\d|\d)(?!s\b)([A-Za-z]+)\b", r"\1 \2", t)  # 221B, 3D, 5km (1990s kept)
    t = re.sub(r"(?<![\w.])(-)?(" + _INT + r")(?:\.(\d+))?",
               lambda m: _number(_Fake(m.group(1), m.group(2) + ("." + m.group(3) if m.group(3) else ""))), t)
    for sym, word in _SYMBOLS.items():
        t = t.replace(sym, word)
    t = re.sub(r"[\[\]{}<>*_~^|\\/]", " ", t)
    return re.sub(r"\s+", " ", t).strip()


class _Fake:
    """Tiny stand-in for re.Match used to feed ``_number`` (sign, digits)."""

    def __init__(self, sign: str | None, digits: str) -> None:
        self._g = (None, sign, digits)

    def group(self, i: int):  # noqa: D401 - mimic re.Match
        return self._g[i]


def normalize_arabic(text: str) -> str:
    """Arabic-Indic digits -> Western digits, Arabic punctuation -> ASCII, tatweel removed."""
    t = unicodedata.normalize("NFKC", text).translate(_ARABIC_INDIC)
    t = t.replace("\u0640", "")
    for a, b in _ARABIC_PUNCT.items():
        t = t.replace(a, b)
    return re.sub(r"\s+", " ", t).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n|(?<=[؟])\s*")


def split_sentences(text: str) -> list[str]:
    """Split normalized text at sentence ends (``. ! ? … ؟`` followed by space, or blank lines)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p and re.search(r"\w", p)]


def chunk_text(text: str, max_chars: int = 300) -> Iterator[str]:
    """Yield sentence-sized chunks of at most ``max_chars`` characters.

    Sentences longer than ``max_chars`` are cut at clause punctuation (``, ; : —``), then at
    spaces. Used so each Kokoro call stays well below its 510-token limit and fast.
    """
    for sentence in split_sentences(text):
        if len(sentence) <= max_chars:
            yield sentence
            continue
        pieces = re.split(r"(?<=[,;:—،])\s+", sentence)
        cur = ""
        for piece in pieces:
            while len(piece) > max_chars:
                cut = piece.rfind(" ", 0, max_chars)
                cut = cut if cut > 0 else max_chars
                if cur:
                    yield cur
                    cur = ""
                yield piece[:cut].strip()
                piece = piece[cut:].strip()
            if cur and len(cur) + 1 + len(piece) > max_chars:
                yield cur
                cur = piece
            else:
                cur = f"{cur} {piece}".strip()
        if cur:
            yield cur
