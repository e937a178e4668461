"""Response bodies of the admin API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vocalis.usage.schemas import DayUsage, Figures, VoiceUsage


class AccountUsage(Figures):
    account_id: str
    email: str | None


class PlatformStats(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    days: int
    accounts: int
    totals: Figures
    top_voices: list[VoiceUsage]
    top_accounts: list[AccountUsage]
    daily: list[DayUsage]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    client_ip: str | None


class BillingEventOut(BaseModel):
    """A Stripe event as received and processed (its payload stays in the database)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    stripe_created_at: datetime
    received_at: datetime
    status: str = Field(description="pending, processed or failed (retries used up)")
    attempts: int
    processed_at: datetime | None
    account_id: str | None
    outcome: str | None = Field(description="What processing it did, in words")
    last_error: str | None
