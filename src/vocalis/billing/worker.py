"""The billing worker: applies stored Stripe events, ends lapsed plans, and reports
pay-as-you-go usage (`billing.metering`) — from any number of processes sharing the database.

An event is claimed with a lease (its next attempt pushed a lease ahead and its attempt
counted, in one short transaction), the subscription it concerns is read from Stripe outside
any transaction, and the account is changed in a second transaction that also marks the event
processed. A failure is retried on `schedule`; a process that dies mid-way leaves a lease that
runs out, and another process takes the event over. Nothing here depends on the order events
arrive in (see `billing.events`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update

from vocalis.billing import events, metering
from vocalis.billing.events import BillingRules
from vocalis.billing.models import BillingEvent
from vocalis.billing.stripe_api import StripeGateway
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.polling import PollingWorker
from vocalis.kit.redact import redact

log = logging.getLogger(__name__)

BATCH = 20
LEASE = timedelta(seconds=60)
POLL_SECONDS = 2.0
MAX_ERROR_CHARS = 500
GIVEN_UP = "its last attempt never finished (the processing process stopped)"


class BillingWorker(PollingWorker):
    name = "billing-worker"

    def __init__(
        self,
        database: Database,
        clock: Clock,
        gateway: StripeGateway,
        rules: BillingRules,
        schedule: list[float],
        *,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        changed: Callable[[str], None] | None = None,
    ) -> None:
        """`changed(account_id)` is told of each account whose plan or period may have moved
        (this process's key cache forgets it; other processes' caches expire in seconds)."""
        if not schedule:
            raise ValueError("a retry schedule needs at least one delay")
        super().__init__(poll_seconds)
        self._database = database
        self._clock = clock
        self._gateway = gateway
        self._rules = rules
        self._schedule = schedule
        self._lease = lease
        self._changed = changed or (lambda account_id: None)

    async def run_once(self) -> int:
        """Apply every event due now and end every lapsed plan; how many events were tried."""
        due_by = self._clock.now()
        tried = 0
        while claimed := await self._claim(due_by):
            for row in claimed:
                await self._process(row)
            tried += len(claimed)
            if len(claimed) < BATCH:
                break
        await self.end_lapsed_plans()
        await self.report_usage()
        return tried

    async def report_usage(self) -> int:
        """Write the pay-as-you-go reports of the hour that ended, and send those due (two
        processes sending one report at once is harmless: Stripe counts an identifier once);
        how many went through."""
        metered = [plan.id for plan in self._rules.catalogue if plan.metered]
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            await metering.write_reports(session, metered, now)
        async with self._database.session() as session:
            due = await metering.due_reports(session, now)
        sent = 0
        for report in due:
            error = await metering.send(self._gateway, report)
            sent += error is None
            async with self._database.session(write=True) as session:
                await metering.record_outcome(
                    session, report, error, self._clock.now(), self._schedule
                )
        return sent

    async def end_lapsed_plans(self) -> int:
        """Free for accounts whose unpaid grace or paid period is over; how many changed."""
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            ended_for = []
            for account in await events.lapsed_accounts(session, self._rules, now):
                ended = await events.end_overdue(session, account, self._rules, now)
                if await events.end_plan(session, account, self._rules, now) or ended:
                    ended_for.append(account.id)
        for account_id in ended_for:
            self._changed(account_id)
        changed = len(ended_for)
        if changed:
            log.info("%d account(s) fell back to the free plan", changed)
        return changed

    async def _claim(self, due_by: datetime) -> list[BillingEvent]:
        due = and_(BillingEvent.status == "pending", BillingEvent.next_attempt_at <= due_by)
        if not await self._database.has_rows(select(BillingEvent.id).where(due)):
            return []
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            rows = await session.scalars(
                select(BillingEvent)
                .where(due)
                .order_by(BillingEvent.stripe_created_at, BillingEvent.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            claimed = []
            for row in rows:
                if row.attempts >= len(self._schedule):
                    row.status, row.last_error = "failed", GIVEN_UP
                    continue
                row.attempts += 1
                row.next_attempt_at = now + self._lease
                claimed.append(row)
        return claimed

    async def _process(self, row: BillingEvent) -> None:
        event = json.loads(row.payload)
        try:
            state = await events.fetch_state(self._gateway, event)
            now = self._clock.now()
            async with self._database.session(write=True) as session:
                applied = await events.apply(session, event, state, self._rules, now)
                await session.execute(
                    update(BillingEvent)
                    .where(BillingEvent.id == row.id, BillingEvent.attempts == row.attempts)
                    .values(
                        status="processed",
                        processed_at=now,
                        account_id=applied.account_id,
                        outcome=applied.outcome[:300],
                        last_error=None,
                    )
                )
            if applied.account_id is not None:
                self._changed(applied.account_id)
            log.info("stripe event %s (%s): %s", row.id, row.type, applied.outcome)
        except Exception as error:
            if not isinstance(error, events.UnknownPrice):
                log.warning("stripe event %s (%s) failed", row.id, row.type, exc_info=True)
            await self._record_failure(row, redact(f"{type(error).__name__}: {error}"))

    async def _record_failure(self, row: BillingEvent, error: str) -> None:
        now = self._clock.now()
        values: dict[str, object] = {"last_error": error[:MAX_ERROR_CHARS]}
        if row.attempts < len(self._schedule):
            values["next_attempt_at"] = now + timedelta(seconds=self._schedule[row.attempts])
        else:
            values |= {"status": "failed", "next_attempt_at": now, "outcome": "failed"}
            log.error("stripe event %s failed for good: %s", row.id, error)
        async with self._database.session(write=True) as session:
            await session.execute(
                update(BillingEvent)
                .where(
                    BillingEvent.id == row.id,
                    BillingEvent.status == "pending",
                    BillingEvent.attempts == row.attempts,
                )
                .values(**values)
            )
