"""The Meter: reserve → settle → refund, for every way in (sync, stream, OpenAI, jobs, batch).

At admission a request reserves its characters and an estimate of its audio (erring long: see
`SpeechEngine.expected_duration_ms`); when it is done the reservation is settled at what was
really made, and on any failure — or a client that hangs up — refunded in full. A cache hit is
charged its exact cost at once; in a serving process, from a block of quota held ahead
(`usage.credits`).

A synchronous request's reservation is also a row (`QuotaReservation`), written in the same
transaction as the counters it moved and deleted with their correction, so it is given back
exactly once. The process serving the request keeps the row's lease alive; a row whose lease ran
out belongs to a process that died (`kill -9`, a crash, a lost machine), and any process sweeps
it: refund, and a usage event marked `interrupted` in the request's place. On shutdown a process
waits for its own requests to settle, then gives back whatever is still held. Jobs keep their
reservation on the job row instead, settled in the transaction that ends the job.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.service import Principal
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.errors import INTERRUPTED_STATUS, TooManyRequests
from vocalis.kit.ids import new_id, process_id
from vocalis.usage import periods
from vocalis.usage.credits import CREDIT_PREFIX, Block, is_credit_row
from vocalis.usage.models import QuotaReservation
from vocalis.usage.periods import UNLIMITED, Allowance
from vocalis.usage.recorder import UsageRecord, UsageRecorder, store_usage

log = logging.getLogger(__name__)

SWEEP_BATCH = 100
PRECHECK_FROM_CHARS = 1000  # shorter texts are read in about a millisecond: cheaper than a check


class Plans(Protocol):
    """Where allowances come from (billing's catalogue of plans)."""

    def allowance(
        self, plan_id: str, *, characters: int | None, seconds: int | None
    ) -> Allowance: ...


class QuotaExceeded(TooManyRequests):
    code = "quota_exceeded"


@dataclass(frozen=True)
class QuotaFigures:
    """An account's allowance and use in its current period (and the key's own cap, if any).
    `used` counts what running requests hold reserved too."""

    plan: str
    allowance: Allowance
    chars_used: int
    audio_ms_used: int
    resets_at: datetime
    key_char_cap: int | None = None
    key_chars_used: int = 0

    @property
    def chars_remaining(self) -> int:
        return max(0, self.allowance.characters - self.chars_used)

    @property
    def seconds_remaining(self) -> float:
        return max(0, self.allowance.audio_ms - self.audio_ms_used) / 1000

    def as_dict(self) -> dict[str, Any]:
        unlimited_chars = self.allowance.characters >= UNLIMITED
        unlimited_ms = self.allowance.audio_ms >= UNLIMITED
        figures: dict[str, Any] = {
            "characters": {
                "limit": None if unlimited_chars else self.allowance.characters,
                "used": self.chars_used,
                "remaining": None if unlimited_chars else self.chars_remaining,
            },
            "seconds": {
                "limit": None if unlimited_ms else self.allowance.seconds,
                "used": round(self.audio_ms_used / 1000, 3),
                "remaining": None if unlimited_ms else round(self.seconds_remaining, 3),
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
    id: str | None = None  # the QuotaReservation row of a request (jobs keep their own row)


@dataclass(frozen=True)
class Hold:
    """What a request's reservation row records: which request, and what a usage event needs
    if the process holding it dies."""

    request_id: str
    method: str
    endpoint: str
    voice: str | None = None
    language: str | None = None
    client_ip: str | None = None
    text_hash: str | None = None


class Meter:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        plans: Plans,
        *,
        chars_per_second: float,
        lease: timedelta,
        owner: str | None = None,
        recorder: UsageRecorder | None = None,
    ) -> None:
        self.owner = owner or process_id()
        self.lease = lease
        self.chars_per_second = chars_per_second  # the speech rate audio estimates assume
        self._plans = plans
        self._database = database
        self._clock = clock
        self._recorder = recorder  # while it runs, cache hits are charged in its batches
        self._task: asyncio.Task[None] | None = None
        self._live: set[str] = set()  # reservations of requests still running here

    def allowance(self, principal: Principal) -> Allowance:
        return self.allowance_of(
            principal.plan,
            principal.char_limit,
            principal.seconds_limit,
            spend_cap_cents=principal.spend_cap_cents,
        )

    def allowance_of(
        self,
        plan: str,
        char_limit: int | None,
        seconds_limit: int | None,
        *,
        spend_cap_cents: int | None = None,
    ) -> Allowance:
        """A plan's allowance, with an account's own limits where it has them."""
        return self._plans.allowance(
            plan, characters=char_limit, seconds=seconds_limit, spend_cap_cents=spend_cap_cents
        )

    def period_of(self, principal: Principal) -> periods.Period:
        """The caller's current period: its subscription's, or the calendar month."""
        return self.period_for(principal.billing_period)

    # --- requests: each operation its own short transaction ---------------------------------

    async def precheck(self, principal: Principal, characters: int) -> None:
        """Refuse at once (429) a long text its account cannot pay for, before any work
        proportional to it is spent; a short one skips the read (the reservation refuses it
        just the same, atomically)."""
        if characters < PRECHECK_FROM_CHARS:
            return
        figures = await self.figures(principal)
        key = figures.as_dict().get("key_characters")
        now = self._clock.now()
        if key is not None and characters > key["remaining"]:
            raise _exceeded("key", characters, 1, figures, now)
        if characters > figures.chars_remaining or figures.seconds_remaining <= 0:
            raise _exceeded("account", characters, 1, figures, now)

    async def reserve(
        self, principal: Principal, characters: int, audio_ms: int, hold: Hold
    ) -> Reservation:
        """Take the quota and leave a row saying so, in one transaction; this process keeps
        the row's lease alive until the request settles or refunds."""
        if self._recorder is not None and self._recorder.credits.holds(principal.account_id):
            try:
                return await self._reserve(principal, characters, audio_ms, hold)
            except QuotaExceeded:  # perhaps for want of what this process's blocks hold
                await self._recorder.give_back(principal.account_id)
        return await self._reserve(principal, characters, audio_ms, hold)

    async def _reserve(
        self, principal: Principal, characters: int, audio_ms: int, hold: Hold
    ) -> Reservation:
        now, period = self._clock.now(), self.period_of(principal)
        charge = periods.Charge(
            principal.account_id,
            principal.key_id,
            period,
            self.allowance(principal),
            principal.key_char_cap,
            characters,
            audio_ms,
            settled=False,
        )
        row = {
            "id": new_id("rsv"),
            "account_id": principal.account_id,
            "key_id": principal.key_id,
            "characters": characters,
            "audio_ms": audio_ms,
            "period_start": period.start,
            "created_at": now,
            "owner": self.owner,
            "lease_expires_at": now + self.lease,
            **vars(hold),
        }
        # One hop of plain SQL: this runs twice per request (here and to settle).
        counted = await self._database.run_write(partial(_reserving, charge, row))
        if isinstance(counted, periods.Short):
            figures = await self.figures(principal)
            raise _exceeded(counted.what, characters, audio_ms, figures, now)
        reservation = Reservation(
            principal.account_id, principal.key_id, characters, audio_ms, period.start, row["id"]
        )
        self._live.add(row["id"])
        return reservation

    async def charge(
        self, principal: Principal, characters: int, audio_ms: int, *, free: bool = False
    ) -> QuotaFigures:
        """Charge an exact cost at once (a cache hit; `free` when hits are not counted) and
        return the figures after it. While the usage recorder runs (a serving process), the
        charge joins its next batch: one transaction for many hits, each still exact."""
        if free:
            return await self.figures(principal)
        if self._recorder is None or not self._recorder.running:
            async with self._database.session(write=True) as session:
                period, (account, key) = await self._take(
                    session, principal, characters, audio_ms, settled=True
                )
            allowance = self.allowance(principal)
            return _figures(principal.plan, allowance, period, account, key, principal.key_char_cap)
        # Serving: counted in the recorder's next batch, with other requests' charges.
        now, period, allowance = (
            self._clock.now(),
            self.period_of(principal),
            self.allowance(principal),
        )
        charge = periods.Charge(
            principal.account_id,
            principal.key_id,
            period,
            allowance,
            principal.key_char_cap,
            characters,
            audio_ms,
            settled=True,
        )
        try:
            try:
                account, key = await self._charge_hit(charge)
            except periods.Short:
                if not self._recorder.credits.holds(principal.account_id):
                    raise
                # The blocks held here may be what it lacked.
                await self._recorder.give_back(principal.account_id)
                account, key = await self._charge_hit(charge)
        except periods.Short as short:
            figures = await self.figures(principal)
            raise _exceeded(short.what, characters, audio_ms, figures, now) from None
        return _figures(principal.plan, allowance, period, account, key, principal.key_char_cap)

    async def _charge_hit(
        self, charge: periods.Charge
    ) -> tuple[periods.Counters, periods.Counters]:
        """From the block of credit this process holds for the caller; when it has none that
        covers the hit, take a new block (one hit at a time per account and key) — or, with no
        figures seen yet or little left, charge the hit exactly in the next batch."""
        assert self._recorder is not None
        credits = self._recorder.credits
        while True:
            counters = credits.spend(charge)
            if counters is not None:
                return counters
            other = credits.being_taken(charge)
            if other is None:
                break
            await asyncio.shield(other)  # another hit is taking a block for the same group
        block = credits.block_for(charge)
        if block is None:
            counters = await self._recorder.charge(charge)
            credits.observe(charge, *counters)
            return counters
        taking = credits.taking(charge)
        try:
            return await self._take_block(charge, block)
        finally:
            credits.taken(charge, taking)

    async def _take_block(
        self, charge: periods.Charge, block: Block
    ) -> tuple[periods.Counters, periods.Counters]:
        assert self._recorder is not None
        credits = self._recorder.credits
        now = self._clock.now()
        row_id = new_id(CREDIT_PREFIX)
        row: dict[str, object] = {
            "id": row_id,
            "account_id": charge.account_id,
            "key_id": charge.key_id,
            "characters": block.characters,
            "audio_ms": block.audio_ms,
            "period_start": charge.period.start,
            "owner": self.owner,
            "lease_expires_at": now + self.lease,
            "created_at": now,
            "request_id": row_id,
            "method": "",
            "endpoint": "cache-hit credit",
        }
        taking = replace(
            charge, characters=block.characters, audio_ms=block.audio_ms, settled=False
        )
        try:
            account, key = await self._recorder.charge(taking, row)
        except periods.Short:  # the block did not fit after all: this hit alone, exactly
            counters = await self._recorder.charge(charge)
            credits.observe(charge, *counters)
            return counters
        counters = credits.open(charge, row_id, block, account, key).spend(
            charge.characters, charge.audio_ms
        )
        assert counters is not None  # a block covers at least two such hits
        return counters

    async def settle(
        self, reservation: Reservation, audio_ms: int, characters: int | None = None
    ) -> bool:
        """Charge the real duration (and, for a stream cut short, the characters it stood for).
        False when a sweep had already given the reservation back: nothing changes then."""
        try:
            return await self._database.run_write(
                partial(_settling, reservation, audio_ms, characters)
            )
        finally:
            self._live.discard(reservation.id or "")

    async def settle_and_read(
        self, reservation: Reservation, principal: Principal, audio_ms: int
    ) -> tuple[bool, QuotaFigures]:
        """`settle`, and the figures after it, in the same transaction."""
        period = self.period_of(principal)

        def work(connection: Connection) -> tuple[bool, tuple[periods.Counters, ...]]:
            settled = _settling(reservation, audio_ms, None, connection)
            return settled, periods.reading(
                connection, principal.account_id, principal.key_id, period
            )

        try:
            settled, (account, key) = await self._database.run_write(work)
        finally:
            self._live.discard(reservation.id or "")
        allowance = self.allowance(principal)
        figures = _figures(principal.plan, allowance, period, account, key, principal.key_char_cap)
        return settled, figures

    async def refund(self, reservation: Reservation) -> bool:
        """Give back everything; False when a sweep already did (and recorded the request)."""
        return await self.settle(reservation, audio_ms=0, characters=0)

    async def figures(self, principal: Principal) -> QuotaFigures:
        """The caller's figures; what blocks of credit held here have not spent is not use."""
        async with self._database.session() as session:
            figures = await self.read_in(session, principal)
        if self._recorder is None or not self._recorder.credits.holding:
            return figures
        credits, start = self._recorder.credits, self.period_of(principal).start
        account = credits.unspent(principal.account_id, None, start)
        key = credits.unspent(principal.account_id, principal.key_id, start)
        return replace(
            figures,
            chars_used=figures.chars_used - account.characters,
            audio_ms_used=figures.audio_ms_used - account.audio_ms,
            key_chars_used=figures.key_chars_used - key.characters,
        )

    # --- inside a caller's transaction (jobs) -----------------------------------------------

    async def reserve_in(
        self, session: AsyncSession, principal: Principal, characters: int, audio_ms: int
    ) -> Reservation:
        """Reserve within the caller's transaction, or raise 429 with the figures."""
        period, _ = await self._take(session, principal, characters, audio_ms, settled=False)
        return Reservation(
            principal.account_id, principal.key_id, characters, audio_ms, period.start
        )

    async def settle_in(
        self,
        session: AsyncSession,
        reservation: Reservation,
        audio_ms: int,
        characters: int | None = None,
    ) -> bool:
        connection = await session.connection()
        return await connection.run_sync(partial(_settling, reservation, audio_ms, characters))

    async def refund_in(self, session: AsyncSession, reservation: Reservation) -> bool:
        return await self.settle_in(session, reservation, audio_ms=0, characters=0)

    async def read_in(self, session: AsyncSession, principal: Principal) -> QuotaFigures:
        """The caller's figures in the current period (nothing counted yet reads as zeros)."""
        return await self.read_account_in(
            session,
            account_id=principal.account_id,
            plan=principal.plan,
            char_limit=principal.char_limit,
            seconds_limit=principal.seconds_limit,
            key_id=principal.key_id,
            key_cap=principal.key_char_cap,
            spend_cap_cents=principal.spend_cap_cents,
            billing_period=principal.billing_period,
        )

    async def read_account_in(
        self,
        session: AsyncSession,
        *,
        account_id: str,
        plan: str,
        char_limit: int | None,
        seconds_limit: int | None,
        key_id: str | None = None,
        key_cap: int | None = None,
        spend_cap_cents: int | None = None,
        billing_period: tuple[datetime, datetime] | None = None,
    ) -> QuotaFigures:
        period = self.period_for(billing_period)
        account, key = await periods.read(
            session, account_id=account_id, key_id=key_id, period=period
        )
        allowance = self.allowance_of(
            plan, char_limit, seconds_limit, spend_cap_cents=spend_cap_cents
        )
        return _figures(plan, allowance, period, account, key, key_cap)

    def period_for(self, billing_period: tuple[datetime, datetime] | None = None) -> periods.Period:
        """The current period of an account whose subscription has `billing_period` (None:
        the calendar month)."""
        return periods.period_at(self._clock.now(), billing_period)

    async def key_characters(self, session: AsyncSession, key_ids: list[str]) -> dict[str, int]:
        """Characters each key used or holds reserved in its account's current period (what
        this process's blocks of credit hold unspent is not use)."""
        used = await periods.key_characters(session, key_ids, self._clock.now())
        if self._recorder is not None and self._recorder.credits.holding:
            for key_id, unspent in self._recorder.credits.unspent_by_key().items():
                if key_id in used:
                    used[key_id] -= unspent
        return used

    async def _take(
        self,
        session: AsyncSession,
        principal: Principal,
        characters: int,
        audio_ms: int,
        *,
        settled: bool,
    ) -> tuple[periods.Period, tuple[periods.Counters, periods.Counters]]:
        """A refusal rolls the caller's transaction back (the account's row may have been
        counted before the key's refused), reads the figures afresh and raises 429: the
        transaction it was part of cannot go on anyway. No savepoint: two fewer round trips on
        every request that fits."""
        now = self._clock.now()
        period = self.period_of(principal)
        try:
            counters = await periods.take(
                session,
                account_id=principal.account_id,
                key_id=principal.key_id,
                period=period,
                allowance=self.allowance(principal),
                key_cap=principal.key_char_cap,
                characters=characters,
                audio_ms=audio_ms,
                settled=settled,
            )
        except periods.Short as short:
            await session.rollback()
            figures = await self.read_in(session, principal)
            raise _exceeded(short.what, characters, audio_ms, figures, now) from None
        return period, counters

    # --- the leases of this process's requests, and the sweep of dead ones' ------------------

    def start(self) -> None:
        """Keep leases alive and sweep dead processes' reservations — first thing, too."""
        self._task = asyncio.create_task(self._run(), name="reservation-upkeep")

    async def close(self, grace: float) -> None:
        """Wait up to `grace` seconds for this process's requests to settle; give back the rest."""
        if self._task is not None:
            self._task.cancel()
        try:
            async with asyncio.timeout(grace):
                while self._live:
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pass
        if self._recorder is not None:
            try:  # settle what blocks of credit spent, before they are swept
                async with asyncio.timeout(max(grace, 5.0)):
                    await self._recorder.give_back()
            except TimeoutError:
                log.warning("could not settle the blocks of cache-hit credit in time")
        try:
            given_back = await self.sweep(own=True)
        except Exception:  # the database is gone: another process's sweep will do it
            log.warning("could not give back unfinished requests' quota", exc_info=True)
            return
        if given_back:
            log.warning("shutdown: gave back the quota of %d unfinished requests", given_back)

    def forget(self, reservation: Reservation) -> None:
        """Stop renewing a reservation that could not be settled here: its lease runs out and
        a sweep gives it back."""
        self._live.discard(reservation.id or "")

    async def renew(self) -> int:
        """Push the leases of the requests still running here forward; returns how many."""
        live = list(self._live)
        if self._recorder is not None:
            live += self._recorder.credits.row_ids()
        if not live:
            return 0
        async with self._database.session(write=True) as session:
            result = await session.execute(
                update(QuotaReservation)
                .where(QuotaReservation.id.in_(live))
                .values(lease_expires_at=self._clock.now() + self.lease)
            )
        return result.rowcount or 0

    async def sweep(self, *, own: bool = False) -> int:
        """Give back reservations whose lease ran out (with `own`, every one of this process's)
        and record each as an interrupted request; returns how many."""
        swept = 0
        while True:
            now = self._clock.now()
            async with self._database.session(write=True) as session:
                condition = (
                    QuotaReservation.owner == self.owner
                    if own
                    else QuotaReservation.lease_expires_at < now
                )
                rows = list(
                    await session.scalars(
                        select(QuotaReservation)
                        .where(condition)
                        .order_by(QuotaReservation.lease_expires_at)
                        .limit(SWEEP_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                records = [
                    _interrupted(row, now)
                    for row in rows
                    if await self.refund_in(session, _reservation_of(row))
                    and not is_credit_row(row.id)  # a block of credit: no request to record
                ]
                await store_usage(session, records)
            swept += len(records)
            if len(rows) < SWEEP_BATCH:
                return swept

    async def _run(self) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            try:
                await self.renew()
                swept = await self.sweep()
                if swept:
                    log.warning("gave back the quota of %d requests of a stopped process", swept)
            except Exception:
                log.warning("reservation upkeep failed; will retry", exc_info=True)
            await asyncio.sleep(interval)


def _figures(
    plan: str,
    allowance: Allowance,
    period: periods.Period,
    account: periods.Counters,
    key: periods.Counters,
    key_cap: int | None,
) -> QuotaFigures:
    return QuotaFigures(
        plan=plan,
        allowance=allowance,
        chars_used=account.characters,
        audio_ms_used=account.audio_ms,
        resets_at=period.end,
        key_char_cap=key_cap,
        key_chars_used=key.characters,
    )


def _reserving(
    charge: periods.Charge, row: dict[str, Any], connection: Connection
) -> tuple[periods.Counters, periods.Counters] | periods.Short:
    """Count a request's reservation and leave its row — both, or neither (`Short`)."""
    counted = periods.take_whole(connection, charge)
    if not isinstance(counted, periods.Short):
        connection.execute(insert(QuotaReservation.__table__), row)
    return counted


def _settling(
    reservation: Reservation, audio_ms: int, characters: int | None, connection: Connection
) -> bool:
    """Delete the reservation's row (if it has one) and turn what it held into use; False,
    changing nothing, when the row was gone (a sweep gave it back already)."""
    if reservation.id is not None:
        deleted = connection.execute(
            delete(QuotaReservation.__table__).where(
                QuotaReservation.__table__.c.id == reservation.id
            )
        )
        if deleted.rowcount != 1:
            return False
    spoken = (
        reservation.characters if characters is None else min(characters, reservation.characters)
    )
    for statement in periods.settling(
        reservation.account_id,
        reservation.key_id,
        reservation.period_start,
        reservation.characters,
        reservation.audio_ms,
        spoken,
        audio_ms,
    ):
        connection.execute(statement)
    return True


def _reservation_of(row: QuotaReservation) -> Reservation:
    return Reservation(
        row.account_id, row.key_id, row.characters, row.audio_ms, row.period_start, row.id
    )


def _interrupted(row: QuotaReservation, now: datetime) -> UsageRecord:
    return UsageRecord(
        created_at=now,
        request_id=row.request_id,
        account_id=row.account_id,
        key_id=row.key_id,
        method=row.method,
        endpoint=row.endpoint,
        status_code=INTERRUPTED_STATUS,
        latency_ms=round((now - row.created_at).total_seconds() * 1000),
        client_ip=row.client_ip,
        voice=row.voice,
        language=row.language,
        text_hash=row.text_hash,
        outcome="interrupted",
    )


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
