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

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    Update,
    and_,
    bindparam,
    case,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.kit.clock import calendar_month
from vocalis.kit.db import inserting_missing
from vocalis.usage.models import UsagePeriod

# Core, not the ORM: the hot path pays for no ORM bookkeeping on its UPDATEs.
PERIODS: Table = UsagePeriod.__table__  # type: ignore[assignment]

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


def period_at(now: datetime, anchor: tuple[datetime, datetime] | None = None) -> Period:
    """The period `now` falls in: the calendar month, or — for an account whose subscription
    sets its periods — the subscription's, rolled forward by its own length if Stripe has not
    told of the next one yet."""
    if anchor is None or now < anchor[0]:
        return Period(*calendar_month(now))
    start, end = anchor
    length = end - start
    if now >= end and length.total_seconds() > 0:
        skipped = (now - end) // length + 1
        start, end = start + skipped * length, end + skipped * length
    return Period(start, end)


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
    PERIODS.c.chars_used,
    PERIODS.c.audio_ms_used,
    PERIODS.c.chars_reserved,
    PERIODS.c.audio_ms_reserved,
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
    """Count `characters` and `audio_ms` against the account and the key, or raise `Short`
    (the caller rolls its transaction back); returns both rows' counters after it. `settled`:
    straight into `used` (a cache hit's exact cost); else into `reserved`, settled or refunded
    later.

    One conditional UPDATE covers both rows, each with its own condition; only when it counted
    both is the charge whole. The rows are made on the period's first use."""
    charge = Charge(account_id, key_id, period, allowance, key_cap, characters, audio_ms, settled)
    connection = await session.connection()
    counted = await connection.run_sync(_count, charge)
    if WHOLE_ACCOUNT not in counted:
        raise Short("account")
    if key_id not in counted:
        raise Short("key")
    return counted[WHOLE_ACCOUNT], counted[key_id]


@dataclass(frozen=True)
class Charge:
    """One request's cost, to count against its account and key in `period`."""

    account_id: str
    key_id: str
    period: Period
    allowance: Allowance
    key_cap: int | None
    characters: int
    audio_ms: int
    settled: bool

    @property
    def group(self) -> tuple[object, ...]:
        """Charges that may be counted as one: same rows, same limits."""
        return (
            self.account_id,
            self.key_id,
            self.period.start,
            self.allowance,
            self.key_cap,
            self.settled,
        )


def take_each(
    connection: Connection, charges: list[Charge]
) -> list[tuple[Counters, Counters] | Short]:
    """Count many requests' charges in one transaction, each one all or nothing: for each,
    both rows' counters after it, or the `Short` that refused it (with nothing counted).

    Charges on the same rows are first counted together in one statement; only when their sum
    does not fit are they counted one by one, in order, so that each is refused exactly when
    it alone would have been."""
    outcomes: list[tuple[Counters, Counters] | Short | None] = [None] * len(charges)
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, charge in enumerate(charges):
        groups.setdefault(charge.group, []).append(index)
    for indexes in groups.values():
        if len(indexes) > 1:
            first = charges[indexes[0]]
            together = replace(
                first,
                characters=sum(charges[index].characters for index in indexes),
                audio_ms=sum(charges[index].audio_ms for index in indexes),
            )
            outcome = take_whole(connection, together)
            if not isinstance(outcome, Short):
                for index in indexes:
                    outcomes[index] = outcome
                continue
        for index in indexes:
            outcomes[index] = take_whole(connection, charges[index])
    return [outcome for outcome in outcomes if outcome is not None]


def take_whole(connection: Connection, charge: Charge) -> tuple[Counters, Counters] | Short:
    """Count a charge on both rows, or on neither: what one row counted before the other
    refused is taken back, so the transaction can go on (with other charges, or to commit
    what else it did)."""
    counted = _count(connection, charge)
    if WHOLE_ACCOUNT in counted and charge.key_id in counted:
        return counted[WHOLE_ACCOUNT], counted[charge.key_id]
    if counted:
        connection.execute(
            _counting(
                charge.account_id,
                list(counted),
                charge.period,
                -charge.characters,
                -charge.audio_ms,
                settled=charge.settled,
            )
        )
    return Short("account" if WHOLE_ACCOUNT not in counted else "key")


