"""Sending what the outbox holds: claim due mails, send them, record how it went, retry on a
schedule — from any number of processes sharing the database.

A claim leases a mail: in one short transaction its next attempt is pushed a lease ahead and its
attempt counted, and the sending happens after that transaction, so no transaction is held open
across an HTTP call. Another process skips a leased mail; if the process that holds it dies
mid-send, the lease runs out and the mail is sent again. Resend's idempotency key (the mail's
id) keeps such a retry, or one after a lost answer, from delivering twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update

from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.polling import PollingWorker
from vocalis.kit.redact import redact
from vocalis.mail.models import OutboundMail
from vocalis.mail.sender import MAX_ERROR_CHARS, MailNotSent, MailSender

log = logging.getLogger(__name__)

BATCH = 10  # mails claimed, and sent concurrently, at a time
LEASE = timedelta(seconds=60)  # longer than a send may take (its timeout)
POLL_SECONDS = 1.0
GIVEN_UP = "the last attempt's outcome was never recorded (the sending process stopped)"


class MailDelivery(PollingWorker):
    """Sends due mails every `poll_seconds`, or at once when woken. `schedule[n]` is the wait in
    seconds before attempt n+1 (the first attempt is due when the mail is queued); once it is
    used up, the mail is marked failed."""

    name = "mail-delivery"

    def __init__(
        self,
        database: Database,
        clock: Clock,
        sender: MailSender,
        schedule: list[float],
        *,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        batch: int = BATCH,
    ) -> None:
        if not schedule:
            raise ValueError("a retry schedule needs at least one delay")
        super().__init__(poll_seconds)
        self.sender = sender
        self._database = database
        self._clock = clock
        self._schedule = schedule
        self._lease = lease
        self._batch = batch

    async def run_once(self) -> int:
        """Send every mail due now, once each; how many were attempted."""
        due_by = self._clock.now()  # what falls due meanwhile (a retry, too) waits its turn
        attempted = 0
        while True:
            claimed = await self._claim(due_by)
            if not claimed:
                return attempted
            await asyncio.gather(*(self._deliver(mail) for mail in claimed))
            attempted += len(claimed)
            if len(claimed) < self._batch:
                return attempted

    async def _claim(self, due_by: datetime) -> list[OutboundMail]:
        """Lease up to a batch of mails due by `due_by`, oldest first: on PostgreSQL rows another
        process is claiming are skipped (SKIP LOCKED); SQLite lets one writer in at a time."""
        due = _due(due_by)
        # Mostly there is nothing to send: a read says so without taking SQLite's write lock.
        if not await self._database.has_rows(select(OutboundMail.id).where(due)):
            return []
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            rows = await session.scalars(
                select(OutboundMail)
                .where(due)
                .order_by(OutboundMail.next_attempt_at, OutboundMail.id)
                .limit(self._batch)
                .with_for_update(skip_locked=True)
            )
            claimed = []
            for mail in rows:
                if mail.attempts >= len(self._schedule):
                    # Its last attempt was leased and never finished: stop rather than retry
                    # forever a mail that may be what brings its sender down.
                    _mark_failed(mail, GIVEN_UP, now)
                    continue
                mail.attempts += 1
                mail.next_attempt_at = now + self._lease
                claimed.append(mail)
        return claimed  # detached now, holding the values as claimed

    async def _deliver(self, mail: OutboundMail) -> None:
        try:
            provider_id = await self.sender.send(mail)
        except MailNotSent as exc:
            await self._record_failure(mail, str(exc))
        except Exception as exc:  # a bug or an unexpected answer: retried like an outage
            log.exception("sending mail %s crashed", mail.id)
            await self._record_failure(mail, redact(f"{type(exc).__name__}: {exc}"))
        else:
            await self._record_sent(mail, provider_id)

    async def _record_sent(self, mail: OutboundMail, provider_id: str | None) -> None:
        async with self._database.session(write=True) as session:
            await session.execute(
                update(OutboundMail)
                .where(OutboundMail.id == mail.id)
                .values(
                    status="sent",
                    sent_at=self._clock.now(),
                    provider_id=provider_id,
                    last_error=None,
                )
            )

    async def _record_failure(self, mail: OutboundMail, error: str) -> None:
        now = self._clock.now()
        error = error[:MAX_ERROR_CHARS]
        values: dict[str, object] = {"last_error": error}
        if mail.attempts < len(self._schedule):
            retry_at = now + timedelta(seconds=self._schedule[mail.attempts])
            values["next_attempt_at"] = retry_at
            log.info(
                "mail %s attempt %d failed (%s); next at %s",
                mail.id,
                mail.attempts,
                error,
                retry_at,
            )
        else:
            values |= {"status": "failed", "next_attempt_at": now}
            log.warning(
                "mail %s to %s failed for good after %d attempts: %s",
                mail.id,
                mail.to_address,
                mail.attempts,
                error,
            )
        async with self._database.session(write=True) as session:
            # Only while the mail is still this claim's: a process that took it over after the
            # lease ran out (its attempt counted anew) records its own outcome.
            await session.execute(
                update(OutboundMail)
                .where(
                    OutboundMail.id == mail.id,
                    OutboundMail.status == "pending",
                    OutboundMail.attempts == mail.attempts,
                )
                .values(**values)
            )


def _due(due_by: datetime) -> ColumnElement[bool]:
    return and_(OutboundMail.status == "pending", OutboundMail.next_attempt_at <= due_by)


def _mark_failed(mail: OutboundMail, error: str, now: datetime) -> None:
    mail.status = "failed"
    mail.last_error = error
    mail.next_attempt_at = now
    log.warning("mail %s to %s failed for good: %s", mail.id, mail.to_address, error)
