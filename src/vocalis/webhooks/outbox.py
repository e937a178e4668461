"""Raising an event: a delivery row written in the caller's own transaction (an outbox).

The event is queued if and only if the change it announces commits, and the dispatcher sends
it later, retrying until delivered. Every event has the Standard Webhooks envelope: `type`,
`timestamp` and the domain's `data`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.webhooks.models import WebhookDelivery


async def enqueue_event(
    session: AsyncSession,
    *,
    account_id: str,
    job_id: str,
    url: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
) -> WebhookDelivery:
    """Queue `event_type` with `data` for `url`, due at once; flushed, not committed.

    `job_id` is the job the event is about: the column is required for now.
    """
    delivery = WebhookDelivery(
        account_id=account_id,
        job_id=job_id,
        event_type=event_type,
        url=url,
        payload={
            "type": event_type,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    await session.flush()
    return delivery
