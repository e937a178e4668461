"""The job table as a queue: claiming with leases, heartbeats, and the ways a job ends.

Every transition is one short transaction that also settles or refunds the quota, writes the
usage event and queues the webhook, so a job can never end without its accounting and its
announcement — nor get them twice. On PostgreSQL rows are claimed with
`FOR UPDATE SKIP LOCKED`, so workers on many machines never take the same job; on SQLite the
write lock taken at BEGIN serializes claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.config import Settings
from vocalis.jobs.events import enqueue_job_event
from vocalis.jobs.models import Job
from vocalis.kit.errors import Conflict, NotFound
from vocalis.usage.meter import Meter, Reservation
from vocalis.usage.recorder import UsageRecord, store_usage

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "canceled")
ENDPOINT_FOR_KIND = {"speech": "/v1/tts/jobs", "batch": "/v1/tts/batch"}
STATUS_CODE_FOR = {"succeeded": 200, "failed": 500, "canceled": 499}


class JobNotFound(NotFound):
    code = "job_not_found"


class JobFinished(Conflict):
    code = "job_finished"


@dataclass(frozen=True)
class JobPolicy:
    """The queue's rules, from settings, and the meter that settles what jobs reserved."""

    lease: timedelta
    max_attempts: int
    retry_delay: timedelta
    base_url: str
    retention_hours: float
    meter: Meter

    @classmethod
    def from_settings(cls, settings: Settings, meter: Meter) -> JobPolicy:
        return cls(
            meter=meter,
            lease=timedelta(seconds=settings.job_lease_seconds),
            max_attempts=settings.job_max_attempts,
            retry_delay=timedelta(seconds=settings.job_retry_delay_seconds),
            base_url=settings.public_url or f"http://{settings.host}:{settings.port}",
            retention_hours=settings.job_retention_hours,
        )


def due_jobs(now: datetime) -> Select[tuple[str]]:
    """The ids of the jobs `claim_next` would take: what a poller asks before claiming."""
    return select(Job.id).where(_due(now))


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Job.status == "queued", Job.run_after <= now),
        and_(Job.status == "running", Job.lease_expires_at < now),  # its worker went silent
    )


async def claim_next(
    session: AsyncSession, *, worker_id: str, now: datetime, policy: JobPolicy
) -> Job | None:
    """Take the next due job (or one whose worker went silent) and lease it to `worker_id`."""
    candidates = await session.scalars(
        select(Job)
        .where(_due(now))
        .order_by(Job.run_after, Job.created_at)
        .limit(5)
        .with_for_update(skip_locked=True)
    )
    for job in candidates:
        if job.status == "running" and job.attempts >= job.max_attempts:
            await _end(
                session, job, "failed", now, policy,
                code="worker_lost",
                detail=f"the worker running this job stopped answering {job.attempts} times",
            )  # fmt: skip
            continue
        job.status = "running"
        job.lease_owner = worker_id
        job.lease_expires_at = now + policy.lease
        job.attempts += 1
        job.started_at = job.started_at or now
        job.updated_at = now
        await session.flush()
        return job
    return None


async def heartbeat(
    session: AsyncSession, job_id: str, *, worker_id: str, now: datetime, policy: JobPolicy
) -> bool:
    """Extend the lease; False means the job is no longer ours (canceled, or taken over)."""
    job = await _mine(session, job_id, worker_id)
    if job is None:
        return False
    job.lease_expires_at = now + policy.lease
    job.updated_at = now
    return True


async def complete(
    session: AsyncSession,
    job_id: str,
    *,
    worker_id: str,
    now: datetime,
    policy: JobPolicy,
    audio_ms: int,
    audio_bytes: int,
    result_path: str,
) -> bool:
    """Mark the job succeeded and charge its real duration; False if it is no longer ours."""
    job = await _mine(session, job_id, worker_id)
    if job is None:
        return False
    job.audio_ms = audio_ms
    job.audio_bytes = audio_bytes
    job.result_path = result_path
    await policy.meter.settle_in(session, _reservation(job), audio_ms)
    await _end(session, job, "succeeded", now, policy)
    return True


