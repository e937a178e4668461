"""Request and response bodies of the synthesis endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from vocalis.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioFormat

MIN_SPEED = 0.25
MAX_SPEED = 4.0


class SpeechRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Hello from Vocalis.", "voice": "en_US-joe-medium"}]
        },
    )

    text: str = Field(description="What to say; numbers, money and dates are read out in words.")
    voice: str | None = Field(
        None, description="Voice id from GET /v1/voices; the default voice if omitted."
    )
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED, description="1.0 is natural pace.")
    format: AudioFormat = Field(AudioFormat.WAV, description="Audio container and codec.")
    sample_rate: int | None = Field(
        None,
        ge=MIN_SAMPLE_RATE,
        le=MAX_SAMPLE_RATE,
        description="Output rate in Hz (8000-48000); the voice's own rate if omitted.",
    )


class VoiceOut(BaseModel):
    id: str
    name: str
    language: str
    gender: str | None
    sample_rate: int
    backend: str
    quality: str | None


class VoiceList(BaseModel):
    default: str
    voices: list[VoiceOut]
