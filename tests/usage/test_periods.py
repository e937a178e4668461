"""The counters of a period: one conditional UPDATE counts a charge on the account's row and
the key's, and a charge is whole or not at all — on the period's first use too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vocalis.kit.db import Database
from vocalis.usage import periods
from vocalis.usage.periods import Allowance, Counters

PERIOD = periods.period_at(datetime(2026, 11, 15, tzinfo=UTC))
ROOMY = Allowance(characters=1000, audio_ms=60_000)


async def _take(
    database: Database, key_id: str, characters: int, *, allowance: Allowance = ROOMY, cap=None
) -> tuple[Counters, Counters]:
    async with database.session(write=True) as session:
        return await periods.take(
            session,
            account_id="acc_1",
            key_id=key_id,
            period=PERIOD,
            allowance=allowance,
            key_cap=cap,
            characters=characters,
            audio_ms=characters * 100,
            settled=True,
        )


async def _read(database: Database, key_id: str) -> tuple[Counters, Counters]:
    async with database.session() as session:
        return await periods.read(session, account_id="acc_1", key_id=key_id, period=PERIOD)


async def test_a_new_keys_first_charge_counts_once_on_each_row(database_url: str) -> None:
    """The account's row exists (another key used it), the new key's does not yet."""
    database = Database(database_url)
    try:
        await _take(database, "key_a", 10)
        account, key = await _take(database, "key_b", 7)
        assert (account.chars_used, account.audio_ms_used) == (17, 1700)
        assert (key.chars_used, key.audio_ms_used) == (7, 0)  # a key's row counts characters
        assert await _read(database, "key_b") == (account, key)
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    ("allowance", "cap", "short"),
    [
        (Allowance(15, 60_000), None, "account"),
        (ROOMY, 12, "key"),
        (Allowance(50, 1500), None, "account"),
    ],
)
async def test_a_charge_that_does_not_fit_changes_nothing(
    database_url: str, allowance: Allowance, cap: int | None, short: str
) -> None:
    database = Database(database_url)
    try:
        before = await _take(database, "key_a", 10)
        with pytest.raises(periods.Short) as refused:
            await _take(database, "key_a", 10, allowance=allowance, cap=cap)
        assert refused.value.what == short
        assert await _read(database, "key_a") == before  # the session rolled the try back
    finally:
        await database.dispose()


def _charge(key_id: str, characters: int, *, allowance: Allowance = ROOMY, cap=None):
    return periods.Charge(
        "acc_1", key_id, PERIOD, allowance, cap, characters, characters * 100, settled=True
    )


async def test_charges_counted_together_are_each_whole_or_refused_in_order(
    database_url: str,
) -> None:
    """A batch whose sum does not fit is counted one by one: the third 10 is refused (only 5
    remain), the 3 after it still fits, and a key over its own cap is refused on its own."""
    tight = Allowance(characters=25, audio_ms=60_000)
    database = Database(database_url)
    try:
        charges = [_charge("key_a", n, allowance=tight) for n in (10, 10, 10, 3)]
        charges.append(_charge("key_b", 7, cap=5))  # the account has room; the key has not
        outcomes = await database.run_write(lambda c: periods.take_each(c, charges))
        refused = [o.what if isinstance(o, periods.Short) else None for o in outcomes]
        assert refused == [None, None, "account", None, "key"]
        account, key_a = await _read(database, "key_a")
        assert (account.chars_used, account.audio_ms_used) == (23, 2300)
        assert key_a.chars_used == 23
        assert (await _read(database, "key_b"))[1].chars_used == 0
        assert outcomes[3] == (account, key_a)  # figures after the last charge that counted
    finally:
        await database.dispose()


async def test_charges_that_fit_together_are_counted_in_one_go(database_url: str) -> None:
    database = Database(database_url)
    try:
        charges = [_charge("key_a", 10) for _ in range(3)]
        outcomes = await database.run_write(lambda c: periods.take_each(c, charges))
        account, key = await _read(database, "key_a")
        assert account.chars_used == 30 and key.chars_used == 30
        assert outcomes == [(account, key)] * 3
    finally:
        await database.dispose()


def test_a_subscription_cuts_the_periods_and_they_roll_on_until_told_otherwise() -> None:
    start = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    end = datetime(2026, 12, 20, 9, 30, tzinfo=UTC)
    inside = periods.period_at(datetime(2026, 12, 1, tzinfo=UTC), (start, end))
    assert (inside.start, inside.end) == (start, end)
    # Past its end with no word from Stripe yet: the next period of the same length.
    later = periods.period_at(datetime(2027, 1, 25, tzinfo=UTC), (start, end))
    length = end - start
    assert (later.start, later.end) == (end + length, end + 2 * length)
    assert later.start <= datetime(2027, 1, 25, tzinfo=UTC) < later.end
    # No subscription, or a time before it began: the calendar month.
    calendar = periods.period_at(datetime(2026, 11, 5, tzinfo=UTC), (start, end))
    assert calendar.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert periods.period_at(datetime(2026, 11, 5, tzinfo=UTC)) == calendar
