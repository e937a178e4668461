"""A person logged in on the web follows the jobs their API keys submitted: the list, a job, its
audio and its webhooks, canceling, and the webhook signing secret — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.accounts.test_web_accounts import log_in, sign_up_and_verify
from tests.conftest import client_for, running_app
from tests.helpers import decode_wav, wait_for_job
from tests.jobs.conftest import JOB_SETTINGS
from tests.webhooks.receiver import Receiver
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEXT = "Please call me tomorrow morning about the weather report."


async def _web_key(app: Any, client: httpx.AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    """Sign up and log in as `email`; its CSRF token, and headers with a new API key of its."""
    await sign_up_and_verify(app, client, email)
    csrf = await log_in(client, email)
    created = await client.post(
        "/account/keys", json={"name": "jobs"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201, created.text
    return csrf, {"X-API-Key": created.json()["secret"]}


def _without_links(view: dict[str, Any]) -> dict[str, Any]:
    """A job (or a page of them) less its download link, which names the route it was read on."""
    if "data" in view:
        return {**view, "data": [_without_links(job) for job in view["data"]]}
    return {name: value for name, value in view.items() if name != "audio_url"}


async def _settled_deliveries(
    client: httpx.AsyncClient, job_id: str, timeout: float = 30
) -> list[dict[str, Any]]:
    """The job's webhook deliveries, seen through the web session, once none is still going."""

    async def poll() -> list[dict[str, Any]]:
        while True:
            response = await client.get(f"/account/jobs/{job_id}/webhooks")
            assert response.status_code == 200, response.text
            deliveries = response.json()
            if deliveries and all(d["status"] not in ("pending", "delivering") for d in deliveries):
                return deliveries
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


async def test_a_person_follows_their_jobs_from_the_web(
    app: Any, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    _, key = await _web_key(app, client, "ada@example.com")
    first = (
        await client.post(
            "/v1/tts/jobs", json={"text": TEXT, "webhook_url": receiver.url}, headers=key
        )
    ).json()
    second = (await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=key)).json()
    done = await wait_for_job(client, first["job_id"], key, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    await wait_for_job(client, second["job_id"], key, {"succeeded", "failed"})

    # The list: newest first, paginated, filtered as on /v1 — with the session cookie alone.
    listed = await client.get("/account/jobs")
    assert listed.status_code == 200
    assert [job["job_id"] for job in listed.json()["data"]] == [second["job_id"], first["job_id"]]
    by_key = (await client.get("/v1/tts/jobs", headers=key)).json()
    assert _without_links(listed.json()) == _without_links(by_key)  # the same, but where to
    assert listed.json()["data"][1]["audio_url"].endswith(f"/account/jobs/{first['job_id']}/audio")
    assert by_key["data"][1]["audio_url"].endswith(f"/v1/tts/jobs/{first['job_id']}/audio")
    paged = (await client.get("/account/jobs?limit=1&offset=1")).json()
    assert (paged["total"], paged["limit"], paged["offset"]) == (2, 1, 1)
    assert [job["job_id"] for job in paged["data"]] == [first["job_id"]]
    assert (await client.get("/account/jobs?status=queued")).json()["total"] == 0
    assert (await client.get("/account/jobs?status=lost")).status_code == 422

    # One job, as /v1 shows it.
    shown = await client.get(f"/account/jobs/{first['job_id']}")
    assert shown.status_code == 200 and _without_links(shown.json()) == _without_links(done)

    # Its audio.
    download = await client.get(f"/account/jobs/{first['job_id']}/audio")
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/wav"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="vocalis-{first["job_id"]}.wav"'
    )
    assert round(decode_wav(download.content).duration, 3) == done["audio_seconds"]
    assert download.content == (await client.get(done["audio_url"], headers=key)).content
    assert (await client.get(shown.json()["audio_url"])).content == download.content  # by cookie

    # Its webhook: delivered once, and signed with the secret the web page shows.
    await receiver.wait_for(1)
    (hook,) = receiver.received
    (delivery,) = await _settled_deliveries(client, first["job_id"])
    assert (delivery["webhook_id"], delivery["status"]) == (hook.headers["webhook-id"], "succeeded")
    assert delivery["event_type"] == "job.succeeded" and delivery["url"] == receiver.url
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [200]
    secret = (await client.get("/account/webhooks/secret")).json()["secret"]
    assert Webhook(secret).verify(hook.body, hook.headers)["data"]["job_id"] == first["job_id"]
    assert (await client.get(f"/account/jobs/{second['job_id']}/webhooks")).json() == []

    # Logged out, none of it is there.
    client.cookies.clear()
    for path in (
        "/account/jobs",
        f"/account/jobs/{first['job_id']}",
        f"/account/jobs/{first['job_id']}/audio",
        f"/account/jobs/{first['job_id']}/webhooks",
        "/account/webhooks/secret",
    ):
        response = await client.get(path)
        assert (response.status_code, response.json()["code"]) == (401, "not_logged_in"), path


