"""Upgrading a database whose counters lived on accounts and keys carries them into usage
periods exactly, on SQLite and PostgreSQL: what was used stays used, what running requests and
unfinished jobs held stays held (and is given back exactly once), and each account keeps its
limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import TextClause, bindparam, text

from vocalis.accounts.service import Principal
from vocalis.billing.plans import Catalogue
from vocalis.kit import migrations
from vocalis.kit.clock import ManualClock
from vocalis.kit.db import Database, UTCDateTime
from vocalis.usage.meter import Meter
from vocalis.usage.periods import WHOLE_ACCOUNT

PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _sql(statement: str) -> TextClause:
    """Raw SQL for the old schema, its times stored as the application stored them."""
    names = [name for name in ("start", "end", "now") if f":{name}" in statement]
    return text(statement).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in names))


async def _fill_the_old_schema(database: Database) -> None:
    start, end, now = PERIOD_START, PERIOD_END, NOW
    async with database.engine.begin() as conn:
        await conn.execute(
            _sql(
                "INSERT INTO accounts (id, email, plan, status, char_limit, seconds_limit, "
                "chars_used, audio_ms_used, period_start, period_end, created_at, updated_at) "
                "VALUES ('acc_1', 'old@example.com', 'free', 'active', 50000, 3000, "
                "1200, 90000, :start, :end, :now, :now)"
            ),
            {"start": start, "end": end, "now": now},
        )
        await conn.execute(
            _sql(
                "INSERT INTO api_keys (id, account_id, name, prefix, key_hash, scopes, "
                "monthly_char_cap, period_chars_used, created_at) VALUES "
                "('key_1', 'acc_1', 'a', 'sk_live_a', 'h1', '[\"tts\"]', 5000, 1000, :now), "
                "('key_2', 'acc_1', 'b', 'sk_live_b', 'h2', '[\"tts\"]', NULL, 200, :now)"
            ),
            {"now": now},
        )
        # A request still running (key_1: 100 characters, 8 s estimated) and a queued job
        # (key_2: 150 characters, 12 s): both were counted into the old counters.
        await conn.execute(
            _sql(
                "INSERT INTO quota_reservations (id, account_id, key_id, characters, audio_ms, "
                "period_start, owner, lease_expires_at, created_at, request_id, method, "
                "endpoint) VALUES ('rsv_1', 'acc_1', 'key_1', 100, 8000, :start, 'gone', "
                ":now, :now, 'req_1', 'POST', '/v1/tts')"
            ),
            {"start": start, "now": now},
        )
        await conn.execute(
            _sql(
                "INSERT INTO jobs (id, account_id, key_id, kind, status, format, item_count, "
                "characters, estimated_audio_ms, quota_period_start, attempts, max_attempts, "
                "run_after, created_at, updated_at) VALUES ('job_1', 'acc_1', 'key_2', "
                "'speech', 'queued', 'wav', 1, 150, 12000, :start, 0, 3, :now, :now, :now)"
            ),
            {"start": start, "now": now},
        )


async def _rows(database: Database) -> dict[str, tuple[int, int, int, int]]:
    async with database.engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT key_id, chars_used, audio_ms_used, chars_reserved, audio_ms_reserved "
                "FROM usage_periods ORDER BY key_id"
            )
        )
        return {row[0]: tuple(row[1:]) for row in result}


async def test_counters_move_into_usage_periods_exactly(database_url: str) -> None:
    database = Database(database_url)
    try:
        await migrations.downgrade(database.engine, "0004")
        await _fill_the_old_schema(database)
        await migrations.upgrade(database.engine)

        assert await _rows(database) == {
            WHOLE_ACCOUNT: (1200 - 250, 90000 - 20000, 250, 20000),
            "key_1": (1000 - 100, 0, 100, 0),
            "key_2": (200 - 150, 0, 150, 0),
        }
        async with database.engine.connect() as conn:
            limits = (
                await conn.execute(text("SELECT char_limit, seconds_limit FROM accounts"))
            ).one()
            kept = (await conn.execute(text("SELECT count(*) FROM api_keys"))).scalar()
            jobs = (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar()
        assert tuple(limits) == (50000, 3000)  # the account keeps its own limits
        assert (kept, jobs) == (2, 1)  # rewriting the accounts table took nothing with it

        # The dead request's reservation is swept once: its counts leave `reserved`.
        meter = Meter(
            database,
            ManualClock(NOW + timedelta(hours=1)),
            Catalogue(chars_per_second=15.0),
            chars_per_second=15.0,
            lease=timedelta(seconds=30),
        )
        assert await meter.sweep() == 1
        assert await meter.sweep() == 0
        rows = await _rows(database)
        assert rows[WHOLE_ACCOUNT] == (950, 70000, 150, 12000)
        assert rows["key_1"] == (900, 0, 0, 0)

        principal = Principal(
            account_id="acc_1",
            key_id="key_1",
            scopes=frozenset({"tts"}),
            last_used_at=None,
            char_limit=50000,
            seconds_limit=3000,
            key_char_cap=5000,
        )
        figures = await meter.figures(principal)
        assert (figures.chars_used, figures.audio_ms_used) == (1100, 82000)
        assert (figures.allowance.characters, figures.key_chars_used) == (50000, 900)
    finally:
        await database.dispose()


async def test_downgrading_puts_the_counters_back(database_url: str) -> None:
    database = Database(database_url)
    try:
        await migrations.downgrade(database.engine, "0004")
        await _fill_the_old_schema(database)
        await migrations.upgrade(database.engine)
        await migrations.downgrade(database.engine, "0004")
        async with database.engine.connect() as conn:
            account = (
                await conn.execute(
                    text("SELECT chars_used, audio_ms_used, char_limit FROM accounts")
                )
            ).one()
            keys = dict(
                (await conn.execute(text("SELECT id, period_chars_used FROM api_keys"))).all()
            )
        assert tuple(account) == (1200, 90000, 50000)
        assert keys == {"key_1": 1000, "key_2": 200}
        await migrations.upgrade(database.engine)
    finally:
        await database.dispose()
