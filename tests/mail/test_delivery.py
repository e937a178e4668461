"""Delivery through the real Resend SDK to a fake Resend on loopback: mail goes out once
committed, never when rolled back, survives outages, gives up when the schedule ends, and is
sent once however many processes share the outbox."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from tests.mail.conftest import (
    MAIL_FROM,
    SCHEDULE,
    SEND_TIMEOUT,
    VERIFY_LINK,
    eventually,
    outbox,
    queue,
    the_mail,
)
from tests.mail.fake_resend import API_KEY, FakeResend
from vocalis.kit import migrations
from vocalis.kit.clock import ManualClock
from vocalis.kit.db import Database
from vocalis.mail.delivery import LEASE, MailDelivery
from vocalis.mail.models import OutboundMail
from vocalis.mail.outbox import enqueue
from vocalis.mail.sender import MailMessage, ResendSender


class Boom(Exception):
    pass


async def test_a_committed_mail_goes_out_through_resend(
    database: Database, clock: ManualClock, delivery: MailDelivery, resend_api: FakeResend
) -> None:
    await queue(database, clock, to="ada@example.com")
    queued = await the_mail(database)

    assert await delivery.run_once() == 1

    [delivered] = resend_api.delivered
    assert delivered.idempotency_key == queued.id
    assert delivered.body["from"] == MAIL_FROM
    assert delivered.body["to"] == ["ada@example.com"]
    assert delivered.body["subject"] == "Confirm your email address"
    assert delivered.body["text"] == queued.text_body and VERIFY_LINK in delivered.body["text"]
    assert delivered.body["html"] == queued.html_body
    mail = await the_mail(database)
    assert (mail.status, mail.provider_id, mail.attempts) == ("sent", delivered.id, 1)
    assert mail.sent_at == clock.now()
    assert await delivery.run_once() == 0  # and only once
    assert len(resend_api.requests) == 1


async def test_a_mail_of_a_rolled_back_transaction_is_never_sent(
    database: Database, clock: ManualClock, delivery: MailDelivery, resend_api: FakeResend
) -> None:
    with pytest.raises(Boom):
        async with database.session(write=True) as session:
            await enqueue(
                session,
                to="ada@example.com",
                template="verify_email",
                context={"link": VERIFY_LINK},
                base_url="https://tts.example.com",
                now=clock.now(),
            )
            raise Boom  # the change that caused the mail failed

    assert await delivery.run_once() == 0
    assert await outbox(database) == []
    assert resend_api.requests == []


async def test_the_running_loop_sends_as_soon_as_it_is_woken(
    database: Database, clock: ManualClock, sender: ResendSender, resend_api: FakeResend
) -> None:
    delivery = MailDelivery(database, clock, sender, SCHEDULE, poll_seconds=60)
    delivery.start()
    try:
        await asyncio.sleep(0.05)  # the loop has looked once, found nothing, and sleeps
        await queue(database, clock)
        delivery.wake()
        mail = await eventually(lambda: _sent(database))
    finally:
        await delivery.stop()

    assert mail.provider_id == resend_api.delivered[0].id


async def test_an_outage_delays_the_mail_which_then_goes_out_once(
    database: Database, clock: ManualClock, delivery: MailDelivery, resend_api: FakeResend
) -> None:
    await queue(database, clock)
    resend_api.fail_next(1, status=500)

    assert await delivery.run_once() == 1

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert "500" in (mail.last_error or "")
    assert mail.next_attempt_at == clock.now() + timedelta(seconds=SCHEDULE[1])
    assert resend_api.delivered == []
    assert await delivery.run_once() == 0  # not before its time

    clock.advance(timedelta(seconds=SCHEDULE[1]))
    assert await delivery.run_once() == 1

    mail = await the_mail(database)
    assert (mail.status, mail.attempts, mail.last_error) == ("sent", 2, None)
    assert len(resend_api.delivered) == 1
    assert [request.idempotency_key for request in resend_api.requests] == [mail.id, mail.id]


async def test_no_answer_within_the_timeout_is_an_outage_too(
    database: Database, clock: ManualClock, delivery: MailDelivery, resend_api: FakeResend
) -> None:
    await queue(database, clock)
    resend_api.hang_next(1)

    async with asyncio.timeout(SEND_TIMEOUT + 2):
        assert await delivery.run_once() == 1

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert mail.last_error
    assert resend_api.delivered == []

    clock.advance(timedelta(seconds=SCHEDULE[1]))
    assert await delivery.run_once() == 1

    assert (await the_mail(database)).status == "sent"
    assert len(resend_api.delivered) == 1


async def test_a_lost_answer_is_retried_without_delivering_twice(
    database: Database, clock: ManualClock, delivery: MailDelivery, resend_api: FakeResend
) -> None:
    """Resend took the mail but its answer never came back: the retry carries the same
    idempotency key, so Resend answers with the first id and sends nothing more."""
    await queue(database, clock)
    resend_api.lose_answer_next(1)

    await delivery.run_once()
    assert (await the_mail(database)).status == "pending"
    clock.advance(timedelta(seconds=SCHEDULE[1]))
    await delivery.run_once()

    [delivered] = resend_api.delivered
    mail = await the_mail(database)
    assert (mail.status, mail.provider_id) == ("sent", delivered.id)
    assert len(resend_api.requests) == 2


async def test_a_mail_is_failed_once_the_schedule_runs_out(
    database: Database,
    clock: ManualClock,
    sender: ResendSender,
    resend_api: FakeResend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery = MailDelivery(database, clock, sender, [0, 5])
    await queue(database, clock, to="ada@example.com")
    resend_api.fail_next(3, status=503)

    await delivery.run_once()
    clock.advance(timedelta(seconds=5))
    with caplog.at_level(logging.WARNING, logger="vocalis.mail"):
        await delivery.run_once()

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("failed", 2)
    assert "503" in (mail.last_error or "")
    assert any(
        mail.id in record.getMessage() and "failed for good" in record.getMessage()
        for record in caplog.records
    )
    clock.advance(timedelta(days=2))
    assert await delivery.run_once() == 0
    assert len(resend_api.requests) == 2
    assert resend_api.delivered == []


async def test_a_rejected_key_is_recorded_without_the_key(
    database: Database, clock: ManualClock, resend_api: FakeResend
) -> None:
    wrong_key = "re_wrong_" + "z" * 24
    delivery = MailDelivery(
        database, clock, ResendSender(wrong_key, resend_api.url, MAIL_FROM), SCHEDULE
    )
    await queue(database, clock)

    await delivery.run_once()

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert "401" in (mail.last_error or "") and "API key is invalid" in (mail.last_error or "")
    assert wrong_key not in (mail.last_error or "")
    assert resend_api.requests[0].headers["authorization"] == f"Bearer {wrong_key}"


async def test_a_mail_being_sent_is_not_taken_by_another_process(
    database: Database,
    database_url: str,
    clock: ManualClock,
    delivery: MailDelivery,
    sender: ResendSender,
    resend_api: FakeResend,
) -> None:
    other_process = Database(database_url)
    try:
        other = MailDelivery(other_process, clock, sender, SCHEDULE)
        await queue(database, clock)
        resend_api.hold = asyncio.Event()
        sending = asyncio.create_task(delivery.run_once())
        await resend_api.wait_for_requests(1)

        assert await other.run_once() == 0  # slow, but leased to the first process

        resend_api.hold.set()
        assert await sending == 1
    finally:
        await other_process.dispose()

    assert (await the_mail(database)).status == "sent"
    assert len(resend_api.requests) == 1


async def test_a_mail_whose_sender_died_is_sent_again_when_the_lease_runs_out(
    database: Database,
    database_url: str,
    clock: ManualClock,
    delivery: MailDelivery,
    sender: ResendSender,
    resend_api: FakeResend,
) -> None:
    await queue(database, clock)
    resend_api.hold = asyncio.Event()
    dying = asyncio.create_task(delivery.run_once())
    await resend_api.wait_for_requests(1)
    dying.cancel()  # the process is gone mid-send
    with pytest.raises(asyncio.CancelledError):
        await dying
    resend_api.hold.set()

    other_process = Database(database_url)
    try:
        other = MailDelivery(other_process, clock, sender, SCHEDULE)
        assert await other.run_once() == 0  # its lease still holds
        clock.advance(LEASE)
        assert await other.run_once() == 1
    finally:
        await other_process.dispose()

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("sent", 2)
    assert len(resend_api.delivered) == 1
    assert {request.idempotency_key for request in resend_api.requests} == {mail.id}


async def test_processes_sharing_the_outbox_send_each_mail_once(
    database: Database, database_url: str, clock: ManualClock, resend_api: FakeResend
) -> None:
    for number in range(12):
        await queue(database, clock, to=f"user{number}@example.com")
    # Nine sends at once into one event loop: a generous deadline, so that a busy machine is not
    # mistaken for an outage (this is about claims, not timeouts).
    patient = ResendSender(API_KEY, resend_api.url, MAIL_FROM, timeout=10)
    processes = [Database(database_url) for _ in range(3)]
    try:
        deliveries = [MailDelivery(db, clock, patient, SCHEDULE, batch=3) for db in processes]
        attempted = await asyncio.gather(*(delivery.run_once() for delivery in deliveries))
    finally:
        for db in processes:
            await db.dispose()

    assert sum(attempted) == 12
    keys = [request.idempotency_key for request in resend_api.requests]
    assert len(keys) == len(set(keys)) == 12
    assert {mail.status for mail in await outbox(database)} == {"sent"}


async def _sent(database: Database) -> OutboundMail | None:
    mails = await outbox(database)
    return mails[0] if mails and mails[0].status == "sent" else None


class CrashingSender:
    """A sender with a bug: what it raises is not a `MailNotSent`."""

    async def send(self, mail: MailMessage) -> str | None:
        raise RuntimeError("bug in the sender")


async def test_a_crashing_sender_counts_as_a_failed_attempt(
    database: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    delivery = MailDelivery(database, clock, CrashingSender(), SCHEDULE)
    await queue(database, clock)

    with caplog.at_level(logging.ERROR, logger="vocalis.mail"):
        assert await delivery.run_once() == 1

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert mail.last_error == "RuntimeError: bug in the sender"
    assert any("crashed" in record.getMessage() for record in caplog.records)


async def test_a_mail_whose_last_attempt_never_finished_is_failed(
    database: Database,
    clock: ManualClock,
    sender: ResendSender,
    resend_api: FakeResend,
) -> None:
    delivery = MailDelivery(database, clock, sender, [0])  # one attempt only
    await queue(database, clock)
    resend_api.hold = asyncio.Event()
    dying = asyncio.create_task(delivery.run_once())
    await resend_api.wait_for_requests(1)
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying

    clock.advance(LEASE)
    assert await delivery.run_once() == 0

    mail = await the_mail(database)
    assert (mail.status, mail.attempts) == ("failed", 1)
    assert "never recorded" in (mail.last_error or "")
    assert len(resend_api.requests) == 1


async def test_the_loop_keeps_going_after_a_round_fails(
    tmp_path: Path,
    clock: ManualClock,
    sender: ResendSender,
    resend_api: FakeResend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'late.db'}")  # no tables yet
    delivery = MailDelivery(database, clock, sender, SCHEDULE, poll_seconds=0.05)
    try:
        with caplog.at_level(logging.ERROR, logger="vocalis.mail"):
            delivery.start()
            await eventually(lambda: _logged(caplog, "mail delivery failed"))
        await migrations.upgrade(database.engine)
        await queue(database, clock)
        await eventually(lambda: _sent(database))
    finally:
        await delivery.stop()
        await database.dispose()

    assert len(resend_api.delivered) == 1


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)