def _count(connection: Connection, charge: Charge) -> dict[str, Counters]:
    """The conditional UPDATE of both rows; the counters of each row that it counted on."""
    statement = _taking(charge.settled)
    values = {
        "b_account_id": charge.account_id,
        "b_key_id": charge.key_id,
        "b_period_start": charge.period.start,
        "b_characters": charge.characters,
        "b_audio_ms": charge.audio_ms,
        "b_char_limit": charge.allowance.characters,
        "b_ms_limit": charge.allowance.audio_ms,
        "b_key_cap": UNLIMITED if charge.key_cap is None else charge.key_cap,
    }
    counted = {row[0]: Counters(*row[1:]) for row in connection.execute(statement, values)}
    if len(counted) < 2 and _make_missing_rows(
        connection, charge.account_id, charge.key_id, charge.period
    ):
        # The period's first charge: take back what the first try counted on the row that
        # existed, then count again, now that both rows exist.
        if counted:
            connection.execute(
                _counting(
                    charge.account_id,
                    list(counted),
                    charge.period,
                    -charge.characters,
                    -charge.audio_ms,
                    settled=charge.settled,
                )
            )
        counted = {row[0]: Counters(*row[1:]) for row in connection.execute(statement, values)}
    return counted


@cache  # built once: the hot path pays neither for building it nor for its cache key
def _taking(settled: bool) -> Update:
    """The conditional UPDATE of a charge, its figures as bound parameters."""
    chars_column, ms_column = (
        ("chars_used", "audio_ms_used") if settled else ("chars_reserved", "audio_ms_reserved")
    )
    characters = bindparam("b_characters", type_=BigInteger())
    audio_ms = bindparam("b_audio_ms", type_=BigInteger())
    chars_after = PERIODS.c.chars_used + PERIODS.c.chars_reserved + characters
    account_fits = and_(
        PERIODS.c.key_id == WHOLE_ACCOUNT,
        chars_after <= bindparam("b_char_limit", type_=BigInteger()),
        PERIODS.c.audio_ms_used + PERIODS.c.audio_ms_reserved + audio_ms
        <= bindparam("b_ms_limit", type_=BigInteger()),
    )
    key_fits = and_(
        PERIODS.c.key_id == bindparam("b_key_id"),
        chars_after <= bindparam("b_key_cap", type_=BigInteger()),
    )
    return (
        update(PERIODS)
        .where(PERIODS.c.account_id == bindparam("b_account_id"))
        .where(PERIODS.c.period_start == bindparam("b_period_start"))
        .where(or_(account_fits, key_fits))
        .values(
            {
                chars_column: getattr(PERIODS.c, chars_column) + characters,
                ms_column: getattr(PERIODS.c, ms_column)
                + case((PERIODS.c.key_id == WHOLE_ACCOUNT, audio_ms), else_=0),
            }
        )
        .returning(PERIODS.c.key_id, *COUNTERS)
    )


def _counting(
    account_id: str,
    key_ids: list[str] | None,
    period: Period,
    characters: int,
    audio_ms: int,
    *,
    settled: bool,
) -> Update:
    """Add to the account's rows of `period` (those of `key_ids`, when given): characters to
    every row, audio only to the account's own."""
    chars_column, ms_column = (
        ("chars_used", "audio_ms_used") if settled else ("chars_reserved", "audio_ms_reserved")
    )
    statement = (
        update(PERIODS)
        .where(PERIODS.c.account_id == account_id)
        .where(PERIODS.c.period_start == period.start)
        .values(
            {
                chars_column: getattr(PERIODS.c, chars_column) + characters,
                ms_column: getattr(PERIODS.c, ms_column)
                + case((PERIODS.c.key_id == WHOLE_ACCOUNT, audio_ms), else_=0),
            }
        )
    )
    if key_ids is not None:
        statement = statement.where(PERIODS.c.key_id.in_(key_ids))
    return statement


