"""Sentence splitting: the unit of synthesis, of streaming, and of fair scheduling.

Runs on normalized text (abbreviations are already expanded, so a period ends a sentence).
Every piece handed to a voice is at most `max_chars` long, however the text is punctuated: an
overlong sentence is cut at clause punctuation, then between words, then — a run with no spaces
at all — hard. A voice's memory grows with the square of its input, so this bound is what keeps
one request's peak memory independent of its punctuation. All of it is linear in the text.
"""

from __future__ import annotations

import re

MAX_SENTENCE_CHARS = 200  # about 10 s of speech: ~200 MB of working memory per inference

# Starts only at the first mark of a run ("?!…"), so a long run of marks is scanned once.
_SENTENCE_END = re.compile(r"(?<![.!?…])[.!?…]+[\"')\]]*(?=\s+\S)")
_AFTER_CLAUSE_MARK = re.compile(r"(?<=[,;:—–])")
_SENTENCE_CLOSE = re.compile(r"[.!?…][\"')\]]*$")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Sentences of `text`, none longer than `max_chars` characters."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    pieces = []
    for sentence in _cut_at_sentence_ends(text):
        pieces.extend(_bounded(sentence, max_chars))
    return pieces


def ends_a_sentence(piece: str) -> bool:
    """Whether `piece` ends where its sentence does (rather than being cut from a long one)."""
    return _SENTENCE_CLOSE.search(piece) is not None


def _cut_at_sentence_ends(text: str) -> list[str]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def _bounded(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    bounded = []
    for clause in _pack(_AFTER_CLAUSE_MARK.split(sentence), max_chars, joiner=""):
        if len(clause) <= max_chars:
            bounded.append(clause)
            continue
        for words in _pack(clause.split(" "), max_chars, joiner=" "):
            if len(words) <= max_chars:
                bounded.append(words)
            else:  # one "word" longer than a piece: nothing left to respect but the bound
                bounded.extend(words[i : i + max_chars] for i in range(0, len(words), max_chars))
    return [piece.strip() for piece in bounded if piece.strip()]


def _pack(parts: list[str], max_chars: int, *, joiner: str) -> list[str]:
    """Greedily join consecutive `parts` into pieces of at most `max_chars` where possible
    (a single part longer than that stays whole, for the next step to cut)."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for part in parts:
        added = len(part) + (len(joiner) if current else 0)
        if current and length + added > max_chars:
            pieces.append(joiner.join(current))
            current, length = [], 0
            added = len(part)
        current.append(part)
        length += added
    if current:
        pieces.append(joiner.join(current))
    return pieces
