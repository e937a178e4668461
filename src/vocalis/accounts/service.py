"""Rules for accounts and API keys. Functions take a session and plain values, and only flush."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.keys import display_prefix, generate_api_key, hash_api_key, is_well_formed
from vocalis.accounts.models import Account, ApiKey
from vocalis.kit.errors import Conflict, InvalidInput, NotFound, Unauthorized
from vocalis.kit.networks import IPNetwork, within

LAST_USED_RESOLUTION = timedelta(minutes=1)

ACCOUNT_STATUSES = ("active", "suspended")
DELETED = "deleted"  # what erasure leaves: the row keeps the books, nobody can use it


class Scope(StrEnum):
    TTS = "tts"
    JOBS = "jobs"
    USAGE_READ = "usage:read"
    ADMIN = "admin"


DEFAULT_SCOPES = (Scope.TTS, Scope.JOBS, Scope.USAGE_READ)


@dataclass(frozen=True)
class Principal:
    """Who is calling: plain values from the verified key, safe to keep past the session."""

    account_id: str
    key_id: str
    scopes: frozenset[str]
    last_used_at: datetime | None
    rate_limit_rpm: int | None = None
    allowed_voices: frozenset[str] | None = None
    allowed_networks: tuple[IPNetwork, ...] | None = None
    plan: str = "free"
    char_limit: int | None = None  # the account's own allowances, where it has them
    seconds_limit: int | None = None
    key_char_cap: int | None = None  # the key's own monthly character cap
    expires_at: datetime | None = None
    spend_cap_cents: int | None = None  # pay-as-you-go's own cap
    billing_period: tuple[datetime, datetime] | None = None  # a subscription's, if any

    def may_use_voice(self, voice_id: str) -> bool:
        return self.allowed_voices is None or voice_id in self.allowed_voices

    def may_connect_from(self, address: str | None) -> bool:
        return self.allowed_networks is None or within(address, self.allowed_networks)


# --- accounts -----------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid email address: {exc}", code="invalid_email") from exc


@dataclass(frozen=True)
class AccountLimits:
    """An account's own monthly allowances, overriding its plan's; None leaves a value as it is
    (a new account follows its plan)."""

    char_limit: int | None = None
    seconds_limit: int | None = None


async def create_account(
    session: AsyncSession,
    email: str,
    *,
    now: datetime,
    plans: Collection[str],
    plan: str = "free",
    limits: AccountLimits = AccountLimits(),
) -> Account:
    """A new account on `plan` (one of `plans`, the ones this server sells)."""
    email = normalize_email(email)
    _check_plan(plan, plans)
    _check_limits(limits)
    if await _find_account(session, email) is not None:
        raise Conflict(f"an account with email {email} already exists", code="account_exists")
    account = Account(
        email=email,
        plan=plan,
        status="active",
        email_verified_at=now,  # made by an operator, who vouches for the address
        char_limit=limits.char_limit,
        seconds_limit=limits.seconds_limit,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await session.flush()
    return account


async def update_account(
    session: AsyncSession,
    account_id: str,
    *,
    now: datetime,
    plans: Collection[str],
    plan: str | None = None,
    status: str | None = None,
    limits: AccountLimits = AccountLimits(),
    clear: Collection[str] = (),
) -> Account:
    """Change plan, status or limits; usage so far is kept (a lowered limit simply binds).
    The limits named in `clear` go back to the plan's. A deleted account stays deleted."""
    account = await get_account(session, account_id)
    if status is not None and status not in ACCOUNT_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(ACCOUNT_STATUSES)}", code="invalid_status"
        )
    if status is not None and account.status == DELETED:
        raise Conflict("this account was deleted; it cannot be reactivated", code="account_deleted")
    _check_limits(limits)
    if plan is not None:
        _check_plan(plan, plans)
        account.plan = plan
    if status is not None:
        account.status = status
    if limits.char_limit is not None:
        account.char_limit = limits.char_limit
    if limits.seconds_limit is not None:
        account.seconds_limit = limits.seconds_limit
    if "char_limit" in clear:
        account.char_limit = None
    if "seconds_limit" in clear:
        account.seconds_limit = None
    account.updated_at = now
    await session.flush()
    return account


