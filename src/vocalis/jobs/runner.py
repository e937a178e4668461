"""Everything that works beside the API: the job worker, webhook deliveries and retention.

`vocalis worker` runs one of these; with VOCALIS_WORKER=inline the API process runs it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta

from vocalis.accounts.websessions import purge_expired_logins
from vocalis.audio.marking import Marker
from vocalis.config import Settings
from vocalis.engine import SpeechEngine
from vocalis.jobs import retention
from vocalis.jobs.queue import JobPolicy
from vocalis.jobs.worker import JobWorker
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.storage.files import AudioStore
from vocalis.storage.retention import sweep
from vocalis.usage.meter import Meter
from vocalis.webhooks.dispatcher import WebhookDispatcher
from vocalis.webhooks.urls import Resolver

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        engine: SpeechEngine,
        store: AudioStore,
        clock: Clock,
        resolver: Resolver,
        marker: Marker,
        meter: Meter,
        concurrency: int | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._store = store
        self._clock = clock
        self.dispatcher = WebhookDispatcher(
            database,
            clock,
            resolver,
            schedule=settings.webhook_retry_schedule,
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
            poll_seconds=settings.worker_poll_seconds,
        )
        self.worker = JobWorker(
            database=database,
            engine=engine,
            store=store,
            clock=clock,
            policy=JobPolicy.from_settings(settings, meter),
            marker=marker,
            concurrency=concurrency or settings.worker_concurrency,
            poll_seconds=settings.worker_poll_seconds,
            on_finished=self.dispatcher.wake,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._guard("worker", self.worker.run)),
            asyncio.create_task(self._guard("webhooks", self.dispatcher.run)),
            asyncio.create_task(self._guard("retention", self._retention)),
        ]

    def job_submitted(self) -> None:
        self.worker.wake()

    def job_canceled(self, job_id: str) -> None:
        self.worker.forget(job_id)
        self.dispatcher.wake()

    async def stop(self) -> None:
        await self.worker.stop(self._settings.worker_shutdown_grace_seconds)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self.dispatcher.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        """For `vocalis worker`: run until `stop` is set, then shut down gracefully."""
        self.start()
        await stop.wait()
        await self.stop()

    async def _retention(self) -> None:
        purgers = [
            retention.purger(timedelta(hours=self._settings.job_retention_hours)),
            purge_expired_logins,
        ]
        while True:
            await sweep(self._database, self._store, now=self._clock.now(), purgers=purgers)
            await asyncio.sleep(self._settings.cleanup_interval_seconds)

    async def _guard(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keep a background loop alive: log a crash and start it again after a pause."""
        while True:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop crashed; restarting in 5 s", name)
                await asyncio.sleep(5)
