"""HTTP routes for speech: voices and synchronous synthesis."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from vocalis.accounts.auth import require_scope
from vocalis.accounts.service import Principal, Scope
from vocalis.api.deps import EngineDep, SettingsDep
from vocalis.synthesis.schemas import SpeechRequest, VoiceList, VoiceOut
from vocalis.synthesis.service import admit_text, synthesize_file

router = APIRouter(prefix="/v1", tags=["speech"])

_AUDIO_RESPONSE = {
    200: {"content": {"audio/wav": {}}, "description": "The speech, PCM16 WAV at the voice's rate"}
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
    engine: EngineDep,
    settings: SettingsDep,
    _principal: Annotated[Principal, Depends(require_scope(Scope.TTS))],
) -> Response:
    started = time.perf_counter()
    prepared = admit_text(engine, body.text, body.voice, max_chars=settings.max_text_chars)
    speech = await synthesize_file(engine, prepared, speed=body.speed, audio_format=body.format)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    return Response(
        speech.content,
        media_type=speech.media_type,
        headers={
            "X-Voice": prepared.voice.id,
            "X-Characters": str(prepared.characters),
            "X-Audio-Duration-Ms": str(round(speech.duration_seconds * 1000)),
            "X-Processing-Time-Ms": str(elapsed_ms),
        },
    )
