"""Webhook tables: an account's signing secret, each event's delivery, each attempt at it.

They know no domain: a delivery carries the id of the job it announces (`job_id`) but no foreign
key to it, so the dispatcher below the jobs package can read and update them on its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vocalis.kit.db import Base, UTCDateTime
from vocalis.kit.ids import new_id

ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class WebhookSecret(Base):
    """An account's signing secret, and the previous one while a rotation overlaps."""

    __tablename__ = "webhook_secrets"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One event for one URL: retried on a schedule until delivered or given up on.

    Its id is the `webhook-id` header, the same on every attempt, so receivers can deduplicate.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("msg"))
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Base):
    """What happened on one try of a delivery."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)