async def get_account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}", code="account_not_found")
    return account


async def list_accounts(
    session: AsyncSession, *, limit: int, offset: int, email: str | None = None
) -> tuple[list[Account], int]:
    query = select(Account)
    if email:
        query = query.where(Account.email.contains(email.lower()))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Account.created_at, Account.id).limit(limit).offset(offset)
    )
    return list(rows), total


def _check_limits(limits: AccountLimits) -> None:
    for limit in (limits.char_limit, limits.seconds_limit):
        if limit is not None and limit < 0:
            raise InvalidInput("limits cannot be negative", code="invalid_limit")


def _check_plan(plan: str, plans: Collection[str]) -> None:
    if plan not in plans:
        raise InvalidInput(
            f"no plan '{plan}'; plans are {', '.join(plans)}",
            code="unknown_plan",
            extra={"plans": list(plans)},
        )


async def get_account_by_email(session: AsyncSession, email: str) -> Account:
    account = await _find_account(session, normalize_email(email))
    if account is None:
        raise NotFound(f"no account with email {email}", code="account_not_found")
    return account


async def _find_account(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == email))


# --- keys ---------------------------------------------------------------------------------------


def parse_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(scopes) - {scope.value for scope in Scope})
    if unknown:
        allowed = ", ".join(scope.value for scope in Scope)
        raise InvalidInput(
            f"unknown scope(s) {', '.join(unknown)}; allowed: {allowed}", code="invalid_scope"
        )
    return sorted(set(scopes))


@dataclass(frozen=True)
class KeyOptions:
    """What a new key may do. None means "no restriction" (or the server default for rpm)."""

    name: str = "default"
    scopes: tuple[str, ...] = tuple(DEFAULT_SCOPES)
    rate_limit_rpm: int | None = None
    monthly_char_cap: int | None = None
    allowed_voices: tuple[str, ...] | None = None
    allowed_cidrs: tuple[str, ...] | None = None
    expires_at: datetime | None = None


def parse_cidrs(cidrs: list[str] | tuple[str, ...]) -> list[str]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError as exc:
            raise InvalidInput(f"not an IP address or CIDR: {cidr!r}", code="invalid_cidr") from exc
    return networks


