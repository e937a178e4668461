"""Taking jobs in and calling them off: the jobs routes' one entry.

A submission runs idempotency first (a replay answers with the job it made, whatever the quota
is now), then admission, the webhook URL check, and quota + job in one transaction; only after
the commit is the worker woken. A request refused on the way frees its idempotency key for a
corrected retry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from vocalis.accounts.service import Principal
from vocalis.config import Settings
from vocalis.engine import SpeechEngine
from vocalis.jobs import erasure, idempotency, queue, service
from vocalis.jobs.models import Job
from vocalis.jobs.runner import JobRunner
from vocalis.jobs.schemas import BatchRequest, JobRequest
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.storage.files import AudioStore
from vocalis.synthesis.service import TextLimits
from vocalis.usage.meter import Meter
from vocalis.webhooks.urls import Resolver, check_webhook_url


@dataclass(frozen=True)
class Submitted:
    job: Job
    replayed: bool
    admission: service.Admission | None = None  # None for a replay: nothing was admitted


def job_limits(settings: Settings) -> service.Limits:
    return service.Limits(
        text=TextLimits(settings.max_job_text_chars, settings.max_job_spoken_chars),
        max_batch_items=settings.max_batch_items,
        max_queued_jobs=settings.max_queued_jobs,
        max_jobs_per_key=settings.max_jobs_per_key,
        max_attempts=settings.job_max_attempts,
        pepper=settings.key_pepper.get_secret_value(),
    )


class JobIntake:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        clock: Clock,
        engine: SpeechEngine,
        resolver: Resolver,
        meter: Meter,
        runner: JobRunner | None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._clock = clock
        self._engine = engine
        self._resolver = resolver
        self._meter = meter
        self._runner = runner  # the in-process worker to wake, if there is one
        self._limits = job_limits(settings)

    async def submit(
        self,
        principal: Principal,
        body: JobRequest | BatchRequest,
        *,
        endpoint: str,
        idempotency_key: str | None,
    ) -> Submitted:
        key = idempotency.validate_key(idempotency_key) if idempotency_key is not None else None
        if key is not None:
            fingerprint = idempotency.request_fingerprint(endpoint, body.model_dump(mode="json"))
            ttl = timedelta(hours=self._settings.idempotency_ttl_hours)
            existing = await idempotency.begin(
                self._database,
                principal.account_id,
                key,
                fingerprint,
                now=self._clock.now(),
                ttl=ttl,
            )
            if existing is not None:
                async with self._database.session() as session:
                    job = await service.get_job(session, existing, principal.account_id)
                return Submitted(job, replayed=True)
        try:
            admission = await self._admit(principal, body)
            if admission.webhook_url:
                await check_webhook_url(
                    admission.webhook_url,
                    self._resolver,
                    allow_private=self._settings.webhook_allow_private,
                )
            async with self._database.session(write=True) as session:
                job = await service.enqueue(
                    session,
                    principal,
                    admission,
                    now=self._clock.now(),
                    limits=self._limits,
                    meter=self._meter,
                )
                if key is not None:
                    await idempotency.finish(session, principal.account_id, key, job.id)
        except BaseException:
            if key is not None:
                await asyncio.shield(idempotency.abandon(self._database, principal.account_id, key))
            raise
        if self._runner is not None:
            self._runner.job_submitted()  # only now: the job is committed and visible
        return Submitted(job, replayed=False, admission=admission)

    async def _admit(
        self, principal: Principal, body: JobRequest | BatchRequest
    ) -> service.Admission:
        meter = self._meter
        if isinstance(body, BatchRequest):
            return await service.admit_batch(self._engine, principal, body, self._limits, meter)
        return await service.admit_speech(self._engine, principal, body, self._limits, meter)

    async def delete_account(self, account_id: str, store: AudioStore) -> None:
        """Erase an account (see `jobs.erasure`); its audio files go once that is committed."""
        async with self._database.session(write=True) as session:
            erased = await erasure.erase_account(
                session,
                account_id,
                now=self._clock.now(),
                policy=queue.JobPolicy.from_settings(self._settings, self._meter),
                base_url=self._settings.base_url,
            )
        if self._runner is not None:
            for job_id in erased.canceled_jobs:
                self._runner.job_canceled(job_id)
        for path in erased.audio_paths:
            await store.delete(path)

    async def cancel(self, principal: Principal, job_id: str) -> Job:
        async with self._database.session(write=True) as session:
            job = await queue.cancel(
                session,
                job_id,
                account_id=principal.account_id,
                now=self._clock.now(),
                policy=queue.JobPolicy.from_settings(self._settings, self._meter),
            )
        if self._runner is not None:  # only now: the cancel is committed, as for submissions
            self._runner.job_canceled(job.id)
        return job