async def test_canceling_from_the_web_needs_the_csrf_token(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    settings: Settings = make_settings(
        database_url=database_url, worker="external", **JOB_SETTINGS
    )  # nobody runs jobs: the job stays queued until canceled
    async with running_app(settings, voices) as app, client_for(app) as client:
        csrf, key = await _web_key(app, client, "ada@example.com")
        job = (await client.post("/v1/tts/jobs", json={"text": TEXT}, headers=key)).json()
        path = f"/account/jobs/{job['job_id']}/cancel"

        for headers in (
            {},
            {"X-CSRF-Token": "not-the-token"},
            {"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
        ):
            refused = await client.post(path, headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed"), headers
        assert (await client.get(f"/account/jobs/{job['job_id']}")).json()["status"] == "queued"
        early = await client.get(f"/account/jobs/{job['job_id']}/audio")
        assert (early.status_code, early.json()["code"]) == (409, "job_not_ready")

        canceled = await client.post(path, headers={"X-CSRF-Token": csrf})
        assert canceled.status_code == 200
        assert (canceled.json()["status"], canceled.json()["error"]["code"]) == (
            "canceled",
            "canceled",
        )
        seen = (await client.get(f"/v1/tts/jobs/{job['job_id']}", headers=key)).json()
        assert seen["status"] == "canceled"
        again = await client.post(path, headers={"X-CSRF-Token": csrf})
        assert (again.status_code, again.json()["code"]) == (409, "job_finished")


async def test_another_accounts_job_is_not_found_on_the_web(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> None:
    settings: Settings = make_settings(
        database_url=database_url, worker="external", **JOB_SETTINGS
    )  # the job stays queued, so a cancel that got through would show
    async with running_app(settings, voices) as app:
        async with client_for(app) as alice:
            _, alice_key = await _web_key(app, alice, "alice@example.com")
            job = (await alice.post("/v1/tts/jobs", json={"text": TEXT}, headers=alice_key)).json()
        async with client_for(app) as bob:
            csrf, _ = await _web_key(app, bob, "bob@example.com")
            assert (await bob.get("/account/jobs")).json()["total"] == 0
            for method, path in (
                ("GET", f"/account/jobs/{job['job_id']}"),
                ("GET", f"/account/jobs/{job['job_id']}/audio"),
                ("GET", f"/account/jobs/{job['job_id']}/webhooks"),
                ("POST", f"/account/jobs/{job['job_id']}/cancel"),
                ("GET", "/account/jobs/job_doesnotexist"),
            ):
                response = await bob.request(method, path, headers={"X-CSRF-Token": csrf})
                assert (response.status_code, response.json()["code"]) == (
                    404,
                    "job_not_found",
                ), path
        async with client_for(app) as alice:
            still = (await alice.get(f"/v1/tts/jobs/{job['job_id']}", headers=alice_key)).json()
            assert still["status"] == "queued"


async def test_the_webhook_secret_is_shown_and_rotated_from_the_web(
    app: Any, client: httpx.AsyncClient
) -> None:
    csrf, key = await _web_key(app, client, "ada@example.com")
    shown = await client.get("/account/webhooks/secret")
    assert shown.status_code == 200
    secret = shown.json()["secret"]
    assert secret.startswith("whsec_") and shown.json()["previous_valid_until"] is None
    assert (await client.get("/account/webhooks/secret")).json()["secret"] == secret  # stable
    assert (await client.get("/v1/webhooks/secret", headers=key)).json() == shown.json()

    refused = await client.post("/account/webhooks/secret/rotate")
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    assert (await client.get("/account/webhooks/secret")).json()["secret"] == secret

    rotated = await client.post("/account/webhooks/secret/rotate", headers={"X-CSRF-Token": csrf})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["secret"].startswith("whsec_") and new["secret"] != secret
    assert new["previous_valid_until"] is not None  # the old one still signs for a while
    assert (await client.get("/account/webhooks/secret")).json() == new
    assert (await client.get("/v1/webhooks/secret", headers=key)).json() == new
