"""Web logins on SQLite and PostgreSQL: a random cookie token whose keyed hash alone is stored,
a sliding expiry written at most once a minute, logouts, and CSRF tokens bound to a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from vocalis.accounts.keys import hash_api_key
from vocalis.accounts.models import Account, WebSession
from vocalis.accounts.websessions import (
    COOKIE_NAME,
    SessionOwner,
    csrf_matches,
    csrf_token,
    end_other_sessions,
    end_session,
    find_session,
    open_session,
    sweep_expired,
)
from vocalis.kit.db import Database

PEPPER = "test-pepper-" + "x" * 20
LIFETIME = timedelta(hours=1)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def _account(database: Database, email: str = "user@example.com") -> str:
    async with database.session(write=True) as session:
        account = Account(email=email, created_at=T0, updated_at=T0)
        session.add(account)
        await session.flush()
        return account.id


async def _open(
    database: Database, account_id: str, now: datetime = T0, user_agent: str | None = "Firefox"
) -> str:
    async with database.session(write=True) as session:
        return await open_session(
            session,
            account_id=account_id,
            now=now,
            lifetime=LIFETIME,
            pepper=PEPPER,
            client_ip="203.0.113.7",
            user_agent=user_agent,
        )


async def _find(database: Database, token: str, now: datetime) -> SessionOwner | None:
    async with database.session(write=True) as session:
        return await find_session(session, token, now=now, lifetime=LIFETIME, pepper=PEPPER)


async def _row(database: Database, token: str) -> WebSession:
    async with database.session() as session:
        row = await session.scalar(
            select(WebSession).where(WebSession.token_hash == hash_api_key(token, PEPPER))
        )
    assert row is not None
    return row


async def _count(database: Database) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(WebSession)) or 0


async def test_an_opened_session_finds_its_owner_and_a_stranger_finds_none(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        token = await _open(database, account_id, user_agent="Mozilla/5.0 " + "x" * 300)
        assert len(token) >= 43  # 32 random bytes, URL-safe
        owner = await _find(database, token, T0 + timedelta(seconds=5))
        assert owner is not None
        assert owner.account_id == account_id
        assert owner.session_id.startswith("ses_")
        assert owner.expires_at == T0 + LIFETIME
        assert await _find(database, token + "x", T0) is None
        assert await _find(database, "", T0) is None
        row = await _row(database, token)
        assert row.id == owner.session_id
        assert (row.client_ip, len(row.user_agent or "")) == ("203.0.113.7", 200)
        assert COOKIE_NAME == "vocalis_session"
    finally:
        await database.dispose()


async def test_the_database_never_holds_the_raw_token(database_url: str) -> None:
    database = Database(database_url)
    try:
        token = await _open(database, await _account(database))
        async with database.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM web_sessions"))).all()
        values = [str(value) for row in rows for value in row]
        assert len(rows) == 1
        assert not any(token in value for value in values)
        assert hash_api_key(token, PEPPER) in values  # what is stored: the keyed hash
    finally:
        await database.dispose()


async def test_an_unused_session_expires_after_its_lifetime(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        unused, also_unused = await _open(database, account_id), await _open(database, account_id)
        assert await _find(database, unused, T0 + LIFETIME) is None
        assert await _find(database, also_unused, T0 + LIFETIME - timedelta(seconds=1)) is not None
    finally:
        await database.dispose()


async def test_a_used_session_slides_with_one_write_a_minute_at_most(database_url: str) -> None:
    database = Database(database_url)
    try:
        token = await _open(database, await _account(database))
        # Within the minute: nothing written, the expiry stays.
        soon = await _find(database, token, T0 + timedelta(seconds=30))
        assert soon is not None and soon.expires_at == T0 + LIFETIME
        row = await _row(database, token)
        assert (row.last_seen_at, row.expires_at) == (T0, T0 + LIFETIME)
        # Later: each use pushes the expiry a lifetime ahead of itself.
        t1 = T0 + timedelta(minutes=50)
        renewed = await _find(database, token, t1)
        assert renewed is not None and renewed.expires_at == t1 + LIFETIME
        row = await _row(database, token)
        assert (row.last_seen_at, row.expires_at) == (t1, t1 + LIFETIME)
        t2 = t1 + timedelta(minutes=50)  # past the first expiry; alive because it was used
        again = await _find(database, token, t2)
        assert again is not None and again.expires_at == t2 + LIFETIME
        assert await _find(database, token, t2 + LIFETIME) is None
    finally:
        await database.dispose()


async def test_ending_a_session_logs_it_out_and_ending_twice_is_fine(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        token, other = await _open(database, account_id), await _open(database, account_id)
        for _ in range(2):
            async with database.session(write=True) as session:
                await end_session(session, token, pepper=PEPPER)
        async with database.session(write=True) as session:
            await end_session(session, "never-issued", pepper=PEPPER)
        assert await _find(database, token, T0) is None
        assert await _find(database, other, T0) is not None
    finally:
        await database.dispose()


async def test_ending_the_other_sessions_keeps_exactly_one(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        stranger = await _open(database, await _account(database, "other@example.com"))
        tokens = [await _open(database, account_id) for _ in range(3)]
        kept = await _find(database, tokens[1], T0)
        assert kept is not None
        async with database.session(write=True) as session:
            ended = await end_other_sessions(
                session, account_id=account_id, keep_session_id=kept.session_id
            )
        assert ended == 2
        found = [await _find(database, token, T0) for token in tokens]
        assert [owner is not None for owner in found] == [False, True, False]
        assert await _find(database, stranger, T0) is not None  # another account's: untouched
        async with database.session(write=True) as session:
            assert await end_other_sessions(session, account_id=account_id, keep_session_id=None)
        assert await _find(database, tokens[1], T0) is None
        assert await _count(database) == 1
    finally:
        await database.dispose()


async def test_sweeping_deletes_only_expired_sessions(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        await _open(database, account_id, now=T0)
        fresh = await _open(database, account_id, now=T0 + timedelta(minutes=30))
        async with database.session(write=True) as session:
            assert await sweep_expired(session, now=T0 + LIFETIME) == 1
        assert await _count(database) == 1
        assert await _find(database, fresh, T0 + LIFETIME) is not None
    finally:
        await database.dispose()


def test_a_csrf_token_is_bound_to_its_session() -> None:
    mine, theirs = "cookie-token-one", "cookie-token-two"
    token = csrf_token(mine, PEPPER)
    assert csrf_matches(mine, token, PEPPER)
    assert csrf_token(mine, PEPPER) == token  # derived, nothing stored
    assert not csrf_matches(mine, csrf_token(theirs, PEPPER), PEPPER)
    assert not csrf_matches(theirs, token, PEPPER)
    assert not csrf_matches(mine, csrf_token(mine, "another-pepper-" + "y" * 20), PEPPER)
    assert not csrf_matches(mine, None, PEPPER)
    assert not csrf_matches(mine, "", PEPPER)
    assert not csrf_matches(mine, "é" + token[1:], PEPPER)  # odd input: no, not an error
    assert token != hash_api_key(mine, PEPPER)  # the stored session hash is not a CSRF token


async def test_the_retention_sweep_deletes_expired_logins_and_keeps_live_ones(
    database_url: str,
) -> None:
    from vocalis.accounts.tokens import VERIFY_EMAIL, issue_token
    from vocalis.accounts.websessions import purge_expired_logins

    database = Database(database_url)
    try:
        account_id = await _account(database)
        old = await _open(database, account_id, now=T0)
        live = await _open(database, account_id, now=T0 + LIFETIME)
        async with database.session(write=True) as session:
            await issue_token(
                session, account_id=account_id, purpose=VERIFY_EMAIL, now=T0, pepper=PEPPER
            )
        later = T0 + LIFETIME + timedelta(minutes=1)
        assert await purge_expired_logins(database, None, later) == 1  # the old session
        assert await _find(database, old, later) is None
        assert await _find(database, live, later) is not None
        a_day_on = T0 + timedelta(days=2)  # the 24 h verification token is gone too
        assert await purge_expired_logins(database, None, a_day_on) == 2
    finally:
        await database.dispose()
