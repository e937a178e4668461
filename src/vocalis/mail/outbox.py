"""Queueing a mail: a row written in the caller's transaction, so a mail goes out exactly when
the change that caused it is committed, and never for a change that was rolled back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.kit.db import inserting_missing
from vocalis.kit.ids import new_id
from vocalis.mail.models import OutboundMail
from vocalis.mail.templates import render


async def enqueue(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, str],
    base_url: str,
    now: datetime,
    dedupe_key: str | None = None,
) -> bool:
    """Render `template` and queue it for `to`, due at once; flushes, never commits.

    With a `dedupe_key` already queued (or sent) nothing is written and False comes back. The
    insert is one `INSERT … ON CONFLICT DO NOTHING`, so of two transactions queueing the same
    key at once, one writes and the other waits for it and writes nothing. Raises ValueError
    for an unknown template or a missing context value."""
    rendered = render(template, context, base_url=base_url)
    table = OutboundMail.__table__
    values = {
        "id": new_id("mail"),
        "to_address": to,
        "template": template,
        "subject": rendered.subject,
        "text_body": rendered.text,
        "html_body": rendered.html,
        "dedupe_key": dedupe_key,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
    dialect = session.get_bind().dialect.name
    statement = inserting_missing(dialect, table, values, keys=["dedupe_key"])
    written = await session.scalar(statement.returning(table.c.id))
    return written is not None
