"""Synthesis rules: admission (text, voice, quota), then the engine, then the accounting."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from vocalis.accounts.service import Principal
from vocalis.audio.encoders import AudioFormat, encode
from vocalis.config import Settings
from vocalis.engine import PreparedText, SpeechEngine
from vocalis.engine.voice import NothingToSpeak
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.errors import Forbidden, InvalidInput
from vocalis.usage import quota
from vocalis.usage.quota import QuotaFigures, Reservation


class TextTooLong(InvalidInput):
    code = "text_too_long"


class VoiceNotAllowed(Forbidden):
    code = "voice_not_allowed"


@dataclass(frozen=True)
class SpeechFile:
    content: bytes
    media_type: str
    prepared: PreparedText
    duration_seconds: float

    @property
    def audio_ms(self) -> int:
        return round(self.duration_seconds * 1000)


@dataclass(frozen=True)
class Spoken:
    """A synthesized file and the caller's quota after paying for it."""

    speech: SpeechFile
    quota: QuotaFigures


def admit_text(
    engine: SpeechEngine, principal: Principal, text: str, voice: str | None, *, max_chars: int
) -> PreparedText:
    """Check the text and the voice before any quota or inference is spent on them."""
    if not text.strip():
        raise NothingToSpeak("text is empty")
    if len(text) > max_chars:
        raise TextTooLong(
            f"text has {len(text)} characters; the limit is {max_chars}",
            extra={"max_characters": max_chars},
        )
    prepared = engine.prepare(text, voice)
    if not principal.may_use_voice(prepared.voice.id):
        raise VoiceNotAllowed(f"this API key may not use the voice '{prepared.voice.id}'")
    return prepared


async def speak(
    principal: Principal,
    prepared: PreparedText,
    *,
    speed: float,
    audio_format: AudioFormat,
    engine: SpeechEngine,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> Spoken:
    """Reserve quota, synthesize, then charge the real duration — or refund everything."""
    estimate = quota.estimate_audio_ms(prepared.characters, speed, settings.quota_chars_per_second)
    async with database.session(write=True) as session:
        reservation = await quota.reserve(
            session,
            account_id=principal.account_id,
            key_id=principal.key_id,
            characters=prepared.characters,
            audio_ms=estimate,
            now=clock.now(),
        )
    try:
        speech = await synthesize_file(engine, prepared, speed=speed, audio_format=audio_format)
    except BaseException:  # failures and client disconnects alike: nothing was delivered
        await asyncio.shield(_refund(database, reservation))
        raise
    async with database.session(write=True) as session:
        await quota.settle(session, reservation, speech.audio_ms)
        figures = await quota.read_quota(
            session, principal.account_id, clock.now(), key_id=principal.key_id
        )
    return Spoken(speech, figures)


async def synthesize_file(
    engine: SpeechEngine, prepared: PreparedText, *, speed: float, audio_format: AudioFormat
) -> SpeechFile:
    audio = await engine.synthesize(prepared, speed)
    content = await asyncio.to_thread(encode, audio.samples, audio.sample_rate, audio_format)
    return SpeechFile(content, audio_format.media_type, prepared, audio.duration_seconds)


async def _refund(database: Database, reservation: Reservation) -> None:
    async with database.session(write=True) as session:
        await quota.refund(session, reservation)
