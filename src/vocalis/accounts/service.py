"""Rules for accounts and API keys. Functions take a session and plain values, and only flush."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from vocalis.accounts.keys import display_prefix, generate_api_key, hash_api_key, is_well_formed
from vocalis.accounts.models import Account, ApiKey
from vocalis.kit.errors import Conflict, InvalidInput, NotFound, Unauthorized

LAST_USED_RESOLUTION = timedelta(minutes=1)


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


# --- accounts -----------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"invalid email address: {exc}", code="invalid_email") from exc


async def create_account(
    session: AsyncSession, email: str, *, now: datetime, plan: str = "free"
) -> Account:
    email = normalize_email(email)
    if await _find_account(session, email) is not None:
        raise Conflict(f"an account with email {email} already exists", code="account_exists")
    account = Account(email=email, plan=plan, status="active", created_at=now, updated_at=now)
    session.add(account)
    await session.flush()
    return account


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


async def create_api_key(
    session: AsyncSession,
    account: Account,
    *,
    pepper: str,
    now: datetime,
    name: str = "default",
    scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never retrievable again."""
    raw = generate_api_key()
    key = ApiKey(
        account_id=account.id,
        name=name,
        prefix=display_prefix(raw),
        key_hash=hash_api_key(raw, pepper),
        scopes=parse_scopes(list(scopes)),
        expires_at=expires_at,
        created_at=now,
    )
    session.add(key)
    await session.flush()
    return key, raw


async def revoke_api_key(session: AsyncSession, key_id: str, *, now: datetime) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()
    return key


async def list_api_keys(session: AsyncSession, account_id: str) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.created_at)
    )
    return list(result)


async def verify_api_key(
    session: AsyncSession, raw: str, *, pepper: str, now: datetime
) -> Principal:
    """Map a presented secret to its caller, or raise 401 saying why it is refused."""
    if not is_well_formed(raw):
        raise Unauthorized("malformed API key", code="invalid_api_key")
    digest = hash_api_key(raw, pepper)
    key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == digest).options(joinedload(ApiKey.account))
    )
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        raise Unauthorized("unknown API key", code="invalid_api_key")
    if key.revoked_at is not None:
        raise Unauthorized("this API key has been revoked", code="revoked_api_key")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("this API key has expired", code="expired_api_key")
    if not key.account.is_active:
        raise Unauthorized("this account is suspended", code="account_suspended")
    return Principal(
        account_id=key.account_id,
        key_id=key.id,
        scopes=frozenset(key.scopes),
        last_used_at=key.last_used_at,
    )


async def record_key_use(session: AsyncSession, key_id: str, *, now: datetime) -> None:
    """Stamp `last_used_at`, at most once a minute per key to keep writes off the hot path."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
    )
