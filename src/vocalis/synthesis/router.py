"""HTTP routes for speech: voices and synchronous synthesis."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response

from vocalis.accounts.auth import SpeechCaller
from vocalis.api.deps import ClockDep, DatabaseDep, EngineDep, SettingsDep
from vocalis.synthesis.schemas import SpeechRequest, VoiceList, VoiceOut
from vocalis.synthesis.service import admit_text, speak
from vocalis.usage.recorder import text_fingerprint

router = APIRouter(prefix="/v1", tags=["speech"])

_AUDIO_RESPONSE = {
    200: {"content": {"audio/wav": {}}, "description": "The speech, PCM16 WAV at the voice's rate"},
    429: {"description": "Rate limit or monthly quota exceeded (`rate_limited`, `quota_exceeded`)"},
}


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


@router.post(
    "/tts",
    response_class=Response,
    responses=_AUDIO_RESPONSE,
    summary="Synthesize speech and return the audio file",
)
async def text_to_speech(
    body: SpeechRequest,
    request: Request,
    principal: SpeechCaller,
    engine: EngineDep,
    settings: SettingsDep,
    database: DatabaseDep,
    clock: ClockDep,
) -> Response:
    started = time.perf_counter()
    prepared = admit_text(
        engine, principal, body.text, body.voice, max_chars=settings.max_text_chars
    )
    spoken = await speak(
        principal,
        prepared,
        speed=body.speed,
        audio_format=body.format,
        engine=engine,
        database=database,
        settings=settings,
        clock=clock,
    )
    speech = spoken.speech
    request.state.usage = {
        "voice": prepared.voice.id,
        "language": prepared.voice.language,
        "characters": prepared.characters,
        "audio_ms": speech.audio_ms,
        "audio_bytes": len(speech.content),
        "text_hash": text_fingerprint(body.text, settings.key_pepper.get_secret_value()),
    }
    return Response(
        speech.content,
        media_type=speech.media_type,
        headers={
            "X-Voice": prepared.voice.id,
            "X-Characters": str(prepared.characters),
            "X-Audio-Duration-Ms": str(speech.audio_ms),
            "X-Processing-Time-Ms": str(round((time.perf_counter() - started) * 1000)),
            "X-Quota-Characters-Remaining": str(spoken.quota.chars_remaining),
            "X-Quota-Seconds-Remaining": f"{spoken.quota.seconds_remaining:.3f}",
        },
    )
