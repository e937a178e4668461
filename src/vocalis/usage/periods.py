"""The counters of usage periods: characters and audio milliseconds, used and reserved.

One row per account and period (`key_id` empty), and one per API key and period for keys'
own character caps. Taking quota is one conditional UPDATE per row (`… WHERE used + reserved +
n <= allowance`), so concurrent requests can never overspend: the database decides, not a
read-then-write in Python. A reservation moves to `used` at its real size when settled, and
leaves nothing behind when refunded. Rows are made on first use (`INSERT … ON CONFLICT DO
NOTHING`); a period that has ended is simply no longer the one written to.

Periods are calendar months in UTC; billing anchors them to a subscription's period later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.kit.clock import calendar_month
from vocalis.kit.db import insert_missing
from vocalis.usage.models import UsagePeriod

WHOLE_ACCOUNT = ""  # the key_id of an account's own row
UNLIMITED = 2**62  # what "no cap" compares as, inside a counter's conditional UPDATE


@dataclass(frozen=True)
class Allowance:
    """What a period allows: characters and milliseconds of audio."""

    characters: int
    audio_ms: int

    @property
    def seconds(self) -> int:
        return self.audio_ms // 1000


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def period_at(now: datetime) -> Period:
    return Period(*calendar_month(now))


@dataclass(frozen=True)
class Counters:
    """One row's figures: used and reserved so far in the period."""

    chars_used: int = 0
    audio_ms_used: int = 0
    chars_reserved: int = 0
    audio_ms_reserved: int = 0

    @property
    def characters(self) -> int:
        return self.chars_used + self.chars_reserved

    @property
    def audio_ms(self) -> int:
        return self.audio_ms_used + self.audio_ms_reserved


COUNTERS = (
    UsagePeriod.chars_used,
    UsagePeriod.audio_ms_used,
    UsagePeriod.chars_reserved,
    UsagePeriod.audio_ms_reserved,
)


class Short(Exception):
    """The account (`what="account"`) or the key (`"key"`) cannot cover what was asked."""

    def __init__(self, what: str) -> None:
        self.what = what


async def take(
    session: AsyncSession,
    *,
    account_id: str,
    key_id: str,
    period: Period,
    allowance: Allowance,
    key_cap: int | None,
    characters: int,
    audio_ms: int,
    settled: bool,
) -> tuple[Counters, Counters]:
    """Count `characters` and `audio_ms` against the account and the key, or raise `Short` (the
    caller rolls back its savepoint); returns both rows' counters after it. `settled`: straight
    into `used` (a cache hit's exact cost); else into `reserved`, settled or refunded later."""
    chars_column, ms_column = (
        ("chars_used", "audio_ms_used") if settled else ("chars_reserved", "audio_ms_reserved")
    )
    row = _row(account_id, WHOLE_ACCOUNT, period)
    account = await _update_existing(
        session,
        row,
        period,
        update(UsagePeriod)
        .where(*row)
        .where(
            UsagePeriod.chars_used + UsagePeriod.chars_reserved + characters <= allowance.characters
        )
        .where(
            UsagePeriod.audio_ms_used + UsagePeriod.audio_ms_reserved + audio_ms
            <= allowance.audio_ms
        )
        .values(
            {
                chars_column: getattr(UsagePeriod, chars_column) + characters,
                ms_column: getattr(UsagePeriod, ms_column) + audio_ms,
            }
        )
        .returning(*COUNTERS),
        account_id=account_id,
        key_id=WHOLE_ACCOUNT,
    )
    if account is None:
        raise Short("account")
    key_row = _row(account_id, key_id, period)
    cap = UNLIMITED if key_cap is None else key_cap
    key = await _update_existing(
        session,
        key_row,
        period,
        update(UsagePeriod)
        .where(*key_row)
        .where(UsagePeriod.chars_used + UsagePeriod.chars_reserved + characters <= cap)
        .values({chars_column: getattr(UsagePeriod, chars_column) + characters})
        .returning(*COUNTERS),
        account_id=account_id,
        key_id=key_id,
    )
    if key is None:
        raise Short("key")
    return account, key