def _make_missing_rows(
    connection: Connection, account_id: str, key_id: str, period: Period
) -> bool:
    """Make the account's and the key's rows for `period` where they do not exist yet; True
    when one was made."""
    existing = set(
        connection.scalars(
            select(PERIODS.c.key_id)
            .where(PERIODS.c.account_id == account_id)
            .where(PERIODS.c.period_start == period.start)
            .where(PERIODS.c.key_id.in_([WHOLE_ACCOUNT, key_id]))
        )
    )
    missing = [key for key in (WHOLE_ACCOUNT, key_id) if key not in existing]
    for key in missing:
        row = {
            "account_id": account_id,
            "key_id": key,
            "period_start": period.start,
            "period_end": period.end,
            "chars_used": 0,
            "audio_ms_used": 0,
            "chars_reserved": 0,
            "audio_ms_reserved": 0,
        }
        connection.execute(
            inserting_missing(
                connection.dialect.name, PERIODS, row, keys=["account_id", "key_id", "period_start"]
            )
        )
    return bool(missing)


def settling(
    account_id: str,
    key_id: str,
    period_start: datetime,
    reserved_chars: int,
    reserved_ms: int,
    characters: int,
    audio_ms: int,
) -> tuple[Update, Update]:
    """The two UPDATEs (the account's row, the key's) that turn a reservation into use at its
    real size (0 and 0: a refund), in the period it was taken in — even if that period has
    ended since."""
    account = (
        update(PERIODS)
        .where(PERIODS.c.account_id == account_id)
        .where(PERIODS.c.key_id == WHOLE_ACCOUNT)
        .where(PERIODS.c.period_start == period_start)
        .values(
            chars_reserved=PERIODS.c.chars_reserved - reserved_chars,
            audio_ms_reserved=PERIODS.c.audio_ms_reserved - reserved_ms,
            chars_used=PERIODS.c.chars_used + characters,
            audio_ms_used=PERIODS.c.audio_ms_used + audio_ms,
        )
    )
    key = (
        update(PERIODS)
        .where(PERIODS.c.account_id == account_id)
        .where(PERIODS.c.key_id == key_id)
        .where(PERIODS.c.period_start == period_start)
        .values(
            chars_reserved=PERIODS.c.chars_reserved - reserved_chars,
            chars_used=PERIODS.c.chars_used + characters,
        )
    )
    return account, key


async def read(
    session: AsyncSession, *, account_id: str, key_id: str | None, period: Period
) -> tuple[Counters, Counters]:
    """The account's and the key's counters in `period` (zeros where nothing was counted)."""
    connection = await session.connection()
    return await connection.run_sync(reading, account_id, key_id, period)


def reading(
    connection: Connection, account_id: str, key_id: str | None, period: Period
) -> tuple[Counters, Counters]:
    """`read`, on a plain connection."""
    keys = [WHOLE_ACCOUNT] if key_id is None else [WHOLE_ACCOUNT, key_id]
    rows = connection.execute(
        select(PERIODS.c.key_id, *COUNTERS)
        .where(PERIODS.c.account_id == account_id)
        .where(PERIODS.c.period_start == period.start)
        .where(PERIODS.c.key_id.in_(keys))
    )
    found = {row[0]: Counters(*row[1:]) for row in rows}
    return found.get(WHOLE_ACCOUNT, Counters()), found.get(key_id or "", Counters())


async def key_characters(
    session: AsyncSession, key_ids: list[str], now: datetime
) -> dict[str, int]:
    """Each key's characters in the period that holds `now` (whichever way its account's
    periods are cut: each row knows its own end)."""
    if not key_ids:
        return {}
    rows = await session.execute(
        select(PERIODS.c.key_id, PERIODS.c.chars_used + PERIODS.c.chars_reserved)
        .where(PERIODS.c.key_id.in_(key_ids))
        .where(PERIODS.c.period_start <= now)
        .where(PERIODS.c.period_end > now)
    )
    return {key_id: characters for key_id, characters in rows}
