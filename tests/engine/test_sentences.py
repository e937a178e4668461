import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vocalis.engine.sentences import split_sentences


def test_splits_at_sentence_ends_and_keeps_punctuation_and_quotes() -> None:
    text = 'He said "stop." Then he left! Did she follow? Yes… she did.'
    assert split_sentences(text) == [
        'He said "stop."',
        "Then he left!",
        "Did she follow?",
        "Yes…",
        "she did.",
    ]


def test_single_sentence_without_final_punctuation() -> None:
    assert split_sentences("hello world") == ["hello world"]


def test_overlong_sentences_are_cut_at_clauses_then_words() -> None:
    clause = "this clause goes on and on for a while"
    text = ", ".join([clause] * 30) + "."
    parts = split_sentences(text, max_chars=120)
    assert all(len(part) <= 120 for part in parts)
    assert " ".join(parts) == text  # nothing lost or reordered

    endless = " ".join(["word"] * 200)
    parts = split_sentences(endless, max_chars=50)
    assert all(len(part) <= 50 for part in parts)
    assert " ".join(parts) == endless


@pytest.mark.parametrize(
    "text",
    [
        "hello," * 833,  # commas and no spaces: once a single 5,000-character utterance
        "x" * 5000,  # not even a comma
        "word " * 1000,
        "a; b: c, d — e " * 400,
        "." * 5000,
        "Wait... " * 700,
    ],
)
def test_no_piece_is_longer_than_the_bound_however_the_text_is_punctuated(text: str) -> None:
    parts = split_sentences(text, max_chars=400)
    assert parts and all(len(part) <= 400 for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")  # nothing lost or moved


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet="ab .,;:!?…\"')—", max_size=600), st.integers(min_value=1, max_value=80))
def test_pieces_are_bounded_and_keep_every_character_in_order(text: str, bound: int) -> None:
    parts = split_sentences(text, max_chars=bound)
    assert all(0 < len(part) <= bound for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())  # only spaces may go