async def settle(
    session: AsyncSession,
    *,
    account_id: str,
    key_id: str,
    period_start: datetime,
    reserved_chars: int,
    reserved_ms: int,
    characters: int,
    audio_ms: int,
) -> None:
    """Turn a reservation into use at its real size (0 and 0: a refund), in the period it was
    taken in — even if that period has ended since."""
    await session.execute(
        update(UsagePeriod)
        .where(UsagePeriod.account_id == account_id)
        .where(UsagePeriod.key_id == WHOLE_ACCOUNT)
        .where(UsagePeriod.period_start == period_start)
        .values(
            chars_reserved=UsagePeriod.chars_reserved - reserved_chars,
            audio_ms_reserved=UsagePeriod.audio_ms_reserved - reserved_ms,
            chars_used=UsagePeriod.chars_used + characters,
            audio_ms_used=UsagePeriod.audio_ms_used + audio_ms,
        )
    )
    await session.execute(
        update(UsagePeriod)
        .where(UsagePeriod.account_id == account_id)
        .where(UsagePeriod.key_id == key_id)
        .where(UsagePeriod.period_start == period_start)
        .values(
            chars_reserved=UsagePeriod.chars_reserved - reserved_chars,
            chars_used=UsagePeriod.chars_used + characters,
        )
    )


async def read(
    session: AsyncSession, *, account_id: str, key_id: str | None, period: Period
) -> tuple[Counters, Counters]:
    """The account's and the key's counters in `period` (zeros where nothing was counted)."""
    keys = [WHOLE_ACCOUNT] if key_id is None else [WHOLE_ACCOUNT, key_id]
    rows = await session.execute(
        select(
            UsagePeriod.key_id,
            UsagePeriod.chars_used,
            UsagePeriod.audio_ms_used,
            UsagePeriod.chars_reserved,
            UsagePeriod.audio_ms_reserved,
        )
        .where(UsagePeriod.account_id == account_id)
        .where(UsagePeriod.period_start == period.start)
        .where(UsagePeriod.key_id.in_(keys))
    )
    found = {row[0]: Counters(*row[1:]) for row in rows}
    return found.get(WHOLE_ACCOUNT, Counters()), found.get(key_id or "", Counters())


async def key_characters(
    session: AsyncSession, key_ids: list[str], period: Period
) -> dict[str, int]:
    if not key_ids:
        return {}
    rows = await session.execute(
        select(UsagePeriod.key_id, UsagePeriod.chars_used + UsagePeriod.chars_reserved)
        .where(UsagePeriod.key_id.in_(key_ids))
        .where(UsagePeriod.period_start == period.start)
    )
    return {key_id: characters for key_id, characters in rows}


def _row(account_id: str, key_id: str, period: Period) -> tuple:  # type: ignore[type-arg]
    return (
        UsagePeriod.account_id == account_id,
        UsagePeriod.key_id == key_id,
        UsagePeriod.period_start == period.start,
    )


async def _update_existing(
    session: AsyncSession,
    row: tuple,  # type: ignore[type-arg]
    period: Period,
    statement,  # type: ignore[no-untyped-def]
    *,
    account_id: str,
    key_id: str,
) -> Counters | None:
    """Run the conditional UPDATE; when it matched nothing because the period's row does not
    exist yet, make the row and run it once more. The row's counters after it, or None when
    the condition refused."""
    updated = (await session.execute(statement)).one_or_none()
    if updated is not None:
        return Counters(*updated)
    exists = await session.scalar(select(UsagePeriod.id).where(*row))
    if exists is not None:
        return None  # the row is there: the condition refused
    await insert_missing(
        session,
        UsagePeriod.__table__,  # type: ignore[arg-type]
        {
            "account_id": account_id,
            "key_id": key_id,
            "period_start": period.start,
            "period_end": period.end,
            "chars_used": 0,
            "audio_ms_used": 0,
            "chars_reserved": 0,
            "audio_ms_reserved": 0,
        },
        keys=["account_id", "key_id", "period_start"],
    )
    updated = (await session.execute(statement)).one_or_none()
    return None if updated is None else Counters(*updated)
