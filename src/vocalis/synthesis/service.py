"""Synthesis rules: admission (text, voice, format, quota), the engine, accounting, caching.

A request flows admit → reserve quota → synthesize (or read the cache) → encode and mark →
settle the quota at the real duration, and on any failure, refund in full.

Admission refuses in order of cost: empty or too long as sent, a voice the key may not use,
a quota that cannot cover the characters sent — all before the text is normalized — then,
once normalized, a text whose words read out are too long.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version as package_version

import anyio

from vocalis import __version__
from vocalis.accounts.service import Principal
from vocalis.audio.encoders import FileEncoder, StreamEncoder
from vocalis.audio.formats import AudioFormat, output_rate
from vocalis.audio.marking import Marker, ai_tags
from vocalis.engine import PreparedText, SpeechEngine
from vocalis.engine.text import character_count
from vocalis.engine.voice import NothingToSpeak
from vocalis.kit.clock import Clock
from vocalis.kit.errors import Forbidden, InvalidInput
from vocalis.synthesis.cache import CachedSpeech, SpeechCache, cache_key
from vocalis.usage.meter import Hold, Meter, QuotaFigures, Reservation
from vocalis.usage.recorder import text_fingerprint

ENGINE_VERSION = f"vocalis-{__version__}/piper-{package_version('piper-tts')}/marking-1"


class TextTooLong(InvalidInput):
    code = "text_too_long"


class VoiceNotAllowed(Forbidden):
    code = "voice_not_allowed"


@dataclass(frozen=True)
class Rendition:
    """How the audio should come out."""

    speed: float
    audio_format: AudioFormat
    sample_rate: int  # the output rate, already checked against the format


@dataclass(frozen=True)
class SpeechFile:
    content: bytes
    media_type: str
    audio_ms: int
    sample_rate: int
    cache_hit: bool = False


@dataclass(frozen=True)
class Spoken:
    """A synthesized file and the caller's quota after paying for it."""

    speech: SpeechFile
    quota: QuotaFigures


@dataclass(frozen=True)
class Accounting:
    """What synthesis needs besides the engine: where to charge, and how."""

    meter: Meter
    clock: Clock
    cache: SpeechCache
    cache_hits_count: bool
    marker: Marker


@dataclass(frozen=True)
class TextLimits:
    """How long a text may be as sent, and read out (numbers, money and dates in words)."""

    max_chars: int
    max_spoken_chars: int


@dataclass
class Ticket:
    """The request being served, as its reservation row and usage event name it.

    `swept` turns True when the request finds its reservation already given back by a sweep
    (its lease ran out, or the server is shutting down): the sweep recorded the request's usage
    event, so the request must not record a second one."""

    request_id: str
    method: str
    endpoint: str
    client_ip: str | None
    text_hash: str | None
    swept: bool = False


@dataclass(frozen=True)
class Order:
    """One request's synthesis: who pays, what is said and how, and which request it is."""

    principal: Principal
    prepared: PreparedText
    how: Rendition
    ticket: Ticket


@dataclass(frozen=True)
class Admitted:
    """A request that passed admission, on any speech route: who asks, for which text, read
    how, and to come out how."""

    principal: Principal
    text: str
    prepared: PreparedText
    how: Rendition


@dataclass(frozen=True)
class SpeechService:
    """The speech routes' one entry: admission, then a file or a stream, accounted."""

    engine: SpeechEngine
    accounting: Accounting
    limits: TextLimits
    pepper: str

    async def admit(
        self,
        principal: Principal,
        text: str,
        voice: str | None,
        *,
        speed: float,
        audio_format: AudioFormat,
        sample_rate: int | None,
    ) -> Admitted:
        prepared = await admit_text(
            self.engine, principal, text, voice, limits=self.limits, meter=self.accounting.meter
        )
        return Admitted(
            principal, text, prepared, rendition(prepared, speed, audio_format, sample_rate)
        )

    def fingerprint(self, text: str) -> str:
        """The keyed hash a usage event keeps instead of the text."""
        return text_fingerprint(text, self.pepper)

    async def speak(self, order: Order) -> Spoken:
        return await speak(order, engine=self.engine, accounting=self.accounting)

    def is_hot(self, order: Order) -> bool:
        """Whether the cache holds this file in memory: `speak` then only waits for the charge,
        a moment, with nothing to stop if the client leaves meanwhile."""
        return self.accounting.cache.get_hot(speech_key(order.prepared, order.how)) is not None

    async def open_stream(self, order: Order) -> SpeechStream:
        return await open_stream(order, engine=self.engine, accounting=self.accounting)


