"""Async database plumbing shared by every domain: engine, sessions, base model, column types."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Select,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_S = 30
_IMMEDIATE = "vocalis_begin_immediate"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """One engine per process; sessions are short and commit or roll back as a unit."""

    def __init__(self, url: str, *, echo: bool = False, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            _ensure_sqlite_directory(url)
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
            # Every unit of work ends in a commit or a rollback (and closing a session rolls back
            # whatever is open), so the pool's own rollback on return would only cost every
            # session one more trip to SQLite's thread.
            options["pool_reset_on_return"] = None
        elif make_url(url).get_driver_name() == "asyncpg":
            # A server that accepts and then says nothing must not hold requests for a minute.
            options["connect_args"] = {"timeout": connect_timeout}
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite's, for `run_write` and `run_read` (it connects on first use)
        self._sync_engine: Engine | None = None
        self._sync_writer: Engine | None = None
        if self.is_sqlite:
            self._sync_engine = create_engine(
                make_url(url).set(drivername="sqlite"),
                echo=echo,
                pool_reset_on_return=None,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            )
            _configure_sqlite(self._sync_engine)
            self._sync_writer = self._sync_engine.execution_options(**{_IMMEDIATE: True})
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.Task[Any] | None = None
        self._write_sessions = async_sessionmaker(
            self.engine.execution_options(**{_IMMEDIATE: True}), expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block succeeds, rolls back when it raises.

        `write=True` takes SQLite's write lock at BEGIN (BEGIN IMMEDIATE), which read-then-write
        paths need so that concurrent writers queue on the busy timeout instead of failing.
        """
        maker = self._write_sessions if write else self._sessions
        async with self.writing() if write else nullcontext(), maker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` (plain, synchronous SQLAlchemy Core) in one write transaction.

        For short, hot transactions of several statements. On SQLite the whole transaction runs
        in one thread with the standard `sqlite3` driver: one hop off the event loop instead of
        one per statement through aiosqlite, each of which waits for a turn of a busy loop.
        Elsewhere it runs through the async driver, a statement at a time."""
        if not self.is_sqlite:
            async with self.engine.begin() as connection:
                return await connection.run_sync(work)
        async with self.writing():
            return await asyncio.to_thread(self._run_sync, work, write=True)

    async def run_read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` (plain, synchronous SQLAlchemy Core) in one read-only transaction.

        For the checks that pollers make every second and that mostly find nothing: on SQLite
        one hop off the event loop, without the write lock; elsewhere through the async
        driver. A fraction of what a session costs the event loop."""
        if not self.is_sqlite:
            async with self.engine.connect() as connection:
                return await connection.run_sync(work)  # closing it rolls back
        return await asyncio.to_thread(self._run_sync, work, write=False)

    async def has_rows(self, statement: Select[Any]) -> bool:
        """Whether `statement` finds anything: a poller's "is any work due?"."""
        return await self.run_read(lambda connection: _has_rows(connection, statement))

    def _run_sync(self, work: Callable[[Connection], T], *, write: bool) -> T:
        assert self._sync_engine is not None and self._sync_writer is not None
        with (self._sync_writer if write else self._sync_engine).begin() as connection:
            return work(connection)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """SQLite has one writer at a time: this process's writers queue here, in order, rather
        than each polling the database's lock (whose busy-wait sleeps made latencies of seconds
        under load). Other processes still queue on the busy timeout. A write unit of work opened
        inside another one of the same task would wait for itself: that is a bug, said at once."""
        if not self.is_sqlite:
            yield
            return
        task = asyncio.current_task()
        if task is not None and task is self._writer:
            raise RuntimeError("a write unit of work inside another one would deadlock")
        async with self._write_lock:
            self._writer = task
            try:
                yield
            finally:
                self._writer = None

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _has_rows(connection: Connection, statement: Select[Any]) -> bool:
    return connection.execute(statement.limit(1)).first() is not None


def _ensure_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine | Engine) -> None:
    """WAL, foreign keys, and explicit BEGIN so that BEGIN IMMEDIATE is possible."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@cache  # built once per table and dialect: it runs on every batch of usage
def upserting_adding(
    dialect: str, table: Table, keys: tuple[str, ...], add: tuple[str, ...]
) -> Any:
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[key] for key in keys],
        set_={column: table.c[column] + statement.excluded[column] for column in add},
    )


async def insert_missing(
    session: AsyncSession, table: Table, values: dict[str, Any], *, keys: list[str]
) -> None:
    """Insert a row unless one with the same `keys` exists (`INSERT … ON CONFLICT DO NOTHING`)."""
    await session.execute(inserting_missing(_dialect(session), table, values, keys=keys))


def inserting_missing(
    dialect: str, table: Table, values: dict[str, Any], *, keys: list[str]
) -> Any:
    """The statement of `insert_missing`, for a connection of `dialect`."""
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.values(**values).on_conflict_do_nothing(
        index_elements=[table.c[key] for key in keys]
    )


async def hold_lock(session: AsyncSession, name: str) -> None:
    """Take a lock named `name` until the session's transaction ends, so that transactions
    taking it run one at a time (a check-then-insert among them cannot race).

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do — a write session's
    BEGIN IMMEDIATE already lets one writer in at a time."""
    if _dialect(session) != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _dialect_insert(session: AsyncSession) -> Any:
    """The INSERT construct that knows ON CONFLICT for this session's database."""
    return postgresql_insert if _dialect(session) == "postgresql" else sqlite_insert
