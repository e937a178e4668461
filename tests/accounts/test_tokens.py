"""Mailed single-use tokens on SQLite and PostgreSQL: spent once (even by two requests at the
same moment), refused alike when unknown, used, expired or meant for another purpose, and only
the latest one of a purpose works."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from vocalis.accounts.keys import hash_api_key
from vocalis.accounts.models import Account, AccountToken
from vocalis.accounts.tokens import (
    CHANGE_EMAIL,
    LIFETIMES,
    RESET_PASSWORD,
    VERIFY_EMAIL,
    InvalidToken,
    issue_token,
    last_issued_at,
    spend_token,
)
from vocalis.kit.db import Database

PEPPER = "test-pepper-" + "x" * 20
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
REFUSAL = "this link is invalid or has expired; ask for a new one"


async def _account(database: Database, email: str = "user@example.com") -> str:
    async with database.session(write=True) as session:
        account = Account(email=email, created_at=T0, updated_at=T0)
        session.add(account)
        await session.flush()
        return account.id


async def _issue(
    database: Database,
    account_id: str,
    purpose: str = VERIFY_EMAIL,
    now: datetime = T0,
    new_email: str | None = None,
) -> str:
    async with database.session(write=True) as session:
        return await issue_token(
            session,
            account_id=account_id,
            purpose=purpose,
            now=now,
            pepper=PEPPER,
            new_email=new_email,
        )


async def _spend(
    database: Database, token: str, purpose: str = VERIFY_EMAIL, now: datetime = T0
) -> AccountToken:
    async with database.session(write=True) as session:
        return await spend_token(session, token, purpose=purpose, now=now, pepper=PEPPER)


async def _refused(
    database: Database, token: str, purpose: str = VERIFY_EMAIL, now: datetime = T0
) -> None:
    with pytest.raises(InvalidToken) as refused:
        await _spend(database, token, purpose, now)
    assert (refused.value.status_code, refused.value.code) == (422, "invalid_token")
    assert refused.value.detail == REFUSAL


def test_lifetimes() -> None:
    assert LIFETIMES == {
        VERIFY_EMAIL: timedelta(hours=24),
        RESET_PASSWORD: timedelta(hours=1),
        CHANGE_EMAIL: timedelta(hours=24),
    }


async def test_a_token_is_spent_once(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        token = await _issue(database, account_id)
        spent = await _spend(database, token, now=T0 + timedelta(minutes=5))
        assert (spent.account_id, spent.purpose) == (account_id, VERIFY_EMAIL)
        assert spent.new_email is None
        assert spent.used_at == T0 + timedelta(minutes=5)
        await _refused(database, token, now=T0 + timedelta(minutes=6))
        await _refused(database, "never-issued")
    finally:
        await database.dispose()


async def test_an_expired_token_is_refused(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        token = await _issue(database, account_id, RESET_PASSWORD)
        await _refused(database, token, RESET_PASSWORD, T0 + timedelta(hours=1))
        await _refused(database, token, RESET_PASSWORD, T0 + timedelta(days=3))
        # Only the lifetime refused it: just inside it, it works.
        spent = await _spend(database, token, RESET_PASSWORD, T0 + timedelta(minutes=59))
        assert spent.account_id == account_id
    finally:
        await database.dispose()


async def test_a_token_for_another_purpose_is_refused_and_not_used_up(database_url: str) -> None:
    database = Database(database_url)
    try:
        token = await _issue(database, await _account(database), VERIFY_EMAIL)
        await _refused(database, token, RESET_PASSWORD)
        await _refused(database, token, CHANGE_EMAIL)
        assert (await _spend(database, token, VERIFY_EMAIL)).purpose == VERIFY_EMAIL
    finally:
        await database.dispose()


async def test_a_new_token_invalidates_the_older_ones_of_its_purpose_only(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        other_account = await _account(database, "other@example.com")
        first = await _issue(database, account_id, RESET_PASSWORD)
        reset_elsewhere = await _issue(database, other_account, RESET_PASSWORD)
        verify = await _issue(database, account_id, VERIFY_EMAIL)
        second = await _issue(database, account_id, RESET_PASSWORD, T0 + timedelta(minutes=2))
        await _refused(database, first, RESET_PASSWORD)
        assert (await _spend(database, second, RESET_PASSWORD)).account_id == account_id
        assert (await _spend(database, verify)).account_id == account_id
        assert (await _spend(database, reset_elsewhere, RESET_PASSWORD)).account_id == (
            other_account
        )
    finally:
        await database.dispose()


async def test_a_change_email_token_carries_the_new_address(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)
        token = await _issue(database, account_id, CHANGE_EMAIL, new_email="new@example.com")
        spent = await _spend(database, token, CHANGE_EMAIL, T0 + timedelta(hours=23))
        assert (spent.account_id, spent.new_email) == (account_id, "new@example.com")
        async with database.session(write=True) as session:
            with pytest.raises(ValueError):
                await issue_token(
                    session, account_id=account_id, purpose=CHANGE_EMAIL, now=T0, pepper=PEPPER
                )
            with pytest.raises(ValueError):
                await issue_token(
                    session, account_id=account_id, purpose="unlock", now=T0, pepper=PEPPER
                )
    finally:
        await database.dispose()


async def test_the_database_never_holds_the_raw_token(database_url: str) -> None:
    database = Database(database_url)
    try:
        token = await _issue(database, await _account(database))
        async with database.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM account_tokens"))).all()
        values = [str(value) for row in rows for value in row]
        assert len(rows) == 1
        assert not any(token in value for value in values)
        assert hash_api_key(token, PEPPER) in values
    finally:
        await database.dispose()


async def test_last_issued_at_is_the_latest_of_the_purpose(database_url: str) -> None:
    database = Database(database_url)
    try:
        account_id = await _account(database)

        async def last(purpose: str) -> datetime | None:
            async with database.session() as session:
                return await last_issued_at(session, account_id=account_id, purpose=purpose)

        assert await last(VERIFY_EMAIL) is None
        await _issue(database, account_id, VERIFY_EMAIL, T0)
        token = await _issue(database, account_id, VERIFY_EMAIL, T0 + timedelta(minutes=5))
        await _spend(database, token, now=T0 + timedelta(minutes=6))  # a used one still counts
        assert await last(VERIFY_EMAIL) == T0 + timedelta(minutes=5)
        assert await last(RESET_PASSWORD) is None
    finally:
        await database.dispose()


async def test_two_concurrent_spends_of_one_token_succeed_once(database_url: str) -> None:
    """Two processes' requests (two engines, two connections) use one link at the same moment;
    each holds its transaction open a while after its UPDATE, so they truly overlap."""
    setup = Database(database_url)
    databases = [Database(database_url), Database(database_url)]
    try:
        token = await _issue(setup, await _account(setup), RESET_PASSWORD)

        async def attempt(database: Database) -> bool:
            try:
                async with database.session(write=True) as session:
                    await spend_token(session, token, purpose=RESET_PASSWORD, now=T0, pepper=PEPPER)
                    await asyncio.sleep(0.2)  # still uncommitted while the other one tries
            except InvalidToken:
                return False
            return True

        outcomes = await asyncio.gather(*(attempt(database) for database in databases))
        assert sorted(outcomes) == [False, True]
        await _refused(setup, token, RESET_PASSWORD)
    finally:
        for database in (setup, *databases):
            await database.dispose()
