"""A worker told to stop while it is claiming a job: that job is its own, and gets the grace
period like any other running job (it must not sit leased to a process that is gone)."""

import asyncio
from typing import Any

from sqlalchemy import Select

from tests.conftest import client_for, running_app
from tests.helpers import wait_for_job
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.jobs.queue import JobPolicy
from vocalis.jobs.worker import JobWorker
from vocalis.kit.db import Database


class SlowToAnswer(Database):
    """A database whose "is anything due?" answers only when the test lets it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def has_rows(self, statement: Select[Any]) -> bool:
        self.asked.set()
        await self.answer.wait()
        return await super().has_rows(statement)


async def test_a_job_claimed_as_the_worker_is_told_to_stop_is_finished_in_the_grace_period(
    make_settings: Any, database_url: str, voices: VoiceRegistry, make_key_for: Any
) -> None:
    settings: Settings = make_settings(database_url=database_url, worker="external")
    async with running_app(settings, voices) as app, client_for(app) as client:
        runtime = app.state.runtime
        headers = {"X-API-Key": await make_key_for(app)}
        submitted = await client.post(
            "/v1/tts/jobs", json={"text": "Claimed just in time."}, headers=headers
        )
        assert submitted.status_code == 202
        database = SlowToAnswer(settings.database_url)
        worker = JobWorker(
            database=database,
            engine=runtime.engine,
            store=runtime.store,
            clock=runtime.clock,
            policy=JobPolicy.from_settings(settings, runtime.meter),
            marker=runtime.marker,
        )
        running = asyncio.create_task(worker.run())
        try:
            await asyncio.wait_for(database.asked.wait(), 30)
            stopping = asyncio.create_task(worker.stop(grace=60))
            await asyncio.sleep(0.1)  # the signal is in before the claim lands
            database.answer.set()
            await asyncio.wait_for(stopping, 60)
        finally:
            running.cancel()  # what the process does once the worker has stopped
            await asyncio.gather(running, return_exceptions=True)
            await database.dispose()
        job = await wait_for_job(
            client, submitted.json()["job_id"], headers, {"succeeded", "failed"}, timeout=5
        )
        assert (job["status"], job["attempts"]) == ("succeeded", 1)
