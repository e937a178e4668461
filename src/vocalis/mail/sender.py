"""Handing one mail to whoever carries it: Resend, or — with no Resend key — the log and a file,
so a local run shows its mail (and the links in it) without any account anywhere."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

import resend
from resend.exceptions import ResendError
from resend.http_client_httpx import HTTPXClient

from vocalis.config import Settings
from vocalis.kit.redact import UNREDACTED, redact

log = logging.getLogger("vocalis.mail")

SEND_TIMEOUT_SECONDS = 15.0
MAX_ERROR_CHARS = 300


class MailMessage(Protocol):
    """What a sender reads of a mail (an `OutboundMail` row has it all)."""

    @property
    def id(self) -> str: ...
    @property
    def to_address(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text_body(self) -> str: ...
    @property
    def html_body(self) -> str: ...


class MailSender(Protocol):
    async def send(self, mail: MailMessage) -> str | None:
        """Deliver `mail`; the provider's id for it, if it gives one. Raises `MailNotSent`."""
        ...


class MailNotSent(Exception):
    """The carrier did not take the mail; the message says why, briefly and without secrets."""


class ResendSender:
    """Sends through Resend's API with the official SDK, keyed by the mail's id so that a retry
    after a lost answer does not deliver twice (Resend keeps idempotency keys for 24 hours).

    The SDK is configured globally per process (`resend.api_key`, `resend.api_url` and its
    async HTTP client are module attributes): this constructor sets them, so a process has one
    Resend account and endpoint, whichever sender was made last."""

    def __init__(
        self,
        api_key: str,
        api_base: str,
        mail_from: str,
        *,
        timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        if not api_key:
            raise ValueError("a Resend API key is needed")
        self._api_key = api_key
        self._mail_from = mail_from
        self._timeout = timeout
        resend.api_key = api_key
        resend.api_url = api_base.rstrip("/")
        # The SDK's own httpx client, with our deadline instead of its 30 s.
        resend.default_async_http_client = HTTPXClient(timeout=timeout)  # type: ignore[arg-type]

    async def send(self, mail: MailMessage) -> str | None:
        params: resend.Emails.SendParams = {
            "from": self._mail_from,
            "to": [mail.to_address],
            "subject": mail.subject,
            "text": mail.text_body,
            "html": mail.html_body,
        }
        options: resend.Emails.SendOptions = {"idempotency_key": mail.id}
        try:
            # One deadline for the whole call: httpx's timeout is per read, not in total.
            async with asyncio.timeout(self._timeout):
                response = await resend.Emails.send_async(params, options=options)
        except TimeoutError:
            raise MailNotSent(f"Resend did not answer within {self._timeout:g} s") from None
        except ResendError as exc:
            raise MailNotSent(self._describe(exc)) from None
        provider_id = response.get("id")
        if not provider_id:
            raise MailNotSent("Resend answered without an id")
        return str(provider_id)

    def _describe(self, error: ResendError) -> str:
        message = f"Resend {error.code} {error.error_type}: {error.message}"
        return redact(message.replace(self._api_key, "***"))[:MAX_ERROR_CHARS]


class LogSender:
    """For running without a Resend key: each mail goes to the `vocalis.mail` log at INFO, with
    its whole text (so the links in it can be clicked in a terminal), and is appended to
    `<directory>/outbox.log`. Those links log in and reset passwords: this is for development,
    not for production, where the log masks them like any other token (`full_links=False`)."""

    def __init__(self, directory: Path, *, full_links: bool = True) -> None:
        self.directory = directory
        self.path = directory / "outbox.log"
        self.full_links = full_links

    async def send(self, mail: MailMessage) -> str | None:
        log.info(
            "mail %s (not sent: no Resend key)\nTo: %s\nSubject: %s\n\n%s",
            mail.id,
            mail.to_address,
            mail.subject,
            mail.text_body,
            extra={UNREDACTED: self.full_links},
        )
        entry = (
            f"=== {mail.id}\nTo: {mail.to_address}\nSubject: {mail.subject}\n\n"
            f"{mail.text_body.rstrip()}\n\n"
        )
        await asyncio.to_thread(self._append, entry)
        return None

    def _append(self, entry: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(entry)


def sender_for(settings: Settings) -> MailSender:
    """Resend when a key is configured, else the log."""
    if settings.resend_api_key is not None and settings.resend_api_key.get_secret_value():
        return ResendSender(
            settings.resend_api_key.get_secret_value(),
            settings.resend_api_base,
            settings.mail_from,
        )
    if settings.env == "production":
        log.warning("VOCALIS_RESEND_API_KEY is not set: mail is written to the log, not sent")
    return LogSender(settings.storage_path / "mail", full_links=settings.env != "production")
