"""Synthesis rules: what text is admissible, and turning it into an encoded audio file."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from vocalis.audio.encoders import AudioFormat, encode
from vocalis.engine import PreparedText, SpeechEngine
from vocalis.engine.voice import NothingToSpeak
from vocalis.kit.errors import InvalidInput


class TextTooLong(InvalidInput):
    code = "text_too_long"


@dataclass(frozen=True)
class SpeechFile:
    content: bytes
    media_type: str
    prepared: PreparedText
    duration_seconds: float


def admit_text(
    engine: SpeechEngine, text: str, voice: str | None, *, max_chars: int
) -> PreparedText:
    """Check the request's text and voice, before any inference is spent on it."""
    if not text.strip():
        raise NothingToSpeak("text is empty")
    if len(text) > max_chars:
        raise TextTooLong(
            f"text has {len(text)} characters; the limit is {max_chars}",
            extra={"max_characters": max_chars},
        )
    return engine.prepare(text, voice)


async def synthesize_file(
    engine: SpeechEngine, prepared: PreparedText, *, speed: float, audio_format: AudioFormat
) -> SpeechFile:
    audio = await engine.synthesize(prepared, speed)
    content = await asyncio.to_thread(encode, audio.samples, audio.sample_rate, audio_format)
    return SpeechFile(content, audio_format.media_type, prepared, audio.duration_seconds)
