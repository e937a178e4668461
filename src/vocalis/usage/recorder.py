"""Writes usage events, and counts cache hits' charges, in batches: one transaction for many
requests.

Requests drop a `UsageRecord` into an in-memory queue and go on; a cache hit's charge joins the
same queue and waits for the transaction that counts it. One task writes whatever is queued —
charges, events and their daily aggregates — in one short transaction, so that a burst of cache
hits costs one commit rather than one each, and no request's charge waits behind another's
round trips (the convoy that made SQLite latencies of hundreds of milliseconds under load).
Each charge is still all or nothing and exact (see `periods.take_each`). Most hits do not even
wait for that: they are charged from a block of quota the process holds (`usage.credits`), and
every batch settles what the blocks spent. `flush()` waits until everything queued so far is
written, which reports call first so a caller sees its own latest requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import defaultdict, deque
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, insert
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.kit.db import Database, upserting_adding
from vocalis.kit.errors import CLIENT_CLOSED_REQUEST
from vocalis.usage.credits import HitCredits, Settlement, write_settlements
from vocalis.usage.models import QuotaReservation, UsageDaily, UsageEvent
from vocalis.usage.periods import Charge, Counters, Short, take_each

log = logging.getLogger(__name__)

BATCH_SIZE = 500
IDLE_CHECK_SECONDS = 0.5  # while blocks of credit are held, how often idle ones are looked for
EVENTS_DELAY_SECONDS = 0.05  # how long events alone may wait for others to share a transaction
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class UsageRecord:
    created_at: datetime
    request_id: str
    account_id: str
    key_id: str
    method: str
    endpoint: str
    status_code: int
    latency_ms: int
    client_ip: str | None = None
    voice: str | None = None
    language: str | None = None
    characters: int = 0
    audio_ms: int = 0
    audio_bytes: int = 0
    cache_hit: bool = False
    text_hash: str | None = None
    outcome: str | None = None  # None: derived from the status code


def outcome_of(status_code: int) -> str:
    if status_code == CLIENT_CLOSED_REQUEST:
        return "canceled"
    return "completed" if status_code < 400 else "failed"


def text_fingerprint(text: str, pepper: str) -> str:
    """16 hex characters that identify a text without revealing it (keyed, so not reversible
    by hashing a dictionary of likely texts)."""
    return hmac.new(pepper.encode(), b"text\0" + text.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass
class _Pending:
    """A charge waiting for the transaction that counts it."""

    charge: Charge
    outcome: asyncio.Future[tuple[Counters, Counters]]
    reservation: dict[str, object] | None = None  # a block's row, inserted with its charge


class UsageRecorder:
    def __init__(self, database: Database, max_queued: int = 10_000) -> None:
        self._database = database
        self._max_queued = max_queued
        self._queue: deque[UsageRecord | _Pending | asyncio.Future[None]] = deque()
        self._records = 0  # events among the queued
        self._wake = asyncio.Event()  # something is queued
        self._urgent = asyncio.Event()  # something queued is waited for
        self._task: asyncio.Task[None] | None = None
        self.credits = HitCredits()  # blocks of quota that hits are charged from

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    def record(self, record: UsageRecord) -> None:
        if self._records >= self._max_queued:
            log.warning("usage queue full; dropping the event of request %s", record.request_id)
            return
        self._records += 1
        self._enqueue(record)

    async def charge(
        self, charge: Charge, reservation: dict[str, object] | None = None
    ) -> tuple[Counters, Counters]:
        """Count `charge` in the next batch's transaction: both rows' counters after it, or
        `Short` (nothing counted). Raises what the database raised if the batch failed.
        `reservation`: the row of a block of credit, inserted only if the charge is counted."""
        if not self.running:
            raise RuntimeError("the usage recorder is not running")
        outcome: asyncio.Future[tuple[Counters, Counters]] = (
            asyncio.get_running_loop().create_future()
        )
        self._enqueue(_Pending(charge, outcome, reservation))
        return await outcome

    async def give_back(self, account_id: str | None = None) -> None:
        """Give back the blocks of credit held for `account_id` (every account's: None), and
        wait until they are."""
        self.credits.close(account_id)
        await self.flush()

    async def flush(self) -> None:
        """Wait until everything queued before this call is written (with what the blocks of
        credit spent so far)."""
        if not self.running:  # nothing would write it; say what was lost rather than hang
            if self._queue:
                log.warning("usage recorder not running; %d items unwritten", len(self._queue))
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(done)
        await asyncio.shield(done)

    async def close(self, timeout: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout):  # not wait_for: see kit.wakeup
                await self.flush()
        except TimeoutError:
            log.warning("usage recorder closed with %d items unwritten", len(self._queue))
        if self._task is not None:
            self._task.cancel()
        for item in self._queue:
            if isinstance(item, _Pending) and not item.outcome.done():
                item.outcome.set_exception(RuntimeError("the usage recorder stopped"))

    def _enqueue(self, item: UsageRecord | _Pending | asyncio.Future[None]) -> None:
        self._queue.append(item)
        self._wake.set()
        if not isinstance(item, UsageRecord) or len(self._queue) >= BATCH_SIZE:
            self._urgent.set()  # someone is waiting for it (or the batch is full)

    async def _run(self) -> None:
        while True:
            if self.credits.holding:
                try:  # a block left idle is given back, even when no request comes
                    async with asyncio.timeout(IDLE_CHECK_SECONDS):
                        await self._wake.wait()
                except TimeoutError:
                    await self._settle_credits()
                    continue
            await self._wake.wait()
            if not self._urgent.is_set():
                # Only events, which nobody waits for: let more of them come and share the
                # transaction (one per request would cost more than the requests themselves).
                with suppress(TimeoutError):
                    async with asyncio.timeout(EVENTS_DELAY_SECONDS):
                        await self._urgent.wait()
            self._wake.clear()
            self._urgent.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH_SIZE, len(self._queue)))]
                await self._write_batch(batch)

    async def _write_batch(
        self, batch: list[UsageRecord | _Pending | asyncio.Future[None]]
    ) -> None:
        records = [item for item in batch if isinstance(item, UsageRecord)]
        # A request that stopped waiting before its batch began is not charged.
        pending = [item for item in batch if isinstance(item, _Pending) and not item.outcome.done()]
        self._records -= len(records)
        try:
            if pending:
                try:
                    await self._write(records, pending)
                    records = []
                except Exception as error:
                    # Counted apart, so that a bad event cannot fail a charge (or the reverse).
                    log.warning(
                        "a batch of usage failed; counting its charges apart", exc_info=True
                    )
                    await self._charge_alone(pending, error)
            await self._write_with_retries(records)
        finally:
            for item in batch:
                if isinstance(item, asyncio.Future) and not item.done():
                    item.set_result(None)
                elif isinstance(item, _Pending) and not item.outcome.done():  # we were stopped
                    item.outcome.set_exception(RuntimeError("the usage recorder stopped"))

    async def _charge_alone(self, pending: list[_Pending], first_error: Exception) -> None:
        try:
            await self._write([], pending)
        except Exception:
            log.warning("could not count %d cache hits", len(pending), exc_info=first_error)
            for item in pending:
                if not item.outcome.done():
                    item.outcome.set_exception(first_error)

    async def _write_with_retries(self, batch: list[UsageRecord]) -> None:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            if not batch:
                await self._settle_credits()
                return
            try:
                await self._write(batch, [])
                return
            except Exception:
                if attempt == WRITE_ATTEMPTS:
                    log.exception("could not write %d usage events; dropping them", len(batch))
                    return
                await asyncio.sleep(0.2 * attempt)

    async def _settle_credits(self) -> None:
        """Settle the blocks of credit on their own (no event is waiting to carry them)."""
        settlements = self.credits.settlements()
        if not settlements:
            return
        try:
            lost = await self._database.run_write(
                partial(write_settlements, settlements=settlements)
            )
        except Exception:
            log.warning("could not settle cache-hit credit; will retry", exc_info=True)
            return
        self.credits.settled(settlements, lost)

    async def _write(self, records: list[UsageRecord], pending: list[_Pending]) -> None:
        """One transaction: the charges, what the blocks of credit spent, then the events. The
        waiting requests learn their outcome only once it is committed."""
        settlements = self.credits.settlements()
        outcomes, lost = await self._database.run_write(
            partial(_write, pending, settlements, records)
        )
        self.credits.settled(settlements, lost)
        for item, outcome in zip(pending, outcomes, strict=True):
            if item.outcome.done():  # its request was cancelled: the charge stands regardless
                if item.reservation is not None and not isinstance(outcome, Short):
                    # A block no hit is left to open: held (and given back when idle) all the
                    # same, rather than reserved until a sweep.
                    self.credits.adopt(item.charge, str(item.reservation["id"]), *outcome)
                continue
            if isinstance(outcome, Short):
                item.outcome.set_exception(outcome)
            else:
                item.outcome.set_result(outcome)


def _write(
    pending: list[_Pending],
    settlements: list[Settlement],
    records: list[UsageRecord],
    connection: Connection,
) -> tuple[list[tuple[Counters, Counters] | Short], list[str]]:
    """The charges' outcomes, and the blocks of credit found swept (see `write_settlements`)."""
    outcomes = take_each(connection, [item.charge for item in pending])
    rows = [
        item.reservation
        for item, outcome in zip(pending, outcomes, strict=True)
        if item.reservation is not None and not isinstance(outcome, Short)
    ]
    if rows:
        connection.execute(insert(QuotaReservation.__table__), rows)
    lost = write_settlements(connection, settlements)
    write_usage(connection, records)
    return outcomes, lost


async def store_usage(session: AsyncSession, records: list[UsageRecord]) -> None:
    """Insert the events and add them onto their daily aggregates, in the caller's transaction."""
    if records:
        connection = await session.connection()
        await connection.run_sync(write_usage, records)


def write_usage(connection: Connection, records: list[UsageRecord]) -> None:
    """`store_usage`, on a plain connection."""
    if not records:
        return
    connection.execute(
        insert(UsageEvent.__table__),  # Core, not the ORM's bulk path: several times cheaper
        [_event_row(record) for record in records],
    )
    daily = upserting_adding(
        connection.dialect.name,
        UsageDaily.__table__,  # type: ignore[arg-type]
        _BUCKET,
        _SUMS,
    )
    connection.execute(daily, _daily_rows(records))


def _event_row(record: UsageRecord) -> dict[str, object]:
    row = dict(vars(record))  # not `asdict`: it deep-copies every field
    row["outcome"] = record.outcome or outcome_of(record.status_code)
    return row


_BUCKET = ("account_id", "day", "key_id", "endpoint", "voice", "language", "status_code")
_SUMS = ("requests", "characters", "audio_ms", "audio_bytes", "cache_hits")


def _daily_rows(batch: list[UsageRecord]) -> list[dict[str, object]]:
    sums: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for record in batch:
        bucket = (
            record.account_id,
            record.created_at.date(),
            record.key_id,
            record.endpoint,
            record.voice or "",
            record.language or "",
            record.status_code,
        )
        total = sums[bucket]
        total[0] += 1
        total[1] += record.characters
        total[2] += record.audio_ms
        total[3] += record.audio_bytes
        total[4] += int(record.cache_hit)
    return [
        dict(zip(_BUCKET, bucket, strict=True)) | dict(zip(_SUMS, total, strict=True))
        for bucket, total in sums.items()
    ]