async def fail(
    session: AsyncSession,
    job_id: str,
    *,
    worker_id: str,
    now: datetime,
    policy: JobPolicy,
    code: str,
    detail: str,
    retryable: bool,
) -> str | None:
    """An attempt failed: queue it again (later) or end the job; returns the new status."""
    job = await _mine(session, job_id, worker_id)
    if job is None:
        return None
    if retryable and job.attempts < job.max_attempts:
        job.status = "queued"
        job.lease_owner = None
        job.lease_expires_at = None
        job.run_after = now + policy.retry_delay * job.attempts
        job.error_code, job.error = code, detail[:1000]
        job.updated_at = now
        return "queued"
    await _end(session, job, "failed", now, policy, code=code, detail=detail)
    return "failed"


async def release(session: AsyncSession, job_id: str, *, worker_id: str, now: datetime) -> None:
    """Give a job back untouched (a worker shutting down); the attempt does not count."""
    job = await _mine(session, job_id, worker_id)
    if job is not None:
        job.status = "queued"
        job.lease_owner = None
        job.lease_expires_at = None
        job.attempts = max(0, job.attempts - 1)
        job.updated_at = now


async def cancel(
    session: AsyncSession, job_id: str, *, account_id: str, now: datetime, policy: JobPolicy
) -> Job:
    """Stop a queued or running job at once and refund it; a running worker notices and stops."""
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.account_id != account_id:
        raise JobNotFound(f"no job with id {job_id}")
    if job.status not in ACTIVE:
        raise JobFinished(f"job {job_id} has already {job.status}", extra={"status": job.status})
    await _end(session, job, "canceled", now, policy, code="canceled", detail="canceled on request")
    return job


async def _mine(session: AsyncSession, job_id: str, worker_id: str) -> Job | None:
    job = await session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != "running" or job.lease_owner != worker_id:
        return None
    return job


async def _end(
    session: AsyncSession,
    job: Job,
    status: str,
    now: datetime,
    policy: JobPolicy,
    *,
    code: str | None = None,
    detail: str | None = None,
) -> None:
    """Final transition with everything that must happen with it, in the same transaction."""
    if status != "succeeded":
        await policy.meter.refund_in(session, _reservation(job))
        job.error_code, job.error = code, (detail or "")[:1000]
    else:
        job.error_code, job.error = None, None
    job.status = status
    job.lease_owner = None
    job.lease_expires_at = None
    job.finished_at = now
    job.updated_at = now
    await session.flush()
    await store_usage(session, [_usage(job, now)])
    await enqueue_job_event(
        session, job, now=now, base_url=policy.base_url, retention_hours=policy.retention_hours
    )


def _reservation(job: Job) -> Reservation:
    return Reservation(
        job.account_id, job.key_id, job.characters, job.estimated_audio_ms, job.quota_period_start
    )


def _usage(job: Job, now: datetime) -> UsageRecord:
    succeeded = job.status == "succeeded"
    ran_ms = (now - job.started_at).total_seconds() * 1000 if job.started_at else 0
    return UsageRecord(
        created_at=now,
        request_id=job.id,
        account_id=job.account_id,
        key_id=job.key_id,
        method="JOB",
        endpoint=ENDPOINT_FOR_KIND[job.kind],
        status_code=STATUS_CODE_FOR[job.status],
        latency_ms=round(ran_ms),
        voice=job.voice,
        language=job.language,
        characters=job.characters if succeeded else 0,
        audio_ms=(job.audio_ms or 0) if succeeded else 0,
        audio_bytes=(job.audio_bytes or 0) if succeeded else 0,
        text_hash=job.text_hash,
        outcome={"succeeded": "completed"}.get(job.status, job.status),
    )
