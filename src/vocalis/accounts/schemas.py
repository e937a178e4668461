"""Request and response bodies for accounts and API keys (never a key's secret, except once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from vocalis.accounts.models import ApiKey
from vocalis.accounts.service import DEFAULT_SCOPES, KeyOptions, Scope
from vocalis.kit.schemas import RequestBody

# Limits are bounded by their columns, with headroom for the arithmetic done on them in SQL.
# Account limits (64-bit): the largest integer a JSON client reads exactly; seconds x 1000, as
# milliseconds, and `used + n` still fit in 64 bits. Key limits live in 32-bit columns.
MAX_ACCOUNT_LIMIT = 2**53 - 1
MAX_KEY_LIMIT = 2**31 - 1
AccountLimit = Annotated[int, Field(ge=0, le=MAX_ACCOUNT_LIMIT)]
KeyLimit = Annotated[int, Field(ge=0, le=MAX_KEY_LIMIT)]


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    plan: str
    status: str
    char_limit: int | None = Field(description="Monthly characters allowed (None: no cap)")
    seconds_limit: int | None = Field(description="Monthly audio seconds allowed (None: no cap)")
    char_limit_override: int | None = Field(
        description="The account's own character allowance, instead of its plan's"
    )
    seconds_limit_override: int | None
    chars_used: int
    audio_ms_used: int
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    subscription_status: str | None = Field(None, description="Stripe's: active, past_due, …")
    subscribed_plan: str | None = Field(None, description="The plan of the Stripe subscription")
    payment_overdue_since: datetime | None = None
    plan_ends_at: datetime | None = Field(None, description="A cancelled plan applies until then")
    spend_cap_cents: int | None = None


class AccountCreate(RequestBody):
    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    plan: str | None = Field(None, max_length=32, description="The server's default if omitted")
    char_limit: AccountLimit | None = Field(
        None, description="Monthly characters, instead of the plan's; the plan's if omitted"
    )
    seconds_limit: AccountLimit | None = Field(
        None, description="Monthly audio seconds, instead of the plan's; the plan's if omitted"
    )


class AccountUpdate(RequestBody):
    plan: str | None = Field(None, max_length=32)
    status: Literal["active", "suspended"] | None = None
    char_limit: AccountLimit | None = Field(
        None, description="The account's own monthly characters; null: back to the plan's"
    )
    seconds_limit: AccountLimit | None = Field(
        None, description="The account's own monthly audio seconds; null: back to the plan's"
    )


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    name: str
    prefix: str
    scopes: list[str]
    rate_limit_rpm: int | None
    monthly_char_cap: int | None
    period_chars_used: int = Field(description="Characters this key used in the current period")
    allowed_voices: list[str] | None
    allowed_cidrs: list[str] | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    state: str = Field(description="active, revoked or expired")

    @classmethod
    def from_key(cls, key: ApiKey, now: datetime, chars_used: int = 0) -> KeyOut:
        computed = ("state", "period_chars_used")
        fields = {name: getattr(key, name) for name in cls.model_fields if name not in computed}
        return cls(**fields, state=key.state(now), period_chars_used=chars_used)


class KeyFields(RequestBody):
    """What a new key can be given, by its owner (`POST /account/keys`) or an operator."""

    name: str = Field("default", min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: list(DEFAULT_SCOPES), min_length=1)
    rate_limit_rpm: Annotated[KeyLimit, Field(ge=1)] | None = Field(
        None, description="Requests per minute; server default if omitted"
    )
    monthly_char_cap: KeyLimit | None = None
    allowed_voices: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, min_length=1, max_length=100
    )
    allowed_cidrs: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, min_length=1, max_length=100
    )
    expires_at: AwareDatetime | None = Field(
        None, description="With a time zone (e.g. 2027-06-30T00:00:00Z), and in the future"
    )

    @field_validator("expires_at")
    @classmethod
    def _storable(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC: a time zone that pushes it past year 9999 cannot be."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("expires_at is out of range once converted to UTC") from None

    def options(self) -> KeyOptions:
        return KeyOptions(
            name=self.name,
            scopes=tuple(self.scopes),
            rate_limit_rpm=self.rate_limit_rpm,
            monthly_char_cap=self.monthly_char_cap,
            allowed_voices=tuple(self.allowed_voices) if self.allowed_voices is not None else None,
            allowed_cidrs=tuple(self.allowed_cidrs) if self.allowed_cidrs is not None else None,
            expires_at=self.expires_at,
        )


class KeyCreate(KeyFields):
    account_id: str


class KeyCreated(BaseModel):
    key: KeyOut
    secret: str = Field(description="The API key itself. Shown once; store it now.")
