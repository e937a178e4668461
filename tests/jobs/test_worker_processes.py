"""Real `vocalis worker` processes: one killed mid-job, several sharing one PostgreSQL queue."""

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PEPPER, client_for, running_app
from tests.helpers import quota_counters
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.jobs.models import Job

pytestmark = pytest.mark.slow  # real worker processes, killed and stopped

LONG_TEXT = "This is one of many sentences that keep the worker busy for a while. " * 30


class Workers:
    """Starts `vocalis worker` processes on the test's database and storage."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = {
            **os.environ,
            "VOCALIS_DATABASE_URL": settings.database_url,
            "VOCALIS_STORAGE_PATH": str(settings.storage_path),
            "VOCALIS_VOICES_DIR": str(settings.voices_dir),
            "VOCALIS_KEY_PEPPER": TEST_PEPPER,
            "VOCALIS_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
            "VOCALIS_WORKER_POLL_SECONDS": "0.1",
            "VOCALIS_DEVICE": "cpu",
            "VOCALIS_INFERENCE_CONCURRENCY": "1",
            "VOCALIS_INFERENCE_THREADS": "1",
        }
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        """One more worker; `env` adds settings (VOCALIS_… variables) for this one alone."""
        log = open(self.logs / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "vocalis", "worker"],
            env={**self.env, **env},
            stdout=log,
            stderr=log,
        )
        self.processes.append(process)
        return process

    def output(self, index: int) -> str:
        return (self.logs / f"worker-{index}.log").read_text()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[Settings], Workers]]:
    made: list[Workers] = []

    def make(settings: Settings) -> Workers:
        made.append(Workers(settings, tmp_path))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


async def _job(app: Any, job_id: str) -> Job:
    async with app.state.runtime.database.session() as session:
        job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


async def _until(predicate: Callable[[], Any], timeout: float) -> None:
    async def poll() -> None:
        while not await predicate():
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_a_killed_worker_s_job_is_finished_by_another_exactly_once(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    workers: Callable[[Settings], Workers],
) -> None:
    settings = make_settings(database_url=database_url, worker="external", job_lease_seconds=3)
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        job_id = (
            await client.post("/v1/tts/jobs", json={"text": LONG_TEXT}, headers=headers)
        ).json()["job_id"]
        group = workers(settings)

        doomed = group.start()
        await _until(lambda: _status_is(app, job_id, "running"), 90)
        first_owner = (await _job(app, job_id)).lease_owner
        doomed.send_signal(signal.SIGKILL)  # no goodbye, no release: only the lease can tell
        assert doomed.wait(10) == -signal.SIGKILL
        assert (await _job(app, job_id)).status == "running"

        group.start()
        await _until(lambda: _status_is(app, job_id, "succeeded"), 120)
        job = await _job(app, job_id)
        assert job.attempts == 2
        assert first_owner and first_owner in group.output(0)
        files = list((settings.storage_path / "audio").rglob(f"{job_id}*"))
        assert [f.name for f in files] == [f"{job_id}-2.wav"]  # the audio exists once
        assert await quota_counters(app) == (
            job.characters,
            job.audio_ms,
        )  # the quota is charged once
        download = await client.get(f"/v1/tts/jobs/{job_id}/audio", headers=headers)
        assert download.status_code == 200 and len(download.content) == job.audio_bytes


@dataclass
class StoppingWorker:
    """A long job running on a `vocalis worker` that is about to be told to stop."""

    settings: Settings
    app: Any
    client: Any
    headers: dict[str, str]
    job_id: str
    group: Workers
    worker: subprocess.Popen[bytes]


@pytest.fixture
async def stopping_worker(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    workers: Callable[[Settings], Workers],
) -> AsyncIterator[StoppingWorker]:
    """Parametrized with the worker's grace period, in seconds."""
    settings = make_settings(database_url=database_url, worker="external")
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        job_id = (
            await client.post("/v1/tts/jobs", json={"text": LONG_TEXT}, headers=headers)
        ).json()["job_id"]
        group = workers(settings)
        worker = group.start(VOCALIS_WORKER_SHUTDOWN_GRACE_SECONDS=request.param)
        await _until(lambda: _status_is(app, job_id, "running"), 90)
        yield StoppingWorker(settings, app, client, headers, job_id, group, worker)


