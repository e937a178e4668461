"""Queueing mail: a row in the caller's transaction, rendered once, and written once per
dedupe key however many transactions race to write it."""

from __future__ import annotations

import asyncio

import pytest

from tests.mail.conftest import BASE_URL, VERIFY_LINK, outbox, queue, the_mail
from tests.mail.fake_resend import FakeResend
from vocalis.kit.clock import ManualClock
from vocalis.kit.db import Database
from vocalis.mail.delivery import MailDelivery
from vocalis.mail.outbox import enqueue


async def test_a_queued_mail_is_rendered_and_due_at_once(
    database: Database, clock: ManualClock
) -> None:
    assert await queue(database, clock, to="ada@example.com") is True

    mail = await the_mail(database)
    assert (mail.to_address, mail.template) == ("ada@example.com", "verify_email")
    assert mail.subject == "Confirm your email address"
    assert VERIFY_LINK in mail.text_body and VERIFY_LINK in mail.html_body
    assert (mail.status, mail.attempts) == ("pending", 0)
    assert mail.created_at == mail.next_attempt_at == clock.now()


async def test_queueing_flushes_into_the_callers_transaction_without_committing(
    database: Database, clock: ManualClock
) -> None:
    async with database.session(write=True) as session:
        await enqueue(
            session,
            to="ada@example.com",
            template="password_changed",
            context={},
            base_url=BASE_URL,
            now=clock.now(),
        )
        assert await outbox(database) == []  # not visible to anyone else yet
    assert len(await outbox(database)) == 1


async def test_a_bad_template_raises_and_queues_nothing(
    database: Database, clock: ManualClock
) -> None:
    with pytest.raises(ValueError, match="needs link"):
        await queue(database, clock, context={})

    assert await outbox(database) == []


async def test_a_dedupe_key_writes_one_mail_however_often_it_is_queued(
    database: Database, clock: ManualClock, delivery: MailDelivery, resend_api: FakeResend
) -> None:
    alert = {
        "percent": "80",
        "allowance": "characters",
        "used": "8,000",
        "limit": "10,000",
        "resets_at": "1 December 2026",
    }
    key = "quota_alert:acct_1:2026-11:chars:80"

    first = await queue(database, clock, template="quota_alert", context=alert, dedupe_key=key)
    again = await queue(database, clock, template="quota_alert", context=alert, dedupe_key=key)
    await delivery.run_once()
    later = await queue(database, clock, template="quota_alert", context=alert, dedupe_key=key)
    await delivery.run_once()

    assert (first, again, later) == (True, False, False)
    assert len(await outbox(database)) == 1
    assert [sent.body["subject"] for sent in resend_api.delivered] == [
        "You have used 80% of your characters"
    ]


async def test_a_dedupe_key_holds_within_one_transaction(
    database: Database, clock: ManualClock
) -> None:
    async with database.session(write=True) as session:
        written = [
            await enqueue(
                session,
                to="ada@example.com",
                template="password_changed",
                context={},
                base_url=BASE_URL,
                now=clock.now(),
                dedupe_key="once",
            )
            for _ in range(2)
        ]

    assert written == [True, False]
    assert len(await outbox(database)) == 1


async def test_racing_transactions_with_one_dedupe_key_write_one_mail(
    database: Database, clock: ManualClock
) -> None:
    """The second transaction waits for the first (PostgreSQL: on the unique key; SQLite: for
    the write lock) and then writes nothing, rather than a duplicate or an error."""
    first_queued, release = asyncio.Event(), asyncio.Event()

    async def transaction(hold: bool) -> bool:
        async with database.session(write=True) as session:
            written = await enqueue(
                session,
                to="ada@example.com",
                template="password_changed",
                context={},
                base_url=BASE_URL,
                now=clock.now(),
                dedupe_key="race",
            )
            if hold:
                first_queued.set()
                await release.wait()
        return written

    first = asyncio.create_task(transaction(hold=True))
    await first_queued.wait()
    second = asyncio.create_task(transaction(hold=False))
    await asyncio.sleep(0.2)
    assert not second.done()  # waiting for the first to finish
    release.set()

    assert await asyncio.gather(first, second) == [True, False]
    assert len(await outbox(database)) == 1
