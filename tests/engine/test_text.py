"""Text normalization: what the voice says and what billing counts."""

import math
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vocalis.engine.sentences import split_sentences
from vocalis.engine.text import character_count, has_speech, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I paid $3.50 on 12 March 2024",
            "I paid three dollars and fifty cents on the twelfth of March, twenty twenty-four",
        ),
        ("It costs $1.", "It costs one dollar."),
        ("Tickets are €20 each.", "Tickets are twenty euros each."),
        ("Only £0.99!", "Only ninety-nine pence!"),
        ("We raised $2.5 million.", "We raised two point five million dollars."),
        ("Sales grew 15% this year.", "Sales grew fifteen percent this year."),
        ("She finished 1st and he was 22nd.", "She finished first and he was twenty-second."),
        ("Born on March 5, 1990 in Ohio.", "Born on March fifth, nineteen ninety in Ohio."),
        ("The 21st of June", "The twenty-first of June"),
        ("Released 2024-03-12.", "Released March twelfth, twenty twenty-four."),
        ("It happened in 1999.", "It happened in nineteen ninety-nine."),
        ("Music of the 1980s", "Music of the nineteen eighties"),
        ("Meet at 10:30 or 7:05.", "Meet at ten thirty or seven oh five."),
        ("We open at 9:00.", "We open at nine o'clock."),
        (
            "Population: 1,234,567",
            "Population: one million, two hundred and thirty-four thousand, "
            "five hundred and sixty-seven",
        ),
        ("Pi is 3.14", "Pi is three point one four"),
        (
            "Dr. Smith lives on Main St. near St. Mary.",
            "Doctor Smith lives on Main Street near Saint Mary.",
        ),
        ("Apples, pears, etc. Then more.", "Apples, pears, et cetera. Then more."),
        ("Fruit, e.g. apples", "Fruit, for example apples"),
        ("Room #4 & hall", "Room number four and hall"),
        ("It was -5 outside", "It was minus five outside"),
    ],
)
def test_english_numbers_money_dates_become_words(text: str, expected: str) -> None:
    assert normalize(text, "en_US") == expected


def test_no_digits_or_currency_symbols_survive() -> None:
    spoken = normalize("On 1 Jan. 2025 I paid $1,299.99 (20% off) for 3 items at 4:15pm.", "en_US")
    assert not re.search(r"[\d$%]", spoken), spoken
    assert "one thousand, two hundred and ninety-nine dollars and ninety-nine cents" in spoken
    assert "four fifteen P M" in spoken


def test_whitespace_quotes_and_control_characters_are_cleaned() -> None:
    assert normalize("  Hello\u00a0\tworld\u200b \u201cquoted\u201d\n\n") == 'Hello world "quoted"'


def test_characters_are_counted_after_normalization() -> None:
    normalized = normalize("$3.50", "en_US")
    assert normalized == "three dollars and fifty cents"
    assert character_count(normalized) == len("three dollars and fifty cents") == 29


def test_other_languages_get_their_own_number_words() -> None:
    assert normalize("Ich habe 21 Katzen.", "de_DE") == "Ich habe einundzwanzig Katzen."
    assert normalize("J'ai 3 chats.", "fr_FR") == "J'ai trois chats."


def test_text_without_words_has_no_speech() -> None:
    assert not has_speech(normalize("... !!! ---"))
    assert has_speech(normalize("Hi"))


# --- hostile input: linear time, no crash -------------------------------------------------------

HOSTILE_UNITS = [
    "1", "12%", "$9", "1st ", "1,000,", "3.", ".", '.")', "…?!", "hello,", "a", "a ", "1.2.",
    "On 12 March 2024 I paid $3.50, i.e. 12% more. ", "\u200b", "-1", "#1x2", "1,00",
    "1,000,000,000", "1,000.5%",
]  # fmt: skip


def _seconds(text: str) -> float:
    """CPU time of this thread (other processes' load does not count), best of five: for
    normalizing and splitting, the whole text front end."""
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        split_sentences(normalize(text))
        best = min(best, time.thread_time() - started)
    return best


def _growth(unit: str, size: int = 2000) -> float:
    """How time grows with the text, as an exponent: t ~ n ** growth, from n to 16 n. Linear
    work gives about 1, a quadratic step 2; over a 16-fold span, timing noise moves it little."""
    small = (unit * (size // len(unit) + 1))[:size]
    large = (unit * (16 * size // len(unit) + 1))[: 16 * size]
    return math.log(_seconds(large) / max(_seconds(small), 1e-4)) / math.log(16)


@pytest.mark.slow  # timed, best of several runs
@pytest.mark.parametrize("unit", HOSTILE_UNITS)
def test_the_text_front_end_is_linear_in_the_text(unit: str) -> None:
    assert _growth(unit) <= 1.3  # linear (a quadratic step would be 2)


@pytest.mark.slow  # timed, best of several runs
@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.text(alphabet="1234567890 .,;:!?%$#-'\"()…ab\n", min_size=1, max_size=12))
def test_no_repeated_pattern_makes_it_quadratic(unit: str) -> None:
    assert _growth(unit) <= 1.3


@pytest.mark.parametrize(
    ("text", "heard"),
    [
        ("1" * 5000, "one one one"),
        ("4" * 5000 + "th place", "four four"),
        ("$" + "9" * 5000, "nine dollars"),
        ("3" * 20 + ".25", "three three point two five"),
    ],
)
def test_numbers_too_long_to_say_are_read_digit_by_digit(text: str, heard: str) -> None:
    spoken = normalize(text)
    assert heard in spoken
    assert not any(character.isdigit() for character in spoken)


def test_long_numbers_in_other_languages_are_read_digit_by_digit() -> None:
    assert normalize("1" * 5000, "de_DE").startswith("eins eins eins")


def test_text_that_no_codec_could_encode_is_cleaned_not_fatal() -> None:
    assert normalize("a\ud800b\x00c\u2028d") == "a b c d"


def test_a_long_fraction_is_read_to_its_last_digit() -> None:
    spoken = normalize("It is 0." + "7" * 30 + " exactly.")
    assert spoken.startswith("It is zero point seven")
    assert spoken.split().count("seven") == 30  # none rounded away
