"""Mail tests: a real database of each kind, a clock that moves only when told, and a fake
Resend on loopback that the real SDK talks to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.mail.fake_resend import API_KEY, FakeResend
from tests.servers import LiveServer
from vocalis.kit.clock import ManualClock
from vocalis.kit.db import Database
from vocalis.mail.delivery import MailDelivery
from vocalis.mail.models import OutboundMail
from vocalis.mail.outbox import enqueue
from vocalis.mail.sender import ResendSender

MAIL_FROM = "Vocalis <no-reply@vocalis.test>"
BASE_URL = "https://tts.example.com"
VERIFY_LINK = f"{BASE_URL}/verify?token=vt_4f1c9a7e2b8d"
SCHEDULE = [0, 10, 60]  # seconds before attempts 1, 2 and 3
SEND_TIMEOUT = 0.5  # the fake answers in milliseconds; a hang costs this long


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def resend_api() -> AsyncIterator[FakeResend]:
    fake = FakeResend()
    async with LiveServer(fake) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def sender(resend_api: FakeResend) -> ResendSender:
    return ResendSender(API_KEY, resend_api.url, MAIL_FROM, timeout=SEND_TIMEOUT)


@pytest.fixture
def delivery(database: Database, clock: ManualClock, sender: ResendSender) -> MailDelivery:
    return MailDelivery(database, clock, sender, SCHEDULE)


async def queue(
    database: Database,
    clock: ManualClock,
    *,
    to: str = "ada@example.com",
    template: str = "verify_email",
    context: dict[str, str] | None = None,
    dedupe_key: str | None = None,
) -> bool:
    """Queue one mail in a transaction of its own, committed."""
    async with database.session(write=True) as session:
        return await enqueue(
            session,
            to=to,
            template=template,
            context={"link": VERIFY_LINK} if context is None else context,
            base_url=BASE_URL,
            now=clock.now(),
            dedupe_key=dedupe_key,
        )


async def outbox(database: Database) -> list[OutboundMail]:
    async with database.session() as session:
        return list(await session.scalars(select(OutboundMail).order_by(OutboundMail.created_at)))


async def the_mail(database: Database) -> OutboundMail:
    mails = await outbox(database)
    assert len(mails) == 1
    return mails[0]


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5) -> Any:
    """The first truthy result of `check`, polled until `timeout`."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.02)
    return result
