"""Jobs (the row is the queue) and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vocalis.kit.db import Base, UTCDateTime
from vocalis.kit.ids import new_id


class Job(Base):
    """One unit of asynchronous work: queued → running → succeeded | failed | canceled.

    Workers claim a row with a lease (`lease_owner`, `lease_expires_at`) and keep it alive with
    heartbeats; a row whose lease ran out belongs to whichever worker claims it next. The quota
    reserved at admission is described by `characters`, `estimated_audio_ms` and
    `quota_period_start`, so the worker that finishes the job can settle or refund it exactly.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_account_created", "account_id", "created_at"),
        Index("ix_jobs_key_status", "key_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("job"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    voice: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(16))
    item_count: Mapped[int] = mapped_column(Integer, default=1)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    client_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    text_hash: Mapped[str | None] = mapped_column(String(16))
    characters: Mapped[int] = mapped_column(BigInteger)
    estimated_audio_ms: Mapped[int] = mapped_column(BigInteger)
    quota_period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    audio_ms: Mapped[int | None] = mapped_column(BigInteger)
    audio_bytes: Mapped[int | None] = mapped_column(BigInteger)
    result_path: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_after: Mapped[datetime] = mapped_column(UTCDateTime())
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    """An `Idempotency-Key` seen from an account: in progress, or done with the job it made."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
