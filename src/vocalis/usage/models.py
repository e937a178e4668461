"""Usage rows: quota periods, reservations of running requests, one event per authenticated
request, and per-day aggregates for fast reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vocalis.kit.db import Base, UTCDateTime


class UsageEvent(Base):
    """What one request did and cost. Never the text: only a keyed 16-hex hash of it."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    method: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int] = mapped_column(Integer)
    voice: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(20))
    characters: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[int] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(45))
    text_hash: Mapped[str | None] = mapped_column(String(16))
    # completed: answered; failed: refused or broke; canceled: the client hung up (or canceled
    # its job) and was refunded; interrupted: the server stopped or died mid-request, refunded.
    outcome: Mapped[str | None] = mapped_column(String(16))


class UsagePeriod(Base):
    """What an account (`key_id` empty) or one of its keys used and holds reserved in one
    quota period. Allowances are not here: they come from the account's plan (billing)."""

    __tablename__ = "usage_periods"
    __table_args__ = (
        UniqueConstraint("account_id", "key_id", "period_start", name="uq_usage_periods_row"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    chars_used: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_ms_used: Mapped[int] = mapped_column(BigInteger, default=0)
    chars_reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_ms_reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class QuotaReservation(Base):
    """Quota taken by a synchronous request that is still running, written in the same
    transaction as the counters it moved.

    Settling or refunding deletes the row in the transaction that corrects the counters, so a
    reservation is given back exactly once. The process serving the request keeps
    `lease_expires_at` in the future; a row whose lease ran out belongs to a process that died
    (`kill -9`, a crash, a lost machine): any process sweeps it — refund, and a usage event
    marked `interrupted` in its place.
    """

    __tablename__ = "quota_reservations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(40), index=True)
    key_id: Mapped[str] = mapped_column(String(40))
    characters: Mapped[int] = mapped_column(BigInteger)
    audio_ms: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    owner: Mapped[str] = mapped_column(String(100), index=True)
    lease_expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(String(200))
    voice: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(20))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    text_hash: Mapped[str | None] = mapped_column(String(16))


class UsageDaily(Base):
    """Sums of usage events per account, UTC day, key, endpoint, voice, language and status.

    Empty strings stand for "none" so the unique key works on every database (NULLs never clash).
    """

    __tablename__ = "usage_daily"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "day", "key_id", "endpoint", "voice", "language", "status_code",
            name="uq_usage_daily_bucket",
        ),
        Index("ix_usage_daily_day", "day"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    key_id: Mapped[str] = mapped_column(String(40))
    endpoint: Mapped[str] = mapped_column(String(200))
    voice: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(BigInteger)
    characters: Mapped[int] = mapped_column(BigInteger)
    audio_ms: Mapped[int] = mapped_column(BigInteger)
    audio_bytes: Mapped[int] = mapped_column(BigInteger)
    cache_hits: Mapped[int] = mapped_column(BigInteger)
