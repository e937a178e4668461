"""Accounts and their API keys (database rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocalis.kit.db import Base, UTCDateTime
from vocalis.kit.ids import new_id


class Account(Base):
    """A customer: owns keys, quota limits and the counters of the current period.

    Email is stored lower-cased. Counters cover [period_start, period_end); a request after
    period_end starts a new period (lazily, see `vocalis.usage.quota`).
    """

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("acc"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str] = mapped_column(String(32), default="free")
    status: Mapped[str] = mapped_column(String(16), default="active")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64))
    char_limit: Mapped[int] = mapped_column(BigInteger)
    seconds_limit: Mapped[int] = mapped_column(BigInteger)
    chars_used: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_ms_used: Mapped[int] = mapped_column(BigInteger, default=0)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="account", lazy="raise")

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class ApiKey(Base):
    """An API key. Only a keyed hash of the secret is stored; `prefix` is what lists show."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    rate_limit_rpm: Mapped[int | None] = mapped_column(Integer)
    monthly_char_cap: Mapped[int | None] = mapped_column(Integer)
    period_chars_used: Mapped[int] = mapped_column(BigInteger, default=0)
    allowed_voices: Mapped[list[str] | None] = mapped_column(JSON)
    allowed_cidrs: Mapped[list[str] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship(back_populates="api_keys", lazy="raise")

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
