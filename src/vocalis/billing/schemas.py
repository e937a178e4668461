"""What the public price list says about each plan."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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


class CheckoutIn(BaseModel):
    plan: str = Field(min_length=1, max_length=32, description="A plan id from GET /v1/plans")


class RedirectOut(BaseModel):
    url: str = Field(description="Send the browser here")
    kind: Literal["checkout", "portal"] = Field(
        description="checkout: Stripe Checkout for a new subscription; portal: the Customer "
        "Portal (an account that already has a subscription changes it there)"
    )


class SpendCapIn(BaseModel):
    spend_cap_cents: int | None = Field(
        ge=0, le=10**9, description="Pay-as-you-go's most a month, in cents; null: no cap"
    )


class BillingOut(BaseModel):
    enabled: bool = Field(description="Whether this server takes payment (Stripe configured)")
    plan: str = Field(description="The plan whose limits apply now")
    subscribed_plan: str | None = Field(description="The plan of the Stripe subscription")
    subscription_status: str | None = Field(description="Stripe's: active, past_due, canceled…")
    period_start: datetime | None
    period_end: datetime | None
    payment_overdue_since: datetime | None = Field(
        description="Unpaid since; the account falls back to Free when the grace period ends"
    )
    plan_ends_at: datetime | None = Field(description="A cancelled plan applies until then")
    grace_ends_at: datetime | None = Field(
        description="For an unpaid subscription: when the account falls back to Free"
    )
    spend_cap_cents: int | None
    spend_cap_characters: int | None = Field(description="The spend cap, in characters")
    portal_available: bool = Field(
        description="Whether POST /billing/portal can open (the account has paid before)"
    )


class StripeWebhookOut(BaseModel):
    received: bool = True
    duplicate: bool = Field(description="This event had been received before: nothing more done")
