"""Request and response bodies for accounts and API keys (never a key's secret, except once)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vocalis.accounts.models import ApiKey
from vocalis.accounts.service import DEFAULT_SCOPES, Scope


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    plan: str
    status: str
    char_limit: int
    seconds_limit: int
    chars_used: int
    audio_ms_used: int
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str
    plan: str = Field("free", max_length=32)
    char_limit: int | None = Field(
        None, ge=0, description="Monthly characters; server default if omitted"
    )
    seconds_limit: int | None = Field(
        None, ge=0, description="Monthly audio seconds; server default if omitted"
    )


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str | None = Field(None, max_length=32)
    status: Literal["active", "suspended"] | None = None
    char_limit: int | None = Field(None, ge=0)
    seconds_limit: int | None = Field(None, ge=0)


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    name: str
    prefix: str
    scopes: list[str]
    rate_limit_rpm: int | None
    monthly_char_cap: int | None
    period_chars_used: int
    allowed_voices: list[str] | None
    allowed_cidrs: list[str] | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    state: str = Field(description="active, revoked or expired")

    @classmethod
    def from_key(cls, key: ApiKey, now: datetime) -> KeyOut:
        fields = {name: getattr(key, name) for name in cls.model_fields if name != "state"}
        return cls(**fields, state=key.state(now))


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str
    name: str = Field("default", min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    rate_limit_rpm: int | None = Field(
        None, ge=1, description="Requests per minute; server default if omitted"
    )
    monthly_char_cap: int | None = Field(None, ge=0)
    allowed_voices: list[str] | None = None
    allowed_cidrs: list[str] | None = None
    expires_at: datetime | None = None


class KeyCreated(BaseModel):
    key: KeyOut
    secret: str = Field(description="The API key itself. Shown once; store it now.")
