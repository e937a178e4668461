"""The database layer on both backends: migrations are the schema, times stay UTC-aware."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from vocalis.accounts.models import Account
from vocalis.kit import migrations
from vocalis.kit.db import Base, Database


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    database = Database(database_url)
    async with database.engine.connect() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    await database.dispose()
    assert differences == []


async def test_migrations_downgrade_and_upgrade_cleanly(database_url: str) -> None:
    database = Database(database_url)
    assert await migrations.current_revision(database.engine) == migrations.head_revision()
    await migrations.downgrade(database.engine, "base")
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await migrations.upgrade(database.engine)
    assert await migrations.current_revision(database.engine) == migrations.head_revision()
    await database.dispose()


async def test_times_come_back_as_aware_utc(database_url: str) -> None:
    database = Database(database_url)
    local = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    async with database.session(write=True) as session:
        session.add(_account("t@example.com", local))
    async with database.session() as session:
        account = await session.scalar(select(Account))
    await database.dispose()
    assert account is not None
    assert account.created_at == local
    assert account.created_at.tzinfo == UTC


async def test_failed_unit_of_work_is_rolled_back(database_url: str) -> None:
    database = Database(database_url)
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError):
        async with database.session(write=True) as session:
            session.add(_account("gone@example.com", now))
            await session.flush()
            raise RuntimeError("boom")
    async with database.session() as session:
        assert await session.scalar(select(Account)) is None
    await database.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    async with database.engine.connect() as conn:
        journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    await database.dispose()
    assert (journal, foreign_keys) == ("wal", 1)


def _account(email: str, when: datetime) -> Account:
    return Account(email=email, char_limit=1, seconds_limit=1, created_at=when, updated_at=when)


async def test_run_write_is_one_transaction_committed_or_rolled_back(database_url: str) -> None:
    """The hot path's writes (usage, cache-hit charges) run as plain statements in one
    transaction: on SQLite in one thread hop, elsewhere through the async driver."""
    from sqlalchemy import func, insert
    from sqlalchemy import select as core_select

    database = Database(database_url)
    table = Account.__table__
    now = datetime.now(UTC)

    def add(email: str, fail: bool = False) -> int:
        def work(connection) -> int:  # type: ignore[no-untyped-def]
            connection.execute(insert(table).values(email=email, created_at=now, updated_at=now))
            if fail:
                raise RuntimeError("boom")
            return connection.execute(core_select(func.count()).select_from(table)).scalar()

        return work

    try:
        assert await database.run_write(add("one@example.com")) == 1
        with pytest.raises(RuntimeError):
            await database.run_write(add("two@example.com", fail=True))
        async with database.session() as session:
            emails = list(await session.scalars(select(Account.email)))
        assert emails == ["one@example.com"]
    finally:
        await database.dispose()


async def test_has_rows_answers_without_waiting_for_a_writer(database_url: str) -> None:
    """Pollers ask "is anything due?" every second: the answer must be right, and must not
    queue behind a long write (on SQLite, reads go past the write lock)."""
    import asyncio

    database = Database(database_url)
    now = datetime.now(UTC)
    due = select(Account.id).where(Account.email == "due@example.com")
    try:
        assert await database.has_rows(due) is False
        async with database.session(write=True) as session:
            session.add(_account("due@example.com", now))
        assert await database.has_rows(due) is True
        async with database.session(write=True) as session:  # a writer holds on
            session.add(_account("pending@example.com", now))
            await session.flush()
            async with asyncio.timeout(5):
                assert await database.has_rows(due) is True
                # what the writer has not committed yet is not seen
                pending = select(Account.id).where(Account.email == "pending@example.com")
                assert await database.has_rows(pending) is False
        assert await database.has_rows(pending) is True
    finally:
        await database.dispose()
