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
