"""GET /metrics: Prometheus text that moves as the service works, answered to the operator's
scraper only (by address, or with the metrics token from anywhere)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import client_for, create_key, running_app
from tests.webhooks.conftest import WEBHOOK_SETTINGS
from tests.webhooks.receiver import Receiver, ReceiverServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import Clock, ManualClock
from vocalis.mail.models import OutboundMail

VOICE = "en_US-joe-medium"
TOKEN = "metrics-token-" + "m" * 32


async def scrape(
    client: httpx.AsyncClient, **headers: str
) -> dict[tuple[str, frozenset[Any]], float]:
    """Every sample of GET /metrics, by name and labels."""
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def routes(samples: dict[tuple[str, frozenset[Any]], float]) -> set[str]:
    return {
        dict(labels)["route"] for name, labels in samples if name == "vocalis_http_requests_total"
    }


# --- what the counters say ----------------------------------------------------------------------


async def test_a_synthesis_counts_its_request_audio_and_cache_lookups(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    before = await scrape(client)
    assert (
        value(before, "vocalis_http_requests_total", method="POST", route="/v1/tts", status="200")
        == 0
    )

    body = {"text": "Metrics are counted as requests end."}
    first = await client.post("/v1/tts", json=body, headers=auth)
    second = await client.post("/v1/tts", json=body, headers=auth)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")

    after = await scrape(client)
    requests = {"method": "POST", "route": "/v1/tts", "status": "200"}
    assert value(after, "vocalis_http_requests_total", **requests) == 2
    latency = {"method": "POST", "route": "/v1/tts"}
    assert value(after, "vocalis_http_request_duration_seconds_count", **latency) == 2
    assert value(after, "vocalis_http_request_duration_seconds_sum", **latency) > 0
    served = sum(int(r.headers["x-audio-duration-ms"]) for r in (first, second)) / 1000
    assert value(after, "vocalis_audio_seconds_total", voice=VOICE) == served
    characters = 2 * int(first.headers["x-characters"])
    assert value(after, "vocalis_characters_total", voice=VOICE) == characters
    assert value(after, "vocalis_cache_lookups_total", result="miss") == 1
    assert value(after, "vocalis_cache_lookups_total", result="hit") == 1
    assert value(after, "vocalis_cache_entries") == 1
    # The engine spoke once (the hit cost no inference), for as long as the first answer.
    assert value(after, "vocalis_engine_syntheses_total", voice=VOICE) == 1
    assert value(after, "vocalis_engine_pieces_total", voice=VOICE) >= 1
    assert value(after, "vocalis_engine_synthesis_seconds_total", voice=VOICE) > 0
    assert value(after, "vocalis_engine_busy_seconds_total") > 0
    engine_audio = value(after, "vocalis_engine_audio_seconds_total", voice=VOICE)
    assert abs(engine_audio - int(first.headers["x-audio-duration-ms"]) / 1000) < 0.01
    assert value(after, "vocalis_engine_slots") >= 1
    assert value(after, "vocalis_engine_queue_depth") == 0
    assert value(after, "vocalis_database_up") == 1


async def test_routes_are_labelled_by_template_never_by_path(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    missing = await client.get("/v1/tts/jobs/job_doesnotexist0123", headers=auth)
    assert missing.status_code == 404
    assert (await client.get("/v1/no/such/thing/here")).status_code == 404
    assert (await client.request("BREW", "/health")).status_code in (400, 405)

    samples = await scrape(client)
    job = {"method": "GET", "route": "/v1/tts/jobs/{job_id}", "status": "404"}
    assert value(samples, "vocalis_http_requests_total", **job) == 1
    assert (
        value(samples, "vocalis_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )
    assert not [route for route in routes(samples) if "doesnotexist" in route or "no/such" in route]
    # A method the server does not know is one label, whatever the client invents.
    methods = {
        dict(labels)["method"] for name, labels in samples if name == "vocalis_http_requests_total"
    }
    assert "BREW" not in methods


async def test_an_exhausted_quota_and_a_rate_limit_count_as_refusals_by_code(
    app: Any, client: httpx.AsyncClient
) -> None:
    poor = await create_key(app, "poor@example.com", char_limit=10)
    refused = await client.post(
        "/v1/tts", json={"text": "Far more than ten characters."}, headers={"X-API-Key": poor}
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded"

    hasty = await create_key(app, "hasty@example.com", rate_limit_rpm=1)
    statuses = [
        (await client.get("/v1/usage/quota", headers={"X-API-Key": hasty})).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]

    samples = await scrape(client)
    assert value(samples, "vocalis_refusals_total", code="quota_exceeded") == 1
    assert value(samples, "vocalis_refusals_total", code="rate_limited") == 1
    assert (
        value(samples, "vocalis_http_requests_total", method="POST", route="/v1/tts", status="429")
        == 1
    )
    # Refused before any synthesis: no audio, no engine work.
    assert value(samples, "vocalis_audio_seconds_total", voice=VOICE) == 0
    assert value(samples, "vocalis_engine_syntheses_total", voice=VOICE) == 0


async def test_a_queued_job_shows_in_jobs_by_state_and_its_wait_in_the_queue_age(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    clock: ManualClock,
) -> None:
    # Workers run elsewhere: the job stays queued for as long as the test likes.
    settings = make_settings(database_url=database_url, worker="external")
    async with running_app(settings, voices, clock) as app, client_for(app) as client:
        key = {"X-API-Key": await create_key(app)}
        empty = await scrape(client)
        assert value(empty, "vocalis_jobs", state="queued") == 0
        assert value(empty, "vocalis_jobs_queue_age_seconds") == 0

        submitted = await client.post("/v1/tts/jobs", json={"text": "Wait for me."}, headers=key)
        assert submitted.status_code == 202, submitted.text
        clock.advance(timedelta(seconds=90))
        waiting = await scrape(client)
        assert value(waiting, "vocalis_jobs", state="queued") == 1
        assert value(waiting, "vocalis_jobs", state="running") == 0
        assert value(waiting, "vocalis_jobs_failed") == 0
        assert value(waiting, "vocalis_jobs_queue_age_seconds") == 90

        job_id = submitted.json()["job_id"]
        canceled = await client.post(f"/v1/tts/jobs/{job_id}/cancel", headers=key)
        assert canceled.status_code == 200, canceled.text
        done = await scrape(client)
        assert value(done, "vocalis_jobs", state="queued") == 0
        assert value(done, "vocalis_jobs_queue_age_seconds") == 0
        # No worker here, so no dispatcher: its counters are not this process's to show.
        assert not [name for name, _ in done if name.startswith("vocalis_webhook_attempts")]


async def test_mail_waiting_in_the_outbox_is_its_depth(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    settings = make_settings(database_url=database_url, worker="external")
    async with running_app(settings, voices) as app, client_for(app) as client:
        runtime = app.state.runtime
        now = runtime.clock.now()
        async with runtime.database.session(write=True) as session:
            for n in range(3):
                session.add(
                    OutboundMail(
                        to_address=f"person{n}@example.com",
                        template="welcome",
                        subject="Welcome",
                        text_body="Hello",
                        html_body="<p>Hello</p>",
                        status="sent" if n == 0 else "pending",
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
        assert value(await scrape(client), "vocalis_mail_outbox_pending") == 2


async def _webhook_outcomes(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    script: list[Any],
    settled: Callable[[dict[tuple[str, frozenset[Any]], float]], bool],
) -> dict[tuple[str, frozenset[Any]], float]:
    """The metrics once a job's webhook, answered by `script`, has `settled`."""
    settings = make_settings(database_url=database_url, **WEBHOOK_SETTINGS)
    hooks = Receiver(script=script)
    async with ReceiverServer(hooks), running_app(settings, voices, Clock()) as app:
        async with client_for(app) as client:
            key = {"X-API-Key": await create_key(app)}
            job = await client.post(
                "/v1/tts/jobs", json={"text": "Hi.", "webhook_url": hooks.url}, headers=key
            )
            assert job.status_code == 202, job.text

            async def until_settled() -> dict[tuple[str, frozenset[Any]], float]:
                while True:  # a scrape reads the database, then the counters: wait for both
                    samples = await scrape(client)
                    if settled(samples) and not value(
                        samples, "vocalis_webhook_deliveries_pending"
                    ):
                        return samples
                    await asyncio.sleep(0.05)

            return await asyncio.wait_for(until_settled(), 15)


