"""Without a Resend key, mail goes to the log and to a file, links in full, so that a local run
can sign up, verify and reset passwords with nothing set up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mail.conftest import SCHEDULE, VERIFY_LINK, queue, the_mail
from vocalis.config import Settings
from vocalis.kit.clock import ManualClock
from vocalis.kit.db import Database
from vocalis.mail.delivery import MailDelivery
from vocalis.mail.sender import LogSender, ResendSender, sender_for


async def test_without_a_resend_key_mail_is_logged_and_written_to_a_file_in_full(
    database: Database,
    clock: ManualClock,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    delivery = MailDelivery(database, clock, sender_for(settings), SCHEDULE)
    await queue(database, clock, to="ada@example.com")

    with caplog.at_level(logging.INFO, logger="vocalis.mail"):
        assert await delivery.run_once() == 1

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ada@example.com" in logged and "Confirm your email address" in logged
    assert VERIFY_LINK in logged.splitlines()
    written = (settings.storage_path / "mail" / "outbox.log").read_text()
    assert "To: ada@example.com" in written
    assert VERIFY_LINK in written.splitlines()
    mail = await the_mail(database)
    assert (mail.status, mail.provider_id) == ("sent", None)


async def test_the_log_file_keeps_every_mail(
    database: Database, clock: ManualClock, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    delivery = MailDelivery(database, clock, sender_for(settings), SCHEDULE)
    first, second = (f"https://tts.example.com/verify?token=t{n}" for n in (1, 2))
    await queue(database, clock, to="ada@example.com", context={"link": first})
    await delivery.run_once()
    await queue(database, clock, to="bob@example.com", context={"link": second})
    await delivery.run_once()

    lines = (settings.storage_path / "mail" / "outbox.log").read_text().splitlines()
    assert "To: ada@example.com" in lines and "To: bob@example.com" in lines
    assert first in lines and second in lines


def test_a_resend_key_sends_through_resend(make_settings: Callable[..., Settings]) -> None:
    assert isinstance(sender_for(make_settings()), LogSender)
    assert isinstance(sender_for(make_settings(resend_api_key="re_x" * 8)), ResendSender)


@pytest.mark.parametrize("full_links", [True, False])
async def test_the_servers_log_masking_spares_development_mail_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, full_links: bool
) -> None:
    """`vocalis serve` masks every `token=` in its log; a development mail's links are there
    to be followed, so they stay whole — in production (no key, by mistake) they are masked."""
    from types import SimpleNamespace

    from vocalis.kit.redact import RedactingFilter

    link = "http://127.0.0.1:8000/verify?token=abcdefghijklmnopqrstuvwxyz123456"
    mail = SimpleNamespace(
        id="mail_1", to_address="ada@example.com", subject="Confirm", text_body=f"Open {link}"
    )
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="vocalis.mail"):
        await LogSender(tmp_path, full_links=full_links).send(mail)
    logged = caplog.text
    assert (link in logged) is full_links
    assert ("token=***" in logged) is not full_links
