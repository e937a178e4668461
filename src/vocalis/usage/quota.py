"""Dual monthly quotas: characters and audio seconds, reserved atomically, settled exactly.

Characters are the characters of the text as sent (what a customer can count before sending);
audio seconds are the length of the audio made. At admission a request reserves its characters
and an estimate of its audio length (erring long: see `SpeechEngine.expected_duration_ms`) in one
conditional UPDATE per counter (`… WHERE used + n <= limit`), so concurrent requests can never
overspend: the database decides, not a read-then-write in Python. After synthesis the seconds
are corrected to the real duration; failed or abandoned work is refunded.

A synchronous request's reservation is also a row (`QuotaReservation`), written with the
counters and deleted with their correction, so a process that dies mid-request leaves a record
that another process sweeps (see `vocalis.usage.ledger`). Jobs keep theirs on the job row.

Periods are calendar months in UTC unless billing set another period on the account; a request
after `period_end` starts a new period and zeroes the counters (lazily, no scheduler needed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.models import Account, ApiKey
from vocalis.kit.errors import NotFound, TooManyRequests
from vocalis.kit.ids import new_id
from vocalis.usage.models import QuotaReservation


class QuotaExceeded(TooManyRequests):
    code = "quota_exceeded"


@dataclass(frozen=True)
class QuotaFigures:
    """An account's limits and use in its current period (and the key's own cap, if any)."""

    plan: str
    char_limit: int
    chars_used: int
    seconds_limit: int
    audio_ms_used: int
    resets_at: datetime
    key_char_cap: int | None = None
    key_chars_used: int = 0

    @property
    def chars_remaining(self) -> int:
        return max(0, self.char_limit - self.chars_used)

    @property
    def seconds_remaining(self) -> float:
        return max(0, self.seconds_limit * 1000 - self.audio_ms_used) / 1000

    def as_dict(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "characters": {
                "limit": self.char_limit,
                "used": self.chars_used,
                "remaining": self.chars_remaining,
            },
            "seconds": {
                "limit": self.seconds_limit,
                "used": round(self.audio_ms_used / 1000, 3),
                "remaining": round(self.seconds_remaining, 3),
            },
        }
        if self.key_char_cap is not None:
            figures["key_characters"] = {
                "limit": self.key_char_cap,
                "used": self.key_chars_used,
                "remaining": max(0, self.key_char_cap - self.key_chars_used),
            }
        return figures


@dataclass(frozen=True)
class Reservation:
    account_id: str
    key_id: str
    characters: int
    audio_ms: int
    period_start: datetime
    id: str | None = None  # the QuotaReservation row, for requests (jobs have their own row)


@dataclass(frozen=True)
class Hold:
    """What a request's reservation row records: who holds it, until when, and what a usage
    event needs if the process holding it dies."""

    owner: str
    lease_expires_at: datetime
    request_id: str
    method: str
    endpoint: str
    voice: str | None = None
    language: str | None = None
    client_ip: str | None = None
    text_hash: str | None = None


def calendar_month(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


async def reserve(
    session: AsyncSession,
    *,
    account_id: str,
    key_id: str,
    characters: int,
    audio_ms: int,
    now: datetime,
    hold: Hold | None = None,
) -> Reservation:
    """Take `characters` and `audio_ms` from the account (and the key's cap) or raise 429;
    with a `hold`, record the reservation as a row in the same transaction."""
    period_start = await _start_new_period_if_due(session, account_id, now)
    try:
        async with session.begin_nested():
            await _take(session, account_id, key_id, characters, audio_ms)
    except _Short as short:
        figures = await read_quota(session, account_id, now, key_id=key_id)
        raise _exceeded(short.what, characters, audio_ms, figures, now) from None
    reservation = Reservation(account_id, key_id, characters, audio_ms, period_start)
    if hold is None:
        return reservation
    row = QuotaReservation(
        id=new_id("rsv"),
        account_id=account_id,
        key_id=key_id,
        characters=characters,
        audio_ms=audio_ms,
        period_start=period_start,
        created_at=now,
        **vars(hold),
    )
    session.add(row)
    await session.flush()
    return Reservation(account_id, key_id, characters, audio_ms, period_start, row.id)


async def precheck(
    session: AsyncSession,
    *,
    account_id: str,
    key_id: str,
    characters: int,
    audio_ms: int,
    now: datetime,
) -> None:
    """Refuse at once (429) a request that cannot fit, before any work proportional to its text
    is spent on it. Only a read: `reserve` still decides, atomically."""
    figures = await read_quota(session, account_id, now, key_id=key_id)
    key = figures.as_dict().get("key_characters")
    if key is not None and characters > key["remaining"]:
        raise _exceeded("key", characters, audio_ms, figures, now)
    if characters > figures.chars_remaining or audio_ms > figures.seconds_remaining * 1000:
        raise _exceeded("account", characters, audio_ms, figures, now)


async def settle(
    session: AsyncSession, reservation: Reservation, audio_ms: int, characters: int | None = None
) -> bool:
    """Replace the estimate with the real duration (and, for a stream cut short, the characters
    it stood for) — in the reservation's period only. False when the reservation was already
    given back (a sweep took it for a dead process's): then nothing changes."""
    if not await _release_row(session, reservation):
        return False
    spoken = (
        reservation.characters if characters is None else min(characters, reservation.characters)
    )
    result = await session.execute(
        update(Account)
        .where(Account.id == reservation.account_id)
        .where(Account.period_start == reservation.period_start)
        .values(
            audio_ms_used=Account.audio_ms_used + (audio_ms - reservation.audio_ms),
            chars_used=Account.chars_used - (reservation.characters - spoken),
        )
    )
    if result.rowcount and spoken != reservation.characters:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == reservation.key_id)
            .values(period_chars_used=ApiKey.period_chars_used - (reservation.characters - spoken))
        )
    return True


