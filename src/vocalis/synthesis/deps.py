"""What the speech routes depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vocalis.accounts.credentials import KeyResolver
from vocalis.accounts.service import Principal, Scope
from vocalis.audio.marking import Marker
from vocalis.engine import SpeechEngine
from vocalis.kit.deps import part, provided
from vocalis.synthesis.service import SpeechService
from vocalis.usage.deps import SessionSpeaker, rate_limited
from vocalis.usage.ratelimit import RateLimiter

EngineDep = Annotated[SpeechEngine, Depends(provided(SpeechEngine))]
MarkerDep = Annotated[Marker, Depends(provided(Marker))]
SpeechServiceDep = Annotated[SpeechService, Depends(provided(SpeechService))]
SpeechCaller = Annotated[Principal, Depends(rate_limited(Scope.TTS))]


async def speech_caller(request: Request) -> Principal:
    """`SpeechCaller`, for a lean route's handler: the same dependency, called directly."""
    caller = rate_limited(Scope.TTS)
    return await caller(request, part(request, KeyResolver), part(request, RateLimiter))


__all__ = [
    "EngineDep",
    "MarkerDep",
    "SessionSpeaker",
    "SpeechCaller",
    "SpeechServiceDep",
    "speech_caller",
]
