"""Request and response bodies of the synthesis endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from vocalis.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioFormat
from vocalis.kit.schemas import RequestBody, limited_by

MIN_SPEED = 0.25
MAX_SPEED = 4.0

# Text to speak. Emptiness is declared here but checked at admission, where the refusal keeps its
# `empty_text` code (and, in a batch, names the item); lone surrogates are refused by RequestBody.
SpeechText = Annotated[str, Field(json_schema_extra={"minLength": 1, "pattern": r"\S"})]


def rates_by_format(schema: dict[str, Any]) -> None:
    """Add to a body's JSON Schema the sample rates each `format` takes, which admission checks
    (`unsupported_sample_rate`): e.g. opus only at 48000 Hz, mp3 at the rates MP3 defines."""
    rules = []
    for audio_format in AudioFormat:
        spec = audio_format.spec
        allowed = (spec.fixed_rate,) if spec.fixed_rate is not None else spec.rates
        if allowed is not None:
            chosen = {
                "properties": {"format": {"const": audio_format.value}},
                "required": ["format"],
            }
            rates = {"properties": {"sample_rate": {"enum": [*allowed, None]}}}
            rules.append({"if": chosen, "then": rates})
    schema.setdefault("allOf", []).extend(rules)


def _speech_request_schema(schema: dict[str, Any]) -> None:
    schema["examples"] = [{"text": "Hello from Vocalis.", "voice": "en_US-joe-medium"}]
    rates_by_format(schema)


class SpeechRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra=_speech_request_schema)

    text: SpeechText = Field(
        description="What to say; numbers, money and dates are read out in words. At most "
        "VOCALIS_MAX_TEXT_CHARS characters (default 5000).",
        json_schema_extra=limited_by(maxLength="max_text_chars"),
    )
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
