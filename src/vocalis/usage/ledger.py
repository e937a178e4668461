"""The reservations of running requests, kept alive by the process that serves them.

Each process renews the leases of its own reservation rows while it runs and, as often, sweeps
rows whose lease ran out — those of a process that died mid-request (`kill -9`, a crash, a lost
machine): the quota goes back and a usage event marked `interrupted` takes the request's place.
It sweeps once at start-up too, so a restarted server gives back what its predecessor held as
soon as the lease is over. On shutdown it waits for its own requests to settle, then gives back
whatever is still held.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.errors import INTERRUPTED_STATUS
from vocalis.kit.ids import process_id
from vocalis.usage import quota
from vocalis.usage.models import QuotaReservation
from vocalis.usage.recorder import UsageRecord, store_usage

log = logging.getLogger(__name__)

SWEEP_BATCH = 100


class ReservationLedger:
    def __init__(
        self, database: Database, clock: Clock, *, lease: timedelta, owner: str | None = None
    ) -> None:
        self.owner = owner or process_id()
        self.lease = lease
        self._database = database
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._live: set[str] = set()  # reservations of requests still running here

    def track(self, reservation_id: str | None) -> None:
        """A request of this process holds `reservation_id`: keep its lease alive."""
        if reservation_id is not None:
            self._live.add(reservation_id)

    def untrack(self, reservation_id: str | None) -> None:
        """The request is done with it (settled, refunded, or failing to): stop renewing it, so
        a row that could not be given back here expires and is swept."""
        self._live.discard(reservation_id or "")

    def hold(self, **request: str | None) -> quota.Hold:
        """The row details for a reservation this process is about to take."""
        return quota.Hold(
            owner=self.owner,
            lease_expires_at=self._clock.now() + self.lease,
            **request,  # type: ignore[arg-type]
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reservation-ledger")

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
        try:
            given_back = await self.sweep(own=True)
        except Exception:  # the database is gone: another process's sweep will do it
            log.warning("could not give back unfinished requests' quota", exc_info=True)
            return
        if given_back:
            log.warning("shutdown: gave back the quota of %d unfinished requests", given_back)

    async def renew(self) -> int:
        """Push the leases of the requests still running here forward; returns how many."""
        live = list(self._live)
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
                    if await quota.refund(session, _reservation_of(row))
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


def _reservation_of(row: QuotaReservation) -> quota.Reservation:
    return quota.Reservation(
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
