"""What billing keeps: Stripe's events as received, and pay-as-you-go usage reported to Stripe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vocalis.kit.db import Base, UTCDateTime


class BillingEvent(Base):
    """One Stripe event, stored once by its id when the webhook receives it (a redelivery finds
    the row and adds nothing) and processed afterwards by the worker, with retries."""

    __tablename__ = "billing_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # Stripe's evt_…
    type: Mapped[str] = mapped_column(String(100))
    stripe_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|processed|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    account_id: Mapped[str | None] = mapped_column(String(40), index=True)
    outcome: Mapped[str | None] = mapped_column(String(300))  # what processing it did
    last_error: Mapped[str | None] = mapped_column(String(500))


class UsageReport(Base):
    """The characters a pay-as-you-go account was charged in one usage period up to the end of
    one hour, less what earlier reports said: one Billing Meter event. Its id is the event's
    `identifier`, so however often a report is retried Stripe counts it once; and the reports
    of a period add up to exactly what its counter charged."""

    __tablename__ = "billing_usage_reports"
    __table_args__ = (UniqueConstraint("account_id", "period_start", "hour_start"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime())
    timestamp: Mapped[int] = mapped_column(BigInteger)  # the meter event's, in Unix seconds
    characters: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|reported|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