async def refund(session: AsyncSession, reservation: Reservation) -> bool:
    """Give back everything a failed request reserved (if its period is still current).
    False when it was already given back."""
    return await settle(session, reservation, audio_ms=0, characters=0)


async def _release_row(session: AsyncSession, reservation: Reservation) -> bool:
    """Delete the reservation's row, if it has one; True when this call is the one that did."""
    if reservation.id is None:
        return True
    deleted = await session.execute(
        delete(QuotaReservation).where(QuotaReservation.id == reservation.id)
    )
    return deleted.rowcount == 1


async def read_quota(
    session: AsyncSession, account_id: str, now: datetime, *, key_id: str | None = None
) -> QuotaFigures:
    """Current figures; a period that has ended reads as a fresh one (nothing is written)."""
    row = (
        await session.execute(
            select(
                Account.plan,
                Account.char_limit,
                Account.chars_used,
                Account.seconds_limit,
                Account.audio_ms_used,
                Account.period_end,
            ).where(Account.id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("account not found", code="account_not_found")
    plan, char_limit, chars_used, seconds_limit, audio_ms_used, period_end = row
    key_cap, key_used = None, 0
    if key_id is not None:
        key_row = (
            await session.execute(
                select(ApiKey.monthly_char_cap, ApiKey.period_chars_used).where(ApiKey.id == key_id)
            )
        ).one_or_none()
        if key_row is not None:
            key_cap, key_used = key_row
    if period_end is None or now >= period_end:
        chars_used, audio_ms_used, key_used = 0, 0, 0
        period_end = calendar_month(now)[1]
    return QuotaFigures(
        plan, char_limit, chars_used, seconds_limit, audio_ms_used, period_end, key_cap, key_used
    )


# --- internals ----------------------------------------------------------------------------------


class _Short(Exception):
    def __init__(self, what: str) -> None:
        self.what = what


async def _start_new_period_if_due(
    session: AsyncSession, account_id: str, now: datetime
) -> datetime:
    row = (
        await session.execute(
            select(Account.period_start, Account.period_end).where(Account.id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("account not found", code="account_not_found")
    period_start, period_end = row
    if period_start is not None and period_end is not None and now < period_end:
        return period_start
    start, end = calendar_month(now)
    result = await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .where(or_(Account.period_end.is_(None), Account.period_end <= now))
        .values(chars_used=0, audio_ms_used=0, period_start=start, period_end=end)
    )
    if result.rowcount:  # we won the rollover: the keys' own counters restart too
        await session.execute(
            update(ApiKey).where(ApiKey.account_id == account_id).values(period_chars_used=0)
        )
        return start
    return await _start_new_period_if_due(session, account_id, now)  # someone else rolled it


async def _take(
    session: AsyncSession, account_id: str, key_id: str, characters: int, audio_ms: int
) -> None:
    taken = await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .where(Account.chars_used + characters <= Account.char_limit)
        .where(Account.audio_ms_used + audio_ms <= Account.seconds_limit * 1000)
        .values(
            chars_used=Account.chars_used + characters,
            audio_ms_used=Account.audio_ms_used + audio_ms,
        )
    )
    if taken.rowcount != 1:
        raise _Short("account")
    capped = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .where(
            or_(
                ApiKey.monthly_char_cap.is_(None),
                ApiKey.period_chars_used + characters <= ApiKey.monthly_char_cap,
            )
        )
        .values(period_chars_used=ApiKey.period_chars_used + characters)
    )
    if capped.rowcount != 1:
        raise _Short("key")


def _exceeded(
    what: str, characters: int, audio_ms: int, figures: QuotaFigures, now: datetime
) -> QuotaExceeded:
    if what == "key":
        detail = (
            f"this API key's monthly character cap is reached: {characters} needed, "
            f"{figures.as_dict()['key_characters']['remaining']} remaining"
        )
    elif characters > figures.chars_remaining:
        detail = (
            f"monthly character quota exceeded: {characters} needed, "
            f"{figures.chars_remaining} remaining"
        )
    else:
        detail = (
            f"monthly audio seconds quota exceeded: about {audio_ms / 1000:.1f} s needed, "
            f"{figures.seconds_remaining:.1f} s remaining"
        )
    retry_after = max(1, math.ceil((figures.resets_at - now).total_seconds()))
    return QuotaExceeded(
        detail,
        headers={"Retry-After": str(retry_after)},
        extra={"quota": figures.as_dict(), "resets_at": iso_utc(figures.resets_at)},
    )


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
