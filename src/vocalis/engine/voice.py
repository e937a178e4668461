"""What the engine says about its voices, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass

from vocalis.kit.errors import InvalidInput, ServiceUnavailable, VocalisError


@dataclass(frozen=True)
class VoiceInfo:
    """A voice as clients see it. `version` changes whenever the model files change."""

    id: str
    name: str
    language: str
    sample_rate: int
    backend: str
    gender: str | None = None
    quality: str | None = None
    version: str = ""


class UnknownVoice(InvalidInput):
    code = "unknown_voice"


class NothingToSpeak(InvalidInput):
    code = "empty_text"


class EngineNotReady(ServiceUnavailable):
    code = "engine_not_ready"


class SynthesisFailed(VocalisError):
    status_code = 500
    code = "synthesis_failed"