async def test_webhook_attempts_count_by_outcome(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    samples = await _webhook_outcomes(
        make_settings,
        database_url,
        voices,
        [500, 200],
        lambda samples: value(samples, "vocalis_webhook_attempts_total", outcome="delivered") > 0,
    )
    assert value(samples, "vocalis_webhook_attempts_total", outcome="retrying") == 1
    assert value(samples, "vocalis_webhook_attempts_total", outcome="delivered") == 1
    assert value(samples, "vocalis_webhook_attempts_total", outcome="failed") == 0
    assert value(samples, "vocalis_webhook_deliveries_given_up", status="failed") == 0


async def test_a_delivery_that_runs_out_of_retries_is_counted_as_given_up(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    samples = await _webhook_outcomes(
        make_settings,
        database_url,
        voices,
        [503, 503, 503],  # the whole schedule: three attempts
        lambda samples: value(samples, "vocalis_webhook_attempts_total", outcome="failed") > 0,
    )
    assert value(samples, "vocalis_webhook_attempts_total", outcome="retrying") == 2
    assert value(samples, "vocalis_webhook_attempts_total", outcome="failed") == 1
    assert value(samples, "vocalis_webhook_attempts_total", outcome="delivered") == 0
    # What the database says, as any process (one with no dispatcher too) would show it:
    assert value(samples, "vocalis_webhook_deliveries_given_up", status="failed") == 1
    assert value(samples, "vocalis_webhook_deliveries_given_up", status="abandoned") == 0


async def test_scrapes_still_answer_when_the_database_cannot_be_read(
    make_settings: Callable[..., Settings], voices: VoiceRegistry, tmp_path: Path
) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/never-migrated.db")
    async with running_app(settings, voices) as app, client_for(app) as client:
        samples = await scrape(client)
    assert value(samples, "vocalis_database_up") == 0
    assert not [name for name, _ in samples if name == "vocalis_jobs"]
    assert value(samples, "vocalis_engine_slots") >= 1  # what the process knows is still there


# --- who may read them --------------------------------------------------------------------------


async def test_loopback_may_scrape_and_another_address_is_refused(app: Any) -> None:
    for address in ("127.0.0.1", "::1"):
        async with client_for(app, address) as local:
            assert (await local.get("/metrics")).status_code == 200
    async with client_for(app, "198.51.100.7") as remote:
        refused = await remote.get("/metrics")
        with_a_token = await remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "metrics_forbidden"
    assert set(refused.json()) == {"detail", "code"}
    assert "vocalis_" not in refused.text
    assert with_a_token.status_code == 403  # no token is configured: none can be right


async def test_the_token_opens_metrics_from_anywhere_and_a_wrong_one_is_401(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    settings = make_settings(database_url=database_url, metrics_token=TOKEN, metrics_allow=[])
    async with running_app(settings, voices) as app:
        async with client_for(app, "203.0.113.50") as remote:
            await scrape(remote, Authorization=f"Bearer {TOKEN}")
            wrong = await remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
            missing = await remote.get("/metrics")
        async with client_for(app, "127.0.0.1") as local:
            not_allowed_here = await local.get("/metrics")  # metrics_allow is empty
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_metrics_token"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert missing.status_code == 403
    assert not_allowed_here.status_code == 403


async def test_behind_a_trusted_proxy_the_forwarded_client_decides(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    """A proxy on loopback forwards everyone's requests: its own address must not open
    metrics to the internet."""
    settings = make_settings(
        database_url=database_url,
        trusted_proxies=["127.0.0.1/32"],
        metrics_allow=["10.0.0.0/8"],
    )
    async with running_app(settings, voices) as app, client_for(app, "127.0.0.1") as proxy:
        outsider = await proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        scraper = await proxy.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
        the_proxy_itself = await proxy.get("/metrics")
    assert outsider.status_code == 403
    assert scraper.status_code == 200
    assert the_proxy_itself.status_code == 403  # 127.0.0.1 is not in this metrics_allow


async def test_metrics_are_not_in_the_api_schema(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