@pytest.mark.parametrize("stopping_worker", ["600"], indirect=True)
async def test_a_stopped_worker_finishes_its_job_within_the_grace_period(
    stopping_worker: StoppingWorker,
) -> None:
    app, job_id = stopping_worker.app, stopping_worker.job_id
    told_to_stop = datetime.now(UTC)
    stopping_worker.worker.send_signal(signal.SIGTERM)
    assert await _exit_code(stopping_worker.worker, timeout=120) == 0
    job = await _job(app, job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)  # finished, not handed back
    assert job.finished_at is not None and job.finished_at > told_to_stop  # after the signal
    assert stopping_worker.group.output(0).count(f"job {job_id}: succeeded") == 1
    await _assert_stored_and_charged_once(stopping_worker, job)


@pytest.mark.parametrize("stopping_worker", ["0.5"], indirect=True)
async def test_a_stopped_worker_hands_its_job_back_when_the_grace_period_ends(
    stopping_worker: StoppingWorker,
) -> None:
    app, job_id, group = stopping_worker.app, stopping_worker.job_id, stopping_worker.group
    stopping_worker.worker.send_signal(signal.SIGTERM)  # far too little grace for 30 sentences
    assert await _exit_code(stopping_worker.worker, timeout=60) == 0
    handed_back = await _job(app, job_id)
    assert (handed_back.status, handed_back.attempts) == ("queued", 0)  # not counted
    assert handed_back.lease_owner is None
    assert not list((stopping_worker.settings.storage_path / "audio").rglob(f"{job_id}*"))
    assert f"job {job_id}: succeeded" not in group.output(0)

    group.start()
    await _until(lambda: _status_is(app, job_id, "succeeded"), 120)
    job = await _job(app, job_id)
    assert job.attempts == 1
    assert group.output(1).count(f"job {job_id}: succeeded") == 1
    await _assert_stored_and_charged_once(stopping_worker, job)


async def _exit_code(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for the process to end; raises (failing the test) if it is still running."""
    return await asyncio.to_thread(process.wait, timeout)


async def _assert_stored_and_charged_once(stopped: StoppingWorker, job: Job) -> None:
    files = list((stopped.settings.storage_path / "audio").rglob(f"{job.id}*"))
    assert [f.name for f in files] == [f"{job.id}-{job.attempts}.wav"]
    assert await quota_counters(stopped.app) == (job.characters, job.audio_ms)
    download = await stopped.client.get(f"/v1/tts/jobs/{job.id}/audio", headers=stopped.headers)
    assert download.status_code == 200 and len(download.content) == job.audio_bytes


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_several_workers_on_postgresql_run_every_job_exactly_once(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    workers: Callable[[Settings], Workers],
) -> None:
    settings = make_settings(
        database_url=database_url, worker="external", max_jobs_per_key=100, job_lease_seconds=30
    )
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        group = workers(settings)
        for _ in range(3):
            group.start()
        job_ids = []
        for index in range(30):
            response = await client.post(
                "/v1/tts/jobs", json={"text": f"Job number {index}."}, headers=headers
            )
            job_ids.append(response.json()["job_id"])

        async def all_done() -> bool:
            async with app.state.runtime.database.session() as session:
                statuses = list(await session.scalars(select(Job.status)))
            return statuses.count("succeeded") == 30

        await _until(all_done, 180)
        async with app.state.runtime.database.session() as session:
            jobs = list(await session.scalars(select(Job)))
        assert {job.id for job in jobs} == set(job_ids)
        assert all(job.attempts == 1 for job in jobs)
        group.stop_all()
        logs = [group.output(index) for index in range(3)]
        finished = [re.findall(r"job (job_[0-9a-f]+): succeeded", log) for log in logs]
        everything = [job_id for per_worker in finished for job_id in per_worker]
        assert sorted(everything) == sorted(job_ids)  # each job ran to the end once, and only once
        assert sum(1 for per_worker in finished if per_worker) >= 2  # the work was shared


async def _status_is(app: Any, job_id: str, status: str) -> bool:
    return (await _job(app, job_id)).status == status
