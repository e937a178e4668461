"""Accounts and their API keys (database rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocalis.kit.db import Base, UTCDateTime
from vocalis.kit.ids import new_id


class Account(Base):
    """A customer: owns keys, and is on a plan (billing), with its own allowances where
    `char_limit` / `seconds_limit` are set. What it used lives in usage periods (usage).

    Email is stored lower-cased.
    """

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("acc"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str] = mapped_column(String(32), default="free")
    status: Mapped[str] = mapped_column(String(16), default="active")
    # An operator: their web login may use the admin API and the dashboard's admin pages.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64))
    # The subscription as Stripe last had it (billing keeps these; `plan` is what applies now).
    subscription_status: Mapped[str | None] = mapped_column(String(24))
    subscribed_plan: Mapped[str | None] = mapped_column(String(32))
    billing_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    billing_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    plan_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    spend_cap_cents: Mapped[int | None] = mapped_column(BigInteger)  # pay-as-you-go's own cap
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    char_limit: Mapped[int | None] = mapped_column(BigInteger)  # None: the plan's
    seconds_limit: Mapped[int | None] = mapped_column(BigInteger)
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


class WebSession(Base):
    """A web login. The cookie holds a random token; only its keyed hash is stored, so a copy
    of the database opens no session."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ses"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    client_ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class AccountToken(Base):
    """A single-use token mailed to a person: verify an address, reset a password, confirm a
    new address. Only its keyed hash is stored; `used_at` is set when it is spent."""

    __tablename__ = "account_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("tok"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(24))  # verify_email | reset_password | change_email
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(320))  # change_email only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