async def create_api_key(
    session: AsyncSession,
    account: Account,
    *,
    pepper: str,
    now: datetime,
    options: KeyOptions = KeyOptions(),
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never retrievable again."""
    if options.rate_limit_rpm is not None and options.rate_limit_rpm < 1:
        raise InvalidInput("rate_limit_rpm must be at least 1", code="invalid_limit")
    if options.monthly_char_cap is not None and options.monthly_char_cap < 0:
        raise InvalidInput("monthly_char_cap cannot be negative", code="invalid_limit")
    if options.expires_at is not None and options.expires_at <= now:
        raise InvalidInput("expires_at must be in the future", code="invalid_expiry")
    raw = generate_api_key()
    key = ApiKey(
        account_id=account.id,
        name=options.name,
        prefix=display_prefix(raw),
        key_hash=hash_api_key(raw, pepper),
        scopes=parse_scopes(list(options.scopes)),
        rate_limit_rpm=options.rate_limit_rpm,
        monthly_char_cap=options.monthly_char_cap,
        allowed_voices=sorted(set(options.allowed_voices))
        if options.allowed_voices is not None
        else None,
        allowed_cidrs=parse_cidrs(options.allowed_cidrs)
        if options.allowed_cidrs is not None
        else None,
        expires_at=options.expires_at,
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, raw


async def revoke_api_key(session: AsyncSession, key_id: str, *, now: datetime) -> ApiKey:
    key = await get_api_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def list_api_keys(session: AsyncSession, account_id: str | None = None) -> list[ApiKey]:
    keys, _ = await page_api_keys(session, account_id, limit=None, offset=0)
    return keys


async def page_api_keys(
    session: AsyncSession, account_id: str | None, *, limit: int | None, offset: int
) -> tuple[list[ApiKey], int]:
    """Keys, oldest first, with the total count (all accounts when `account_id` is None)."""
    query = select(ApiKey)
    if account_id is not None:
        query = query.where(ApiKey.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(ApiKey.created_at, ApiKey.id).limit(limit).offset(offset)
    )
    return list(rows), total


async def get_api_key(
    session: AsyncSession, key_id: str, *, account_id: str | None = None
) -> ApiKey:
    """A key by id; with `account_id`, another account's key is indistinguishable from none."""
    key = await session.get(ApiKey, key_id)
    if key is None or (account_id is not None and key.account_id != account_id):
        raise NotFound(f"no API key with id {key_id}", code="key_not_found")
    return key


async def verify_api_key(
    session: AsyncSession, raw: str, *, pepper: str, now: datetime
) -> Principal:
    """Map a presented secret to its caller, or raise 401 saying why it is refused."""
    if not is_well_formed(raw):
        raise Unauthorized("malformed API key", code="invalid_api_key")
    principal = await find_principal(session, hash_api_key(raw, pepper))
    return check_principal(principal, now)


@dataclass(frozen=True)
class KeyStanding:
    """A key's caller, and what can refuse it later: kept a few seconds by `KeyResolver`."""

    principal: Principal | None  # None: no such key
    revoked: bool = False
    account_active: bool = True


async def find_principal(session: AsyncSession, digest: str) -> KeyStanding:
    """Key, account and plan in one query of plain columns (no ORM objects: the hot path)."""
    row = (
        await session.execute(
            select(
                ApiKey.id,
                ApiKey.key_hash,
                ApiKey.account_id,
                ApiKey.scopes,
                ApiKey.last_used_at,
                ApiKey.rate_limit_rpm,
                ApiKey.allowed_voices,
                ApiKey.allowed_cidrs,
                ApiKey.monthly_char_cap,
                ApiKey.expires_at,
                ApiKey.revoked_at,
                Account.status,
                Account.plan,
                Account.char_limit,
                Account.seconds_limit,
                Account.spend_cap_cents,
                Account.billing_period_start,
                Account.billing_period_end,
            )
            .join(Account, Account.id == ApiKey.account_id)
            .where(ApiKey.key_hash == digest)
        )
    ).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return KeyStanding(None)
    principal = Principal(
        account_id=row.account_id,
        key_id=row.id,
        scopes=frozenset(row.scopes),
        last_used_at=row.last_used_at,
        rate_limit_rpm=row.rate_limit_rpm,
        allowed_voices=frozenset(row.allowed_voices) if row.allowed_voices is not None else None,
        allowed_networks=(
            tuple(ipaddress.ip_network(cidr) for cidr in row.allowed_cidrs)
            if row.allowed_cidrs is not None
            else None
        ),
        plan=row.plan,
        char_limit=row.char_limit,
        seconds_limit=row.seconds_limit,
        key_char_cap=row.monthly_char_cap,
        expires_at=row.expires_at,
        spend_cap_cents=row.spend_cap_cents,
        billing_period=billing_period(row.billing_period_start, row.billing_period_end),
    )
    return KeyStanding(principal, row.revoked_at is not None, row.status == "active")


def billing_period(
    start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime] | None:
    return (start, end) if start is not None and end is not None else None


def check_principal(standing: KeyStanding, now: datetime) -> Principal:
    """The caller, or a 401 saying why the key is refused (at `now`: keys expire)."""
    principal = standing.principal
    if principal is None:
        raise Unauthorized("unknown API key", code="invalid_api_key")
    if standing.revoked:
        raise Unauthorized("this API key has been revoked", code="revoked_api_key")
    if principal.expires_at is not None and principal.expires_at <= now:
        raise Unauthorized("this API key has expired", code="expired_api_key")
    if not standing.account_active:
        raise Unauthorized("this account is suspended", code="account_suspended")
    return principal


async def record_key_use(session: AsyncSession, key_id: str, *, now: datetime) -> None:
    """Stamp `last_used_at`, at most once a minute per key to keep writes off the hot path."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
    )
