"""What the speech routes depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vocalis.accounts.service import Principal, Scope
from vocalis.audio.marking import Marker
from vocalis.engine import SpeechEngine
from vocalis.kit.deps import provided
from vocalis.synthesis.service import SpeechService
from vocalis.usage.deps import SessionSpeaker, rate_limited

EngineDep = Annotated[SpeechEngine, Depends(provided(SpeechEngine))]
MarkerDep = Annotated[Marker, Depends(provided(Marker))]
SpeechServiceDep = Annotated[SpeechService, Depends(provided(SpeechService))]
SpeechCaller = Annotated[Principal, Depends(rate_limited(Scope.TTS))]

__all__ = ["EngineDep", "MarkerDep", "SessionSpeaker", "SpeechCaller", "SpeechServiceDep"]
