"""Job rules on the API side: admission (text, voice, quota, capacity), lookups, downloads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.service import Principal
from vocalis.audio.formats import AudioFormat
from vocalis.engine import SpeechEngine
from vocalis.engine.text import character_count
from vocalis.jobs.models import Job
from vocalis.jobs.queue import ACTIVE, JobNotFound
from vocalis.jobs.schemas import BatchRequest, JobRequest
from vocalis.kit.db import hold_lock
from vocalis.kit.errors import Conflict, ServiceUnavailable, TooManyRequests, VocalisError
from vocalis.synthesis.service import (
    TextLimits,
    TextTooLong,
    admit_text,
    check_length,
    check_voice,
    rendition,
)
from vocalis.usage.meter import Meter
from vocalis.usage.recorder import text_fingerprint
from vocalis.webhooks.models import WebhookAttempt, WebhookDelivery

ZIP_MEDIA_TYPE = "application/zip"


class QueueFull(ServiceUnavailable):
    code = "queue_full"


class TooManyJobs(TooManyRequests):
    code = "too_many_jobs"


class JobNotReady(Conflict):
    code = "job_not_ready"


class TooManyItems(TextTooLong):
    code = "too_many_items"


class AudioExpired(VocalisError):
    status_code = 410
    code = "audio_expired"


@dataclass(frozen=True)
class Admission:
    """A checked job, ready to be queued: what to store and what to reserve."""

    kind: str
    request: dict[str, Any]
    voice: str | None
    language: str | None
    format: AudioFormat
    item_count: int
    characters: int
    estimated_audio_ms: int
    text_hash: str
    webhook_url: str | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class Limits:
    text: TextLimits
    max_batch_items: int
    max_queued_jobs: int
    max_jobs_per_key: int
    max_attempts: int
    pepper: str


async def admit_speech(
    engine: SpeechEngine,
    principal: Principal,
    body: JobRequest,
    limits: Limits,
    meter: Meter,
) -> Admission:
    prepared = await admit_text(
        engine, principal, body.text, body.voice, limits=limits.text, meter=meter
    )
    rendition(prepared, body.speed, body.format, body.sample_rate)  # refuse a bad rate now
    return Admission(
        kind="speech",
        request={
            "text": body.text,
            "voice": prepared.voice.id,
            "speed": body.speed,
            "sample_rate": body.sample_rate,
        },
        voice=prepared.voice.id,
        language=prepared.voice.language,
        format=body.format,
        item_count=1,
        characters=prepared.characters,
        estimated_audio_ms=engine.expected_duration_ms(
            prepared, body.speed, meter.chars_per_second
        ),
        text_hash=text_fingerprint(body.text, limits.pepper),
        webhook_url=body.webhook_url,
        metadata=body.metadata,
    )


async def admit_batch(
    engine: SpeechEngine,
    principal: Principal,
    body: BatchRequest,
    limits: Limits,
    meter: Meter,
) -> Admission:
    """Every item's length and voice, the whole batch's length and the quota are checked before
    any item is normalized; then the words read out are bounded, item by item and in total."""
    if len(body.items) > limits.max_batch_items:
        raise TooManyItems(
            f"a batch holds at most {limits.max_batch_items} items; this one has {len(body.items)}"
        )
    voice_ids = []
    for index, item in enumerate(body.items):
        with _naming_item(index):
            check_length(item.text, limits.text)
            voice_ids.append(check_voice(engine, principal, item.voice))
    characters = sum(character_count(item.text) for item in body.items)
    if characters > limits.text.max_chars:
        raise TextTooLong(
            f"the batch has {characters} characters altogether; "
            f"the limit is {limits.text.max_chars}",
            extra={"max_characters": limits.text.max_chars},
        )
    await meter.precheck(principal, characters)
    prepared_items = []
    for index, (item, voice_id) in enumerate(zip(body.items, voice_ids, strict=True)):
        with _naming_item(index):
            prepared = await asyncio.to_thread(engine.prepare, item.text, voice_id)
            rendition(prepared, body.speed, body.format, body.sample_rate)
        prepared_items.append(prepared)
    spoken = sum(prepared.spoken_characters for prepared in prepared_items)
    if spoken > limits.text.max_spoken_chars:
        raise TextTooLong(
            f"the batch has {characters} characters altogether, which read out in words come "
            f"to {spoken} (the limit is {limits.text.max_spoken_chars})",
            extra={
                "max_characters": limits.text.max_chars,
                "spoken_characters": spoken,
                "max_spoken_characters": limits.text.max_spoken_chars,
            },
        )
    items = [
        {"id": item.id, "text": item.text, "voice": voice_id}
        for item, voice_id in zip(body.items, voice_ids, strict=True)
    ]
    voices = set(voice_ids)
    only_voice = next(iter(voices)) if len(voices) == 1 else None
    return Admission(
        kind="batch",
        request={"items": items, "speed": body.speed, "sample_rate": body.sample_rate},
        voice=only_voice,
        language=engine.registry.get(only_voice).language if only_voice else None,
        format=body.format,
        item_count=len(items),
        characters=characters,
        estimated_audio_ms=sum(
            engine.expected_duration_ms(prepared, body.speed, meter.chars_per_second)
            for prepared in prepared_items
        ),
        text_hash=text_fingerprint("\0".join(item["text"] for item in items), limits.pepper),
        webhook_url=body.webhook_url,
        metadata=body.metadata,
    )


@contextmanager
def _naming_item(index: int) -> Iterator[None]:
    """Say which item of a batch a refusal is about."""
    try:
        yield
    except VocalisError as exc:
        exc.detail = f"items[{index}]: {exc.detail}"
        raise


JOB_ADMISSION_LOCK = "vocalis.job-admission"


async def enqueue(
    session: AsyncSession,
    principal: Principal,
    admission: Admission,
    *,
    now: datetime,
    limits: Limits,
    meter: Meter,
) -> Job:
    """Check capacity, reserve the quota and queue the job — all in the caller's transaction.

    Admissions run one at a time (a lock held to the end of the transaction), so the counts
    they check cannot change under them: exactly the cap is accepted, however many arrive."""
    await hold_lock(session, JOB_ADMISSION_LOCK)
    queued = await session.scalar(
        select(func.count()).select_from(Job).where(Job.status == "queued")
    )
    if (queued or 0) >= limits.max_queued_jobs:
        raise QueueFull("the job queue is full; retry later", headers={"Retry-After": "30"})
    active = await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.key_id == principal.key_id, Job.status.in_(ACTIVE))
    )
    if (active or 0) >= limits.max_jobs_per_key:
        raise TooManyJobs(
            f"this key already has {active} unfinished jobs (at most {limits.max_jobs_per_key})",
            headers={"Retry-After": "5"},
        )
    reservation = await meter.reserve_in(
        session, principal, admission.characters, admission.estimated_audio_ms
    )
    job = Job(
        account_id=principal.account_id,
        key_id=principal.key_id,
        kind=admission.kind,
        status="queued",
        request=admission.request,
        voice=admission.voice,
        language=admission.language,
        format=admission.format.value,
        item_count=admission.item_count,
        webhook_url=admission.webhook_url,
        client_metadata=admission.metadata,
        text_hash=admission.text_hash,
        characters=admission.characters,
        estimated_audio_ms=admission.estimated_audio_ms,
        quota_period_start=reservation.period_start,
        attempts=0,
        max_attempts=limits.max_attempts,
        run_after=now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, job_id: str, account_id: str) -> Job:
    """A job of this account; another account's job is indistinguishable from none."""
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or job.account_id != account_id:
        raise JobNotFound(f"no job with id {job_id}")
    return job


