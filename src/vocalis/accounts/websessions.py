"""Web logins: a random token in a cookie, only its keyed hash in the database.

A copy of the database therefore opens no session, and looking a token up is one indexed
equality on the hash (no comparison of secrets in Python). Sessions slide: each use pushes the
expiry `lifetime` ahead, written at most once a minute per session so that a page firing many
requests costs one write, not one each. Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.keys import hash_api_key
from vocalis.accounts.models import AccountToken, WebSession
from vocalis.kit.db import Database

COOKIE_NAME = "vocalis_session"
RENEW_AFTER = timedelta(minutes=1)  # a session's expiry is written at most this often
USER_AGENT_LENGTH = 200
CLIENT_IP_LENGTH = 45
_CSRF_LABEL = b"vocalis-csrf-v1\x00"


@dataclass(frozen=True)
class SessionOwner:
    """Who a session cookie stands for: plain values, safe to keep past the database session."""

    session_id: str
    account_id: str
    expires_at: datetime


async def open_session(
    session: AsyncSession,
    *,
    account_id: str,
    now: datetime,
    lifetime: timedelta,
    pepper: str,
    client_ip: str | None,
    user_agent: str | None,
) -> str:
    """Start a login for `account_id`; returns the raw token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            account_id=account_id,
            token_hash=hash_api_key(token, pepper),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            client_ip=client_ip[:CLIENT_IP_LENGTH] if client_ip else None,
            user_agent=user_agent[:USER_AGENT_LENGTH] if user_agent else None,
        )
    )
    await session.flush()
    return token


async def find_session(
    session: AsyncSession,
    raw_token: str,
    *,
    now: datetime,
    lifetime: timedelta,
    pepper: str,
) -> SessionOwner | None:
    """The owner of a live session, or None (unknown or expired token).

    A use at least a minute after the last recorded one renews the session; other uses only
    read. The renewal is a conditional UPDATE, so concurrent requests write it once. On SQLite
    a renewal inside a read unit of work can be refused when another connection wrote since the
    read began: call this in a write unit of work (`Database.session(write=True)`)."""
    row = (
        await session.execute(
            select(
                WebSession.id,
                WebSession.account_id,
                WebSession.last_seen_at,
                WebSession.expires_at,
            ).where(WebSession.token_hash == hash_api_key(raw_token, pepper))
        )
    ).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    owner = SessionOwner(session_id=row.id, account_id=row.account_id, expires_at=row.expires_at)
    if now - row.last_seen_at < RENEW_AFTER:
        return owner
    renewed = await session.execute(
        update(WebSession)
        .where(WebSession.id == row.id, WebSession.last_seen_at <= now - RENEW_AFTER)
        .values(last_seen_at=now, expires_at=now + lifetime)
        .execution_options(synchronize_session=False)
    )
    if _count(renewed) == 0:  # a concurrent request renewed it first
        return owner
    return SessionOwner(session_id=row.id, account_id=row.account_id, expires_at=now + lifetime)


async def end_session(session: AsyncSession, raw_token: str, *, pepper: str) -> None:
    """Log out: forget the session (nothing to do when it is already gone)."""
    await session.execute(
        delete(WebSession).where(WebSession.token_hash == hash_api_key(raw_token, pepper))
    )


async def end_other_sessions(
    session: AsyncSession, *, account_id: str, keep_session_id: str | None
) -> int:
    """End every session of the account but `keep_session_id` (None: all of them), e.g. after a
    password change; returns how many ended."""
    statement = delete(WebSession).where(WebSession.account_id == account_id)
    if keep_session_id is not None:
        statement = statement.where(WebSession.id != keep_session_id)
    return _count(await session.execute(statement))


def csrf_token(raw_token: str, pepper: str) -> str:
    """The CSRF token for a session: derived from its cookie token, so nothing is stored and a
    token from another session does not match. The label keeps it distinct from the stored hash."""
    message = _CSRF_LABEL + raw_token.encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def csrf_matches(raw_token: str, presented: str | None, pepper: str) -> bool:
    """Whether `presented` is this session's CSRF token (compared in constant time)."""
    if not presented:
        return False
    expected = csrf_token(raw_token, pepper).encode()
    return hmac.compare_digest(expected, presented.encode("utf-8", "surrogatepass"))


async def sweep_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired sessions (they already open nothing); returns how many."""
    return _count(await session.execute(delete(WebSession).where(WebSession.expires_at <= now)))


def _count(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount or 0


async def purge_expired_logins(database: Database, _store: object, now: datetime) -> int:
    """The retention sweep's purger (see `storage.retention`): expired sessions and mailed
    tokens, which open nothing any more, are deleted rather than kept for ever."""
    async with database.session(write=True) as session:
        sessions = await sweep_expired(session, now=now)
        spent = await session.execute(delete(AccountToken).where(AccountToken.expires_at <= now))
    return sessions + _count(spent)
