"""Retention deletes old text and audio but keeps the accounting; admission has limits."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters, wait_for_job
from tests.jobs.conftest import JOB_SETTINGS
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.jobs.models import Job
from vocalis.jobs.retention import purge_expired
from vocalis.kit.clock import ManualClock


async def test_retention_deletes_text_and_audio_and_keeps_the_accounting(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    clock = ManualClock()
    settings = make_settings(database_url=database_url, job_retention_hours=72, **JOB_SETTINGS)
    async with running_app(settings, voices, clock) as app, client_for(app) as client:
        services = app.state.runtime
        headers = {"X-API-Key": await make_key_for(app)}
        old = (
            await client.post("/v1/tts/jobs", json={"text": "Old news."}, headers=headers)
        ).json()
        await wait_for_job(client, old["job_id"], headers, {"succeeded"})
        clock.advance(timedelta(hours=71))
        recent = (
            await client.post("/v1/tts/jobs", json={"text": "Fresh news."}, headers=headers)
        ).json()
        await wait_for_job(client, recent["job_id"], headers, {"succeeded"})
        async with services.database.session() as session:
            old_row = await session.get(Job, old["job_id"])
        assert old_row is not None and old_row.result_path
        old_file = services.store.path_of(old_row.result_path)
        assert old_file.is_file()

        clock.advance(timedelta(hours=1, seconds=1))  # the old job is now 72 h + 1 s finished
        purged = await purge_expired(
            services.database, services.store, now=clock.now(), retention=timedelta(hours=72)
        )
        assert purged == 1
        assert not old_file.exists()
        gone = await client.get(f"/v1/tts/jobs/{old['job_id']}/audio", headers=headers)
        assert (gone.status_code, gone.json()["code"]) == (410, "audio_expired")
        shown = (await client.get(f"/v1/tts/jobs/{old['job_id']}", headers=headers)).json()
        assert shown["purged"] is True and shown["audio_url"] is None
        assert shown["characters"] == len("Old news.") and shown["audio_seconds"] > 0
        async with services.database.session() as session:
            row = await session.scalar(select(Job).where(Job.id == old["job_id"]))
        assert row is not None and row.request is None and row.result_path is None
        assert "Old news" not in str(row.__dict__)
        fresh = await client.get(f"/v1/tts/jobs/{recent['job_id']}/audio", headers=headers)
        assert fresh.status_code == 200
        assert (
            await purge_expired(
                services.database, services.store, now=clock.now(), retention=timedelta(hours=72)
            )
            == 0
        )


async def test_a_full_queue_and_a_busy_key_are_refused(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    settings = make_settings(
        database_url=database_url, worker="external", max_jobs_per_key=2, max_queued_jobs=3
    )
    clock = ManualClock()
    async with running_app(settings, voices, clock) as app, client_for(app) as client:
        first = {"X-API-Key": await make_key_for(app, "one@example.com")}
        second = {"X-API-Key": await make_key_for(app, "two@example.com")}
        for _ in range(2):
            assert (
                await client.post("/v1/tts/jobs", json={"text": "Hi."}, headers=first)
            ).status_code == 202
            clock.advance(timedelta(seconds=30))
        busy = await client.post("/v1/tts/jobs", json={"text": "Hi."}, headers=first)
        assert (busy.status_code, busy.json()["code"]) == (429, "too_many_jobs")
        assert (
            await client.post("/v1/tts/jobs", json={"text": "Hi."}, headers=second)
        ).status_code == 202
        full = await client.post("/v1/tts/jobs", json={"text": "Hi."}, headers=second)
        assert (full.status_code, full.json()["code"]) == (503, "queue_full")
        assert int(full.headers["retry-after"]) > 0

        admin = {"X-API-Key": await make_key_for(app, "ops@example.com", scopes=("admin",))}
        stats = (await client.get("/admin/api/queue", headers=admin)).json()
        assert stats["counts"] == {
            "queued": 3,
            "running": 0,
            "succeeded": 0,
            "failed": 0,
            "canceled": 0,
        }
        assert stats["oldest_queued_age_seconds"] == 60  # the first job, queued two steps ago
        assert stats["running_by_worker"] == {}


@pytest.mark.parametrize(
    ("limits", "refusal"),
    [
        ({"max_jobs_per_key": 5}, (429, "too_many_jobs")),
        ({"max_queued_jobs": 5, "max_jobs_per_key": 100}, (503, "queue_full")),
    ],
)
async def test_exactly_the_cap_is_accepted_however_many_arrive_at_once(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    limits: dict[str, int],
    refusal: tuple[int, str],
) -> None:
    settings = make_settings(database_url=database_url, worker="external", **limits)
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        responses = await asyncio.gather(
            *(
                client.post("/v1/tts/jobs", json={"text": f"Job {i}."}, headers=headers)
                for i in range(40)
            )
        )
        accepted = [response for response in responses if response.status_code == 202]
        refused = [response for response in responses if response.status_code != 202]
        assert len(accepted) == 5
        assert {(r.status_code, r.json()["code"]) for r in refused} == {refusal}
        async with app.state.runtime.database.session() as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == 5
        reserved_chars, _ = await quota_counters(app)
        assert reserved_chars == sum(r.json()["characters"] for r in accepted)  # no more