async def list_jobs(
    session: AsyncSession, account_id: str, *, status: str | None, limit: int, offset: int
) -> tuple[list[Job], int]:
    query = select(Job).where(Job.account_id == account_id)
    if status is not None:
        query = query.where(Job.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


@dataclass(frozen=True)
class Download:
    relative_path: str
    media_type: str
    filename: str


def download_of(job: Job) -> Download:
    """What to send for a job's audio, or why there is nothing to send."""
    if job.purged_at is not None:
        raise AudioExpired(f"the audio of job {job.id} was deleted after the retention period")
    if job.status != "succeeded" or job.result_path is None:
        raise JobNotReady(f"job {job.id} is {job.status}; audio exists once it has succeeded")
    extension = PurePosixPath(job.result_path).suffix
    media_type = ZIP_MEDIA_TYPE if job.kind == "batch" else AudioFormat(job.format).media_type
    return Download(job.result_path, media_type, f"vocalis-{job.id}{extension}")


async def deliveries_of(
    session: AsyncSession, job_id: str
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    deliveries = list(
        await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.job_id == job_id)
            .order_by(WebhookDelivery.created_at)
        )
    )
    attempts = list(
        await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(WebhookAttempt.id)
        )
    )
    return [(d, [a for a in attempts if a.delivery_id == d.id]) for d in deliveries]


async def queue_stats(session: AsyncSession, now: datetime) -> dict[str, Any]:
    counts = dict(
        (await session.execute(select(Job.status, func.count()).group_by(Job.status))).all()
    )
    oldest = await session.scalar(select(func.min(Job.created_at)).where(Job.status == "queued"))
    running = (
        await session.execute(
            select(Job.lease_owner, func.count())
            .where(Job.status == "running")
            .group_by(Job.lease_owner)
        )
    ).all()
    webhooks = (
        await session.execute(
            select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
        )
    ).all()
    return {
        "counts": {
            status: counts.get(status, 0)
            for status in ("queued", "running", "succeeded", "failed", "canceled")
        },
        "oldest_queued_age_seconds": (
            round((now - oldest).total_seconds(), 3) if oldest is not None else None
        ),
        "running_by_worker": {owner or "unknown": count for owner, count in running},
        "webhooks": dict(webhooks),
    }
