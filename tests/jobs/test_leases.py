"""Leases, decided on explicit clocks: who may run a job, and when it is taken over."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters
from tests.jobs.conftest import JOB_SETTINGS
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.jobs import queue
from vocalis.jobs.models import Job
from vocalis.jobs.queue import JobPolicy
from vocalis.usage.models import UsageEvent
from vocalis.webhooks.models import WebhookDelivery

LEASE = timedelta(seconds=30)


@pytest.fixture
async def app(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> AsyncIterator[Any]:
    """No worker of its own: the test plays the workers."""
    settings = make_settings(
        database_url=database_url, worker="external", job_max_attempts=2, job_lease_seconds=30,
        **JOB_SETTINGS,
    )  # fmt: skip
    async with running_app(settings, voices) as application:
        yield application


@pytest.fixture
def policy(app: Any) -> JobPolicy:
    return JobPolicy.from_settings(app.state.runtime.settings, app.state.runtime.meter)


async def _submit(app: Any, make_key_for: Callable[..., Any], **extra: Any) -> tuple[str, datetime]:
    async with client_for(app) as client:
        key = await make_key_for(app)
        response = await client.post(
            "/v1/tts/jobs", json={"text": "Hello there.", **extra}, headers={"X-API-Key": key}
        )
    assert response.status_code == 202
    return response.json()["job_id"], datetime.now(UTC) + timedelta(seconds=1)


async def _claim(app: Any, worker: str, at: datetime, policy: JobPolicy) -> Job | None:
    async with app.state.runtime.database.session(write=True) as session:
        return await queue.claim_next(session, worker_id=worker, now=at, policy=policy)


async def _beat(app: Any, job_id: str, worker: str, at: datetime, policy: JobPolicy) -> bool:
    async with app.state.runtime.database.session(write=True) as session:
        return await queue.heartbeat(session, job_id, worker_id=worker, now=at, policy=policy)


async def _complete(app: Any, job_id: str, worker: str, at: datetime, policy: JobPolicy) -> bool:
    async with app.state.runtime.database.session(write=True) as session:
        return await queue.complete(
            session, job_id, worker_id=worker, now=at, policy=policy,
            audio_ms=1234, audio_bytes=100, result_path=f"audio/x/{worker}.wav",
        )  # fmt: skip


async def _job(app: Any, job_id: str) -> Job:
    async with app.state.runtime.database.session() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def test_a_lease_inside_its_horizon_is_left_alone(
    app: Any, make_key_for: Callable[..., Any], policy: JobPolicy
) -> None:
    job_id, t0 = await _submit(app, make_key_for)
    claimed = await _claim(app, "worker-a", t0, policy)
    assert claimed is not None and claimed.id == job_id and claimed.attempts == 1
    assert await _claim(app, "worker-b", t0 + LEASE - timedelta(milliseconds=1), policy) is None
    job = await _job(app, job_id)
    assert (job.status, job.lease_owner, job.attempts) == ("running", "worker-a", 1)


async def test_a_lease_just_past_its_horizon_is_taken_over(
    app: Any, make_key_for: Callable[..., Any], policy: JobPolicy
) -> None:
    job_id, t0 = await _submit(app, make_key_for)
    await _claim(app, "worker-a", t0, policy)
    taken = await _claim(app, "worker-b", t0 + LEASE + timedelta(milliseconds=1), policy)
    assert taken is not None and taken.id == job_id
    assert (taken.lease_owner, taken.attempts) == ("worker-b", 2)
    assert not await _beat(app, job_id, "worker-a", t0 + LEASE, policy)  # A learns it lost it
    assert not await _complete(app, job_id, "worker-a", t0 + LEASE, policy)
    assert await _complete(app, job_id, "worker-b", t0 + LEASE * 1.5, policy)


async def test_a_job_at_its_attempt_limit_fails_is_refunded_and_announced(
    app: Any, make_key_for: Callable[..., Any], policy: JobPolicy
) -> None:
    job_id, t0 = await _submit(app, make_key_for, webhook_url="http://127.0.0.1:9/hook")
    assert (await quota_counters(app))[0] == len("Hello there.")
    await _claim(app, "worker-a", t0, policy)
    await _claim(app, "worker-b", t0 + LEASE * 1.1, policy)  # attempt 2 of 2
    assert await _claim(app, "worker-c", t0 + LEASE * 2.3, policy) is None

    job = await _job(app, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", "worker_lost", 2)
    assert await quota_counters(app) == (0, 0)
    async with app.state.runtime.database.session() as session:
        (delivery,) = await session.scalars(select(WebhookDelivery))
        (event,) = await session.scalars(select(UsageEvent).where(UsageEvent.method == "JOB"))
    assert delivery.event_type == "job.failed" and delivery.payload["data"]["status"] == "failed"
    assert (event.status_code, event.characters) == (500, 0)


async def test_a_slow_job_that_keeps_heartbeating_is_never_run_twice(
    app: Any, make_key_for: Callable[..., Any], policy: JobPolicy
) -> None:
    job_id, t0 = await _submit(app, make_key_for)
    await _claim(app, "worker-a", t0, policy)
    for elapsed in (20, 40, 60, 80):  # long past the first lease's horizon
        at = t0 + timedelta(seconds=elapsed)
        assert await _beat(app, job_id, "worker-a", at, policy)
        assert await _claim(app, "worker-b", at + timedelta(seconds=5), policy) is None
    assert await _complete(app, job_id, "worker-a", t0 + timedelta(seconds=90), policy)
    assert await _claim(app, "worker-b", t0 + timedelta(hours=1), policy) is None
    job = await _job(app, job_id)
    assert (job.status, job.attempts, job.audio_ms) == ("succeeded", 1, 1234)
    assert await quota_counters(app) == (
        len("Hello there."),
        1234,
    )  # settled once, at the real duration


async def test_a_canceled_job_is_not_ours_any_more(
    app: Any, make_key_for: Callable[..., Any], policy: JobPolicy
) -> None:
    async with client_for(app) as client:
        key = await make_key_for(app)
        headers = {"X-API-Key": key}
        job_id = (await client.post("/v1/tts/jobs", json={"text": "Hi."}, headers=headers)).json()[
            "job_id"
        ]
        t0 = datetime.now(UTC) + timedelta(seconds=1)
        await _claim(app, "worker-a", t0, policy)
        response = await client.post(f"/v1/tts/jobs/{job_id}/cancel", headers=headers)
        assert response.json()["status"] == "canceled"
    assert not await _beat(app, job_id, "worker-a", t0 + timedelta(seconds=1), policy)
    assert not await _complete(app, job_id, "worker-a", t0 + timedelta(seconds=2), policy)
    assert (await _job(app, job_id)).status == "canceled"
