"""Sentence splitting: the unit of synthesis, of streaming, and of fair scheduling.

Runs on normalized text (abbreviations are already expanded, so a period ends a sentence).
Overlong sentences are cut at clause punctuation, then between words, so that no single
inference call grows without bound.
"""

from __future__ import annotations

import re

MAX_SENTENCE_CHARS = 400

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s+\S)")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    sentences = []
    for sentence in _cut_at_sentence_ends(text):
        if sentence:
            sentences.extend(_bounded(sentence, max_chars))
    return sentences


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
    pieces = _pack(_CLAUSE_END.split(sentence), max_chars)
    return [part for piece in pieces for part in _pack(piece.split(" "), max_chars)]


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join `parts` with spaces into pieces of at most `max_chars` where possible."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current} {part}" if current else part
        if len(candidate) <= max_chars or not current:
            current = candidate
        else:
            pieces.append(current)
            current = part
    if current:
        pieces.append(current)
    return pieces
