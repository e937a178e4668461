"""A job's webhook events: what a finished job announces, queued with the job's last change.

The webhooks package delivers events for any domain; this is the jobs' side of it, building the
event from a Job row (the same body as GET /v1/tts/jobs/{id}).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.jobs.models import Job
from vocalis.jobs.schemas import JobOut
from vocalis.webhooks.outbox import enqueue_event

EVENT_FOR_STATUS = {
    "succeeded": "job.succeeded",
    "failed": "job.failed",
    "canceled": "job.canceled",
}


async def enqueue_job_event(
    session: AsyncSession, job: Job, *, now: datetime, base_url: str, retention_hours: float
) -> None:
    """Queue the webhook announcing `job`'s final status, if the job asked for one."""
    if not job.webhook_url:
        return
    event_type = EVENT_FOR_STATUS[job.status]
    data = JobOut.from_job(job, base_url=base_url, retention_hours=retention_hours)
    await enqueue_event(
        session,
        account_id=job.account_id,
        job_id=job.id,
        url=job.webhook_url,
        event_type=event_type,
        data=data.model_dump(mode="json"),
        now=now,
    )
