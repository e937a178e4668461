"""Idempotency-Key: retries are safe, conflicting reuse is refused, keys belong to accounts."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters
from vocalis.accounts.models import Account
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.jobs import idempotency
from vocalis.jobs.models import Job
from vocalis.jobs.schemas import JobRequest
from vocalis.kit.clock import ManualClock


@pytest.fixture
async def app(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> AsyncIterator[Any]:
    settings = make_settings(database_url=database_url, worker="external")
    async with running_app(settings, voices) as application:
        yield application


async def _jobs(app: Any) -> int:
    async with app.state.runtime.database.session() as session:
        return await session.scalar(select(func.count()).select_from(Job)) or 0


async def test_same_key_and_body_return_the_same_job(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key, "Idempotency-Key": "order-1234"}
    first = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
    again = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _jobs(app) == 1
    assert (await quota_counters(app))[0] == len("Hello.")  # charged once


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key, "Idempotency-Key": "order-1"}
    await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
    other = await client.post("/v1/tts/jobs", json={"text": "Goodbye."}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    on_batch = await client.post(
        "/v1/tts/batch", json={"items": [{"text": "Hello."}]}, headers=headers
    )
    assert on_batch.json()["code"] == "idempotency_key_reused"


async def test_a_key_still_in_progress_gets_409(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    services = app.state.runtime
    async with services.database.session() as session:
        account_id = await session.scalar(select(Account.id))
    body = JobRequest(text="Hello.").model_dump(mode="json")
    fingerprint = idempotency.request_fingerprint("/v1/tts/jobs", body)
    # another request with this key has got as far as claiming it, and no further
    await idempotency.begin(
        services.database,
        account_id,
        "busy-key",
        fingerprint,
        now=services.clock.now(),
        ttl=timedelta(hours=1),
    )
    headers = {"X-API-Key": api_key, "Idempotency-Key": "busy-key"}
    response = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_in_progress")
    assert response.headers["retry-after"] == "1"
    assert await _jobs(app) == 0


async def test_simultaneous_retries_create_one_job(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers) for _ in range(10))
    )
    created = {r.json()["job_id"] for r in responses if r.status_code == 202}
    assert len(created) == 1
    assert {r.status_code for r in responses} <= {202, 409}
    assert await _jobs(app) == 1


async def test_keys_are_scoped_to_the_account(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    alice = {"X-API-Key": await make_key("alice@example.com"), "Idempotency-Key": "shared"}
    bob = {"X-API-Key": await make_key("bob@example.com"), "Idempotency-Key": "shared"}
    first = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=alice)
    second = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=bob)
    assert second.status_code == 202
    assert second.json()["job_id"] != first.json()["job_id"]
    assert "idempotent-replayed" not in second.headers


async def test_a_refused_request_frees_its_key(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": await make_key(char_limit=3), "Idempotency-Key": "retry-me"}
    refused = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
    assert refused.json()["code"] == "quota_exceeded"
    again = await client.post("/v1/tts/jobs", json={"text": "Hi."}, headers=headers)
    assert again.status_code == 202  # a corrected body may reuse the key
    too_long = await client.post(
        "/v1/tts/jobs", json={"text": "Hi."}, headers={**headers, "Idempotency-Key": "x" * 300}
    )
    assert too_long.json()["code"] == "invalid_idempotency_key"


@pytest.fixture
def clock() -> ManualClock:  # type: ignore[override]
    return ManualClock()


@pytest.fixture
def make_app(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    clock: ManualClock,
) -> Callable[..., Any]:
    """An app on the manual clock, with nobody running the jobs."""

    def make(**overrides: Any) -> Any:
        settings = make_settings(database_url=database_url, worker="external", **overrides)
        return running_app(settings, voices, clock)

    return make


async def test_a_key_expires_after_24_hours_and_another_body_may_then_use_it(
    make_app: Callable[..., Any], clock: ManualClock, make_key_for: Callable[..., Any]
) -> None:
    async with make_app() as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app), "Idempotency-Key": "order-7"}
        first = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)

        clock.advance(timedelta(hours=24) - timedelta(seconds=1))
        other = await client.post("/v1/tts/jobs", json={"text": "Goodbye."}, headers=headers)
        assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
        replay = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
        assert replay.json()["job_id"] == first.json()["job_id"]

        clock.advance(timedelta(seconds=2))  # 24 h and a second after the key was first used
        later = await client.post("/v1/tts/jobs", json={"text": "Goodbye."}, headers=headers)
        assert later.status_code == 202 and "idempotent-replayed" not in later.headers
        assert later.json()["job_id"] != first.json()["job_id"]
        again = await client.post("/v1/tts/jobs", json={"text": "Goodbye."}, headers=headers)
        assert again.json()["job_id"] == later.json()["job_id"]  # the key is the new job's now
        assert again.headers["idempotent-replayed"] == "true"
        assert await _jobs(app) == 2


async def test_after_its_ttl_the_same_key_and_body_make_a_new_job(
    make_app: Callable[..., Any], clock: ManualClock, make_key_for: Callable[..., Any]
) -> None:
    async with make_app(idempotency_ttl_hours=2) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app), "Idempotency-Key": "nightly"}
        first = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)

        clock.advance(timedelta(hours=2) - timedelta(seconds=1))
        replay = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
        assert replay.json()["job_id"] == first.json()["job_id"]
        assert replay.headers["idempotent-replayed"] == "true"

        clock.advance(timedelta(seconds=2))
        fresh = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
        assert fresh.status_code == 202 and "idempotent-replayed" not in fresh.headers
        assert fresh.json()["job_id"] != first.json()["job_id"]
        assert await _jobs(app) == 2
        assert (await quota_counters(app))[0] == 2 * len("Hello.")  # a new job, charged anew


async def test_a_key_left_processing_by_a_dead_request_is_freed_after_a_while(
    make_app: Callable[..., Any], clock: ManualClock, make_key_for: Callable[..., Any]
) -> None:
    async with make_app() as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app), "Idempotency-Key": "orphan"}
        async with app.state.runtime.database.session() as session:
            account_id = await session.scalar(select(Account.id))
        body = JobRequest(text="Hello.").model_dump(mode="json")
        # a request claimed the key and died before making its job
        await idempotency.begin(
            app.state.runtime.database,
            account_id,
            "orphan",
            idempotency.request_fingerprint("/v1/tts/jobs", body),
            now=clock.now(),
            ttl=timedelta(hours=24),
        )

        clock.advance(idempotency.STALE_AFTER - timedelta(seconds=1))
        busy = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
        assert (busy.status_code, busy.json()["code"]) == (409, "idempotency_in_progress")

        clock.advance(timedelta(seconds=2))
        retry = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
        assert retry.status_code == 202 and "idempotent-replayed" not in retry.headers
        again = await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=headers)
        assert again.json()["job_id"] == retry.json()["job_id"]
        assert await _jobs(app) == 1