def check_length(text: str, limits: TextLimits) -> int:
    """The characters of `text` as sent (what is billed), or a 422 when there are too many."""
    if not text.strip():
        raise NothingToSpeak("text is empty")
    characters = character_count(text)
    if characters > limits.max_chars:
        raise TextTooLong(
            f"text has {characters} characters; the limit is {limits.max_chars}",
            extra={"max_characters": limits.max_chars},
        )
    return characters


async def admit_text(
    engine: SpeechEngine,
    principal: Principal,
    text: str,
    voice: str | None,
    *,
    limits: TextLimits,
    meter: Meter,
) -> PreparedText:
    """Check the text, the voice and the quota before anything proportional to the text is
    spent, then normalize it in a thread and bound its words."""
    characters = check_length(text, limits)
    voice_id = check_voice(engine, principal, voice)
    await meter.precheck(principal, characters)
    prepared = await engine.prepared(text, voice_id)
    check_spoken_length(prepared, limits)
    return prepared


def check_voice(engine: SpeechEngine, principal: Principal, voice: str | None) -> str:
    """The id of the voice asked for (or the default one), if it exists and the key may use it."""
    voice_id = engine.voice(voice).id
    if not principal.may_use_voice(voice_id):
        raise VoiceNotAllowed(f"this API key may not use the voice '{voice_id}'")
    return voice_id


def check_spoken_length(prepared: PreparedText, limits: TextLimits) -> None:
    spoken = prepared.spoken_characters
    if spoken > limits.max_spoken_chars:
        raise TextTooLong(
            f"text has {prepared.characters} characters (the limit is {limits.max_chars}), "
            f"which read out in words come to {spoken} characters (the limit is "
            f"{limits.max_spoken_chars}); shorten the text or write fewer numbers",
            extra={
                "max_characters": limits.max_chars,
                "spoken_characters": spoken,
                "max_spoken_characters": limits.max_spoken_chars,
            },
        )


def rendition(
    prepared: PreparedText, speed: float, audio_format: AudioFormat, sample_rate: int | None
) -> Rendition:
    rate = output_rate(audio_format, prepared.voice.sample_rate, sample_rate)
    return Rendition(speed, audio_format, rate)


def speech_key(prepared: PreparedText, how: Rendition) -> str:
    return cache_key(
        prepared.normalized,
        prepared.voice.id,
        f"{how.speed:.4f}",
        how.audio_format.value,
        str(how.sample_rate),
        prepared.voice.version,
        ENGINE_VERSION,
    )


async def speak(order: Order, *, engine: SpeechEngine, accounting: Accounting) -> Spoken:
    """The whole file: from the cache, or reserve quota, synthesize, then charge the real
    duration — or refund everything if anything fails or the caller stops waiting."""
    principal, prepared, how, ticket = order.principal, order.prepared, order.how, order.ticket
    key = speech_key(prepared, how)
    cached = await accounting.cache.get(key)
    if cached is not None:
        figures = await _charge_cache_hit(order, cached, accounting)
        hit = SpeechFile(
            cached.content, cached.media_type, cached.audio_ms, cached.sample_rate, True
        )
        return Spoken(hit, figures)
    reservation = await _reserve(order, engine, accounting)
    try:
        speech = await synthesize_file(
            engine, prepared, how, marker=accounting.marker, created=accounting.clock.now()
        )
        cached = CachedSpeech(
            speech.content, speech.media_type, speech.audio_ms, speech.sample_rate
        )
        await asyncio.shield(accounting.cache.put(key, cached))  # indexed even if we are left
        # Charged last, in one transaction: up to its commit a hang-up still means a refund,
        # and after it nothing remains that could be interrupted.
        settled, figures = await accounting.meter.settle_and_read(
            reservation, principal, speech.audio_ms
        )
        ticket.swept = not settled
    except BaseException:  # failures and client disconnects alike: nothing was delivered
        await asyncio.shield(_refund(accounting, reservation, ticket))
        raise
    return Spoken(speech, figures)


async def synthesize_file(
    engine: SpeechEngine,
    prepared: PreparedText,
    how: Rendition,
    *,
    marker: Marker,
    created: datetime,
) -> SpeechFile:
    """Synthesize, encode and sign one complete file.

    Each sentence is encoded (in a thread) while the engine speaks the next one, so that once
    the voice is done only the last sentence, the codec's flush and one mux with the signed
    tags are left to wait for."""
    rate = prepared.voice.sample_rate
    encoder = await asyncio.to_thread(FileEncoder, how.audio_format, rate, how.sample_rate)
    encoding: asyncio.Future[None] | None = None  # the sentence before the one being spoken
    samples = 0
    try:
        async for sentence in engine.stream(prepared, how.speed):
            if encoding is not None:
                await encoding
            encoding = asyncio.ensure_future(asyncio.to_thread(encoder.write, sentence.samples))
            samples += len(sentence.samples)
        if encoding is not None:
            await encoding
    finally:
        if encoding is not None:
            encoding.cancel()  # nothing once awaited; after a failure or a hang-up, unwaited

    def tags_for(payload_sha256: str) -> dict[str, str]:
        return marker.signed_tags(payload_sha256, voice=prepared.voice.id, created=created)

    content = await asyncio.to_thread(encoder.finish, tags_for)
    audio_ms = round(samples / rate * 1000)
    return SpeechFile(content, how.audio_format.media_type, audio_ms, how.sample_rate)


