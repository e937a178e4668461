"""HTTP routes for speech: voices, synchronous files and streams."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from vocalis.accounts.service import Principal
from vocalis.audio.formats import AudioFormat
from vocalis.engine import PreparedText
from vocalis.kit.deps import part
from vocalis.kit.disconnect import unless_disconnected
from vocalis.kit.lean import LeanHandler, LeanRoute, lean, plain_body
from vocalis.synthesis import service
from vocalis.synthesis.deps import (
    EngineDep,
    SessionSpeaker,
    SpeechCaller,
    SpeechServiceDep,
    speech_caller,
)
from vocalis.synthesis.schemas import SpeechRequest, VoiceList, VoiceOut
from vocalis.synthesis.service import Admitted, SpeechService

# Lean: a plain request to these routes skips FastAPI's machinery (`vocalis.kit.lean`).
router = APIRouter(prefix="/v1", tags=["speech"], route_class=LeanRoute)
# The same speech for a logged-in person (the dashboard's playground): no key in the browser.
account_router = APIRouter(prefix="/account", tags=["account"])

AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {audio_format.media_type: {} for audio_format in AudioFormat},
        "description": "The audio, in the requested format",
    },
    429: {"description": "Rate limit or monthly quota exceeded (`rate_limited`, `quota_exceeded`)"},
}


def order_for(
    request: Request, admitted: Admitted, speech: SpeechService
) -> tuple[service.Order, dict[str, Any]]:
    """The service's view of the request, and its usage event's details (which a stream fills
    in with what it produced when it ends)."""
    voice = admitted.prepared.voice
    text_hash = speech.fingerprint(admitted.text)
    usage: dict[str, Any] = {"voice": voice.id, "language": voice.language, "text_hash": text_hash}
    request.state.usage = usage
    route = request.scope.get("route")
    endpoint = route.path if route is not None else request.scope["path"]  # no URL parsing
    ticket = service.Ticket(
        request_id=request.state.request_id,
        method=request.method,
        endpoint=endpoint[:200],
        client_ip=request.state.client_ip,
        text_hash=text_hash,
    )
    return service.Order(admitted.principal, admitted.prepared, admitted.how, ticket), usage


def audio_headers(
    prepared: PreparedText, how: service.Rendition, *, cache_hit: bool
) -> dict[str, str]:
    """What every audio response says about itself."""
    headers = {
        "X-Voice": prepared.voice.id,
        "X-Characters": str(prepared.characters),
        "X-Sample-Rate": str(how.sample_rate),
        "X-Cache": "HIT" if cache_hit else "MISS",
        "X-AI-Generated": "true",  # raw formats have no tags: the marking travels here
    }
    if how.audio_format is AudioFormat.PCM:
        headers |= {"X-Sample-Format": "s16le", "X-Channels": "1"}
    return headers


@router.get("/voices", response_model=VoiceList, summary="Voices this server can speak with")
async def list_voices(engine: EngineDep) -> VoiceList:
    voices = [
        VoiceOut(
            id=voice.id,
            name=voice.name,
            language=voice.language,
            gender=voice.gender,
            sample_rate=voice.sample_rate,
            backend=voice.backend,
            quality=voice.quality,
        )
        for voice in engine.voices()
    ]
    return VoiceList(default=engine.registry.default_voice, voices=voices)


async def speak_file(
    body: SpeechRequest, request: Request, principal: Principal, speech: SpeechService
) -> Response:
    started = time.perf_counter()
    admitted = await speech.admit(
        principal, body.text, body.voice,
        speed=body.speed, audio_format=body.format, sample_rate=body.sample_rate,
    )  # fmt: skip
    return await complete_file(request, admitted, speech, started=started)


async def complete_file(
    request: Request,
    admitted: Admitted,
    speech_service: SpeechService,
    *,
    started: float,
) -> Response:
    """The whole file, with its cost headers, for any route; a client that hangs up before it
    is ready stops the synthesis and is refunded."""
    order, usage = order_for(request, admitted, speech_service)
    try:
        if speech_service.is_hot(order):
            spoken = await speech_service.speak(order)
        else:
            spoken = await unless_disconnected(request, speech_service.speak(order))
    finally:
        request.state.usage_recorded = order.ticket.swept
    speech = spoken.speech
    usage |= {
        "characters": admitted.prepared.characters,
        "audio_ms": speech.audio_ms,
        "audio_bytes": len(speech.content),
        "cache_hit": speech.cache_hit,
    }
    return Response(
        speech.content,
        media_type=speech.media_type,
        headers={
            **audio_headers(admitted.prepared, admitted.how, cache_hit=speech.cache_hit),
            "X-Audio-Duration-Ms": str(speech.audio_ms),
            "X-Processing-Time-Ms": str(round((time.perf_counter() - started) * 1000)),
            "X-Quota-Characters-Remaining": str(spoken.quota.chars_remaining),
            "X-Quota-Seconds-Remaining": f"{spoken.quota.seconds_remaining:.3f}",
        },
    )


async def speak_stream(
    body: SpeechRequest, request: Request, principal: Principal, speech: SpeechService
) -> StreamingResponse:
    admitted = await speech.admit(
        principal, body.text, body.voice,
        speed=body.speed, audio_format=body.format, sample_rate=body.sample_rate,
    )  # fmt: skip
    started = await start_stream(request, admitted, speech)
    return StreamingResponse(
        started.chunks, media_type=body.format.media_type, headers=started.headers
    )


@dataclass(frozen=True)
class StartedStream:
    stream: service.SpeechStream
    chunks: AsyncIterator[bytes]  # the stream's audio, feeding the usage event when it ends
    headers: dict[str, str]


async def start_stream(
    request: Request, admitted: Admitted, speech: SpeechService
) -> StartedStream:
    """Open an accounted stream (quota reserved now, settled when it ends) for any route."""
    order, usage = order_for(request, admitted, speech)
    stream = await speech.open_stream(order)
    headers = {
        **audio_headers(admitted.prepared, admitted.how, cache_hit=stream.cache_hit),
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # ask reverse proxies not to hold the stream back
    }
    return StartedStream(stream, accounted(request, stream, usage, order.ticket), headers)


async def accounted(
    request: Request,
    stream: service.SpeechStream,
    usage: dict[str, Any],
    ticket: service.Ticket,
) -> AsyncIterator[bytes]:
    """Pass the chunks on; when the stream ends, put what it produced into the usage event."""
    try:
        async for chunk in stream.chunks:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):  # a hung-up client must still be settled
            await stream.chunks.aclose()  # type: ignore[attr-defined]
        request.state.usage_recorded = ticket.swept
        progress = stream.progress
        usage |= {
            "characters": progress.characters,
            "audio_ms": progress.audio_ms,
            "audio_bytes": progress.audio_bytes,
            "cache_hit": stream.cache_hit,
        }


SpeechAnswer = Callable[[SpeechRequest, Request, Principal, SpeechService], Awaitable[Response]]


def lean_speech(answer: SpeechAnswer) -> LeanHandler:
    """The lean handler of a speech route that `answer` serves (see `vocalis.kit.lean`)."""

    async def handler(request: Request) -> Response | None:
        body = await plain_body(request, SpeechRequest)
        if body is None:
            return None
        principal = await speech_caller(request)
        return await answer(body, request, principal, part(request, SpeechService))

    return handler


@router.post(
    "/tts",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    summary="Synthesize speech and return the audio file",
)
@lean(lean_speech(speak_file))
async def text_to_speech(
    body: SpeechRequest,
    request: Request,
    principal: SpeechCaller,
    speech: SpeechServiceDep,
) -> Response:
    return await speak_file(body, request, principal, speech)


@account_router.post(
    "/tts",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    summary="Synthesize speech as the logged-in person (the playground)",
)
async def text_to_speech_for_session(
    body: SpeechRequest,
    request: Request,
    principal: SessionSpeaker,
    speech: SpeechServiceDep,
) -> Response:
    """`POST /v1/tts` with the session cookie (and X-CSRF-Token) instead of a key, charged to
    the account like any other request."""
    return await speak_file(body, request, principal, speech)


@router.post(
    "/tts/stream",
    response_class=StreamingResponse,
    responses=AUDIO_RESPONSES,
    summary="Synthesize speech and stream it as each sentence is ready",
)
@lean(lean_speech(speak_stream))
async def text_to_speech_stream(
    body: SpeechRequest,
    request: Request,
    principal: SpeechCaller,
    speech: SpeechServiceDep,
) -> StreamingResponse:
    """One continuous file (a WAV stream's header says "length unknown"), sent sentence by
    sentence. A client that hangs up stops the synthesis and pays only for what was produced."""
    return await speak_stream(body, request, principal, speech)


@account_router.post(
    "/tts/stream",
    response_class=StreamingResponse,
    responses=AUDIO_RESPONSES,
    summary="Stream speech as the logged-in person (the playground)",
)
async def text_to_speech_stream_for_session(
    body: SpeechRequest,
    request: Request,
    principal: SessionSpeaker,
    speech: SpeechServiceDep,
) -> StreamingResponse:
    return await speak_stream(body, request, principal, speech)
