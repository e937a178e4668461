"""Response bodies of the usage endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class CharacterAllowance(BaseModel):
    limit: int | None = Field(description="None: no monthly cap (metered)")
    used: int = Field(description="Used this period, including what running requests hold")
    remaining: int | None


class SecondsAllowance(BaseModel):
    limit: int | None = Field(description="None: no monthly cap (metered)")
    used: float
    remaining: float | None


class QuotaOut(BaseModel):
    """The same `quota` shape a `429 quota_exceeded` carries, plus the period and plan."""

    characters: CharacterAllowance
    seconds: SecondsAllowance
    key_characters: CharacterAllowance | None = Field(
        None, description="The calling key's own cap, if it has one"
    )
    resets_at: datetime
    plan: str


class Figures(BaseModel):
    requests: int
    characters: int
    audio_seconds: float
    audio_bytes: int
    cache_hits: int
    errors: int


class VoiceUsage(Figures):
    voice: str


class LanguageUsage(Figures):
    language: str


class StatusUsage(BaseModel):
    status_code: int
    requests: int


class DayUsage(BaseModel):
    date: date
    requests: int
    characters: int
    audio_seconds: float
    errors: int


class UsageSummary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    days: int
    totals: Figures
    by_voice: list[VoiceUsage]
    by_language: list[LanguageUsage]
    by_status: list[StatusUsage]
    daily: list[DayUsage]


class UsageEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    request_id: str
    key_id: str
    method: str
    endpoint: str
    status_code: int
    voice: str | None
    language: str | None
    characters: int
    audio_ms: int
    audio_bytes: int
    cache_hit: bool
    latency_ms: int
    client_ip: str | None
    text_hash: str | None
    outcome: str | None = Field(
        description="completed, failed, canceled (client hung up; refunded) or interrupted "
        "(the server stopped mid-request; refunded)"
    )