@dataclass
class StreamProgress:
    """What a stream has produced so far (and, once it ends, what was charged)."""

    characters: int = 0
    audio_ms: int = 0
    audio_bytes: int = 0


@dataclass
class SpeechStream:
    """Audio sent as it is synthesized. The quota was reserved when the stream was opened;
    when it ends — finished, failed or abandoned by the client — it is settled at what was
    actually produced."""

    chunks: AsyncIterator[bytes]
    cache_hit: bool
    progress: StreamProgress


async def open_stream(
    order: Order, *, engine: SpeechEngine, accounting: Accounting
) -> SpeechStream:
    """Reserve (or charge a cache hit) now, so refusals are still clean JSON errors."""
    cached = await accounting.cache.get(speech_key(order.prepared, order.how))
    if cached is not None:
        await _charge_cache_hit(order, cached, accounting)
        progress = StreamProgress(order.prepared.characters, cached.audio_ms, len(cached.content))
        return SpeechStream(_replay(cached.content), True, progress)
    reservation = await _reserve(order, engine, accounting)
    progress = StreamProgress()
    chunks = _synthesize_stream(order, reservation, engine, accounting, progress)
    # Start it here: a started generator always runs its settlement, even if the client is
    # gone before the first byte is sent (and a failure of the first sentence is a clean 500).
    first = await anext(chunks)
    return SpeechStream(_resume(first, chunks), False, progress)


async def _resume(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


async def _synthesize_stream(
    order: Order,
    reservation: Reservation,
    engine: SpeechEngine,
    accounting: Accounting,
    progress: StreamProgress,
) -> AsyncIterator[bytes]:
    prepared, how = order.prepared, order.how
    delivered_sentences = delivered_samples = 0
    rate = prepared.voice.sample_rate
    try:
        encoder = await asyncio.to_thread(
            StreamEncoder, how.audio_format, rate, how.sample_rate, ai_tags()
        )
        async for sentence in engine.stream(prepared, how.speed):
            chunk = await asyncio.to_thread(encoder.write, sentence.samples)
            progress.audio_bytes += len(chunk)
            if chunk or sentence.index == 0:  # the first sentence always answers
                yield chunk
            delivered_sentences += 1  # the consumer took it: paid for from here on
            delivered_samples += len(sentence.samples)
        tail = await asyncio.to_thread(encoder.finish)
        progress.audio_bytes += len(tail)
        if tail:
            yield tail
    finally:
        # What the client got: the characters its sentences stand for and their audio; a
        # stream cut short pays for no more than that.
        progress.characters = prepared.characters_through(delivered_sentences)
        progress.audio_ms = round(delivered_samples / rate * 1000)
        # Runs on success, failure and client disconnect alike; shielded so that a cancelled
        # request still settles its account.
        with anyio.CancelScope(shield=True):
            settled = await accounting.meter.settle(
                reservation, progress.audio_ms, progress.characters
            )
            order.ticket.swept = not settled


async def _replay(content: bytes, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(content), chunk_size):
        yield content[start : start + chunk_size]


async def _reserve(order: Order, engine: SpeechEngine, accounting: Accounting) -> Reservation:
    """Take the quota, and leave a row saying so, in one transaction (see usage.meter)."""
    prepared, ticket, meter = order.prepared, order.ticket, accounting.meter
    estimate = engine.expected_duration_ms(prepared, order.how.speed, meter.chars_per_second)
    hold = Hold(
        request_id=ticket.request_id,
        method=ticket.method,
        endpoint=ticket.endpoint,
        client_ip=ticket.client_ip,
        text_hash=ticket.text_hash,
        voice=prepared.voice.id,
        language=prepared.voice.language,
    )
    return await meter.reserve(order.principal, prepared.characters, estimate, hold)


async def _charge_cache_hit(
    order: Order, cached: CachedSpeech, accounting: Accounting
) -> QuotaFigures:
    """A hit costs what the audio is (when hits count), with nothing left to correct later."""
    return await accounting.meter.charge(
        order.principal,
        order.prepared.characters,
        cached.audio_ms,
        free=not accounting.cache_hits_count,
    )


async def _refund(accounting: Accounting, reservation: Reservation, ticket: Ticket) -> None:
    """Give everything back; if a sweep already did (and recorded the request), say so."""
    ticket.swept = not await accounting.meter.refund(reservation)
