"""What the public price list says about each plan."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PlanOut(BaseModel):
    id: str
    name: str
    price_cents: int = Field(
        description="A month, in the currency's cents; for a metered plan, per 1,000,000 characters"
    )
    currency: str = Field(description="ISO 4217, lower case (eur)")
    characters: int | None = Field(description="Characters a month; null for a metered plan")
    audio_seconds: int | None = Field(description="Seconds of audio a month; null if metered")
    metered: bool = Field(description="Billed on what is used (pay-as-you-go)")


class PlanList(BaseModel):
    plans: list[PlanOut]
