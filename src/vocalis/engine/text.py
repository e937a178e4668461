"""Text normalization: what the voice should say, written out in words.

Numbers, money, percentages, dates, times, ordinals and common abbreviations become words before
phonemization, so the voice reads "$3.50" as "three dollars and fifty cents" and billing counts
the characters actually spoken. English gets the full set of rules; other languages get their
numbers spelled by `num2words` where it knows the language, and clean whitespace everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from num2words import num2words

MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_ABBREVIATIONS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "sept": "September", "oct": "October",
    "nov": "November", "dec": "December",
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(MONTHS) + r")"

_ABBREVIATIONS = {
    "mr": "Mister", "mrs": "Missus", "ms": "Miz", "dr": "Doctor", "prof": "Professor",
    "jr": "Junior", "sr": "Senior", "st": "Saint", "mt": "Mount", "vs": "versus",
    "etc": "et cetera", "approx": "approximately", "dept": "department", "inc": "Incorporated",
    "ltd": "Limited", "co": "Company", "corp": "Corporation", "ave": "Avenue", "blvd": "Boulevard",
}  # fmt: skip
_LATIN = {"e.g.": "for example", "i.e.": "that is", "a.m.": "A M", "p.m.": "P M"}

_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_SCALES = {"k": "thousand", "m": "million", "bn": "billion", "b": "billion"}
_SCALE_WORDS = ("thousand", "million", "billion", "trillion")
_YEAR_CUES = r"(?:in|since|by|until|till|from|of|during|before|after|circa|year|around)"

_SPACE = re.compile(r"\s+")
# Every number pattern starts only where a run of digits starts, so each run is tried once and
# every rule stays linear in the text (a pattern free to start mid-run retries the rest of the
# run from each digit: quadratic on a long run).
_NUMBER = r"(?<!\d)(?<!\d,)(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
MAX_NUMBER_DIGITS = 15  # longer digit runs are read digit by digit, never converted to a number


def normalize(text: str, language: str = "en") -> str:
    """Return the words to speak for `text` in `language` (BCP-47 or Piper code, e.g. en_US)."""
    text = _clean(text)
    family = language.replace("-", "_").split("_")[0].lower()
    if family == "en":
        for rule in _ENGLISH_RULES:
            text = rule(text)
    else:
        text = _spell_numbers(text, lambda number: _cardinal(number, lang=family))
    return _SPACE.sub(" ", text).strip()


def character_count(text: str) -> int:
    """Characters as billing and limits count them: Unicode code points, spaces included."""
    return len(text)


def has_speech(normalized: str) -> bool:
    return any(ch.isalnum() for ch in normalized)


# --- shared steps -------------------------------------------------------------------------------


_UNSPEAKABLE = ("Cc", "Cf", "Cs", "Zl", "Zp")  # controls, format marks, lone surrogates, breaks


def _clean(text: str) -> str:
    text = "".join(" " if unicodedata.category(ch) in _UNSPEAKABLE else ch for ch in text)
    text = unicodedata.normalize("NFKC", text)
    text = text.translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0x2013: "-"})
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=4096)  # digit by digit, the same ten words are asked for over and over
def _words(number: Decimal | int, *, lang: str = "en", to: str = "cardinal") -> str:
    try:
        return num2words(number, lang=lang, to=to)
    except (NotImplementedError, OverflowError, KeyError):
        return str(number)


def _decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return Decimal(0)


def _too_long_for_words(raw: str) -> bool:
    """A whole part or fraction too long for number words (num2words would round a fraction)."""
    whole, _, fraction = raw.replace(",", "").partition(".")
    return max(len(whole), len(fraction)) > MAX_NUMBER_DIGITS


def _digits(digits: str, lang: str) -> str:
    return " ".join(_words(int(digit), lang=lang) for digit in digits)


def _digit_by_digit(raw: str, lang: str = "en") -> str:
    """A number too long to be said as one ("4 0 9 6 …"), read digit by digit — its whole part
    in words when that part alone is short enough, and every digit of its fraction."""
    whole, _, fraction = raw.replace(",", "").partition(".")
    spoken = (
        _digits(whole, lang) if len(whole) > MAX_NUMBER_DIGITS else _words(int(whole), lang=lang)
    )
    if fraction:
        point = _words(Decimal("0.1"), lang=lang).split()  # "zero point one": the point's word
        spoken += f" {point[1] if len(point) == 3 else '.'} {_digits(fraction, lang)}"
    return spoken


def _cardinal(raw: str, lang: str = "en") -> str:
    if _too_long_for_words(raw):
        return _digit_by_digit(raw, lang)
    value = _decimal(raw)
    return _words(value if "." in raw else int(value), lang=lang)


def _spell_numbers(text: str, speak: Callable[[str], str]) -> str:
    return re.sub(_NUMBER, lambda match: f" {speak(match.group(0))} ", text)


# --- English rules, applied in order ------------------------------------------------------------


def _latin(text: str) -> str:
    for short, long in _LATIN.items():
        text = re.sub(r"(?<!\w)" + re.escape(short), long, text, flags=re.IGNORECASE)
    return text


def _abbreviations(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        key, following = match.group(1).lower(), match.group(2)
        next_is_capital = following.strip()[:1].isupper()
        if key == "st" and not next_is_capital:
            return f"Street{following}"
        if key == "etc" and (next_is_capital or not following):
            return f"et cetera.{following}"  # it also ended the sentence
        return f"{_ABBREVIATIONS[key]}{following}"

    pattern = r"\b(" + "|".join(_ABBREVIATIONS) + r")\.(\s+\S|$)"
    text = re.sub(pattern, replace, text, flags=re.IGNORECASE)
    text = re.sub(r"\b[Nn]o\.\s*(?=\d)", "number ", text)
    months = "|".join(_MONTH_ABBREVIATIONS)
    return re.sub(
        rf"\b({months})\.(?=\s*\d)",
        lambda m: _MONTH_ABBREVIATIONS[m.group(1).lower()],
        text,
        flags=re.IGNORECASE,
    )


def _currency(text: str) -> str:
    symbols = "".join(re.escape(symbol) for symbol in _CURRENCIES)
    scale = r"(?:\s?(?P<scale>thousand|million|billion|trillion|bn|[kmb])\b)?"
    pattern = rf"(?P<sign>-)?(?P<symbol>[{symbols}])\s?(?P<amount>{_NUMBER}){scale}"

    def replace(match: re.Match[str]) -> str:
        one, many, cent, cents = _CURRENCIES[match.group("symbol")]
        amount = _decimal(match.group("amount"))
        minus = "minus " if match.group("sign") else ""
        scale_word = match.group("scale")
        if _too_long_for_words(match.group("amount")):
            return f"{minus}{_digit_by_digit(match.group('amount'))} {many}"
        if scale_word:
            scale_word = _SCALES.get(scale_word.lower(), scale_word.lower())
            return f"{minus}{_cardinal(match.group('amount'))} {scale_word} {many}"
        units = int(amount)
        hundredths = int((amount - units) * 100)
        parts = []
        if units or not hundredths:
            parts.append(f"{_words(units)} {one if units == 1 else many}")
        if hundredths:
            parts.append(f"{_words(hundredths)} {cent if hundredths == 1 else cents}")
        return minus + " and ".join(parts)

    return re.sub(pattern, replace, text)


def _percent(text: str) -> str:
    return re.sub(
        rf"(?P<amount>{_NUMBER})\s?%", lambda m: f"{_cardinal(m.group('amount'))} percent", text
    )


def _year(value: int) -> str:
    return _words(value, to="year")


def _ordinal(value: int) -> str:
    return _words(value, to="ordinal")


def _dates(text: str) -> str:
    def iso(match: re.Match[str]) -> str:
        year, month, day = (int(match.group(i)) for i in (1, 2, 3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return match.group(0)
        return f"{MONTHS[month - 1]} {_ordinal(day)}, {_year(year)}"

    text = re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", iso, text)
    # 12 March 2024, 12th of March 2024, 12 March
    text = re.sub(
        rf"(?:\b(?P<the>[Tt]he)\s+)?\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}\b"
        rf"(?:,?\s+(?P<year>\d{{4}})\b)?",
        lambda m: (
            f"{m.group('the') or 'the'} {_ordinal(int(m.group('day')))} of {m.group('month')}"
            + (f", {_year(int(m.group('year')))}" if m.group("year") else "")
        ),
        text,
    )
    # March 12, 2024; March 12th; March 2024
    text = re.sub(
        rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}})\b)?",
        lambda m: (
            f"{m.group('month')} {_ordinal(int(m.group('day')))}"
            + (f", {_year(int(m.group('year')))}" if m.group("year") else "")
        ),
        text,
    )
    return re.sub(
        rf"\b{_MONTH}\s+(?P<year>\d{{4}})\b",
        lambda m: f"{m.group('month')} {_year(int(m.group('year')))}",
        text,
    )


def _times(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 24 or minute > 59:
            return match.group(0)
        if minute == 0:
            spoken = f"{_words(hour)} o'clock" if not match.group(3) else _words(hour)
        elif minute < 10:
            spoken = f"{_words(hour)} oh {_words(minute)}"
        else:
            spoken = f"{_words(hour)} {_words(minute)}"
        suffix = match.group(3)
        return f"{spoken} {suffix.upper().replace('.', '').strip()[0]} M" if suffix else spoken

    return re.sub(
        r"\b(\d{1,2}):(\d{2})(?!\d)(?:\s?([ap]\.?m\.?)(?=\W|$))?", replace, text, flags=re.I
    )


def _decades(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        words = _year(int(match.group(1)))
        return words[:-1] + "ies" if words.endswith("y") else words + "s"

    return re.sub(r"\b(1\d{3}|20\d{2})'?s\b", replace, text)


def _years(text: str) -> str:
    return re.sub(
        rf"\b(?P<cue>{_YEAR_CUES})\s+(?P<year>1[1-9]\d{{2}}|20\d{{2}})\b(?![.,]\d)",
        lambda m: f"{m.group('cue')} {_year(int(m.group('year')))}",
        text,
        flags=re.IGNORECASE,
    )


def _ordinals(text: str) -> str:
    return re.sub(
        rf"\b(\d{{1,{MAX_NUMBER_DIGITS}}})(?:st|nd|rd|th)\b",
        lambda m: _ordinal(int(m.group(1))),
        text,
        flags=re.I,
    )


def _symbols(text: str) -> str:
    text = re.sub(r"#\s?(?=\d)", "number ", text)
    text = re.sub(r"(?<=\d)\s?[x×]\s?(?=\d)", " by ", text)
    text = re.sub(r"(?<=\s)-(?=\d)|^-(?=\d)", "minus ", text)
    for symbol, word in (("&", " and "), ("+", " plus "), ("=", " equals "), ("@", " at ")):
        text = text.replace(symbol, word)
    return text


def _numbers(text: str) -> str:
    return re.sub(_NUMBER, lambda m: f" {_cardinal(m.group(0))} ", text)


_ENGLISH_RULES: tuple[Callable[[str], str], ...] = (
    _latin,
    _abbreviations,
    _currency,
    _percent,
    _dates,
    _times,
    _decades,
    _years,
    _ordinals,
    _symbols,
    _numbers,
)
