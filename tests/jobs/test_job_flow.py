"""A job from submission to signed webhook and download, as a customer's app lives it."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.conftest import client_for, running_app
from tests.helpers import decode_wav, quota_counters, transcribe, wait_for_job, word_recall
from tests.webhooks.receiver import Receiver
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEXT = "Please call me tomorrow morning about the weather report."
LONG_TEXT = "This is one of many sentences that keep the worker busy for a while. " * 40


async def test_submit_run_download_and_verify_the_webhook(
    app: Any, client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    headers = {"X-API-Key": api_key}
    submitted = await client.post(
        "/v1/tts/jobs",
        json={"text": TEXT, "webhook_url": receiver.url, "metadata": {"order": 42}},
        headers=headers,
    )
    assert submitted.status_code == 202
    job = submitted.json()
    assert job["status"] == "queued"
    assert job["characters"] == len(TEXT)  # billed as sent
    assert submitted.headers["location"] == f"/v1/tts/jobs/{job['job_id']}"
    reserved_chars, _ = await quota_counters(app)
    assert reserved_chars == job["characters"]  # reserved at admission

    done = await wait_for_job(client, job["job_id"], headers, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 1 and done["metadata"] == {"order": 42}
    # the reservation erred long, as it must for the seconds allowance to hold; not wildly
    assert done["audio_seconds"] <= job["estimated_audio_seconds"] < 2 * done["audio_seconds"]
    assert done["audio_url"] == f"http://vocalis.test/v1/tts/jobs/{job['job_id']}/audio"

    download = await client.get(done["audio_url"], headers=headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/wav"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="vocalis-{job["job_id"]}.wav"'
    )
    audio = decode_wav(download.content)
    assert round(audio.duration, 3) == done["audio_seconds"]
    chars, audio_ms = await quota_counters(app)
    assert (chars, audio_ms) == (job["characters"], round(done["audio_seconds"] * 1000))

    await receiver.wait_for(1)
    (hook,) = receiver.received
    secret = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
    assert secret.startswith("whsec_")
    event = Webhook(secret).verify(hook.body, hook.headers)  # raises if the signature is wrong
    assert event["type"] == "job.succeeded"
    assert event["data"]["job_id"] == job["job_id"]
    assert event["data"]["status"] == "succeeded"
    assert event["data"]["metadata"] == {"order": 42}
    assert event["data"]["audio_url"].endswith(f"/v1/tts/jobs/{job['job_id']}/audio")
    assert hook.headers["webhook-id"].startswith("msg_")
    assert hook.path == "/hooks/vocalis"

    (delivery,) = await _settled_deliveries(client, job["job_id"], headers)
    assert delivery["webhook_id"] == hook.headers["webhook-id"]
    assert delivery["status"] == "succeeded"
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [200]

    logs = (await client.get("/v1/usage/logs", headers=headers)).json()["data"]
    work = [entry for entry in logs if entry["method"] == "JOB"]
    assert len(work) == 1 and work[0]["characters"] == job["characters"]
    assert work[0]["audio_ms"] == audio_ms and work[0]["request_id"] == job["job_id"]

    # Last: transcribing holds this event loop, which also runs the webhook's one-second timeout.
    assert word_recall(TEXT, transcribe(audio.samples, audio.sample_rate)) >= 0.75


async def test_jobs_are_listed_and_private_to_their_account(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    alice = {"X-API-Key": await make_key("alice@example.com")}
    bob = {"X-API-Key": await make_key("bob@example.com")}
    job = (await client.post("/v1/tts/jobs", json={"text": "Hello."}, headers=alice)).json()
    await wait_for_job(client, job["job_id"], alice, {"succeeded"})

    listed = (await client.get("/v1/tts/jobs?status=succeeded", headers=alice)).json()
    assert [item["job_id"] for item in listed["data"]] == [job["job_id"]]
    assert (await client.get("/v1/tts/jobs?status=queued", headers=alice)).json()["total"] == 0
    assert (await client.get("/v1/tts/jobs?status=lost", headers=alice)).status_code == 422
    assert (await client.get("/v1/tts/jobs", headers=bob)).json()["total"] == 0
    for method, path in (
        ("GET", f"/v1/tts/jobs/{job['job_id']}"),
        ("GET", f"/v1/tts/jobs/{job['job_id']}/audio"),
        ("GET", f"/v1/tts/jobs/{job['job_id']}/webhooks"),
        ("POST", f"/v1/tts/jobs/{job['job_id']}/cancel"),
    ):
        response = await client.request(method, path, headers=bob)
        assert (response.status_code, response.json()["code"]) == (404, "job_not_found"), path


async def test_cancel_a_queued_job_refunds_it(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    settings = make_settings(database_url=database_url, worker="external")  # nobody runs jobs
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        job = (await client.post("/v1/tts/jobs", json={"text": TEXT}, headers=headers)).json()
        assert (await quota_counters(app))[0] == job["characters"]
        early = await client.get(f"/v1/tts/jobs/{job['job_id']}/audio", headers=headers)
        assert (early.status_code, early.json()["code"]) == (409, "job_not_ready")

        canceled = await client.post(f"/v1/tts/jobs/{job['job_id']}/cancel", headers=headers)
        assert canceled.status_code == 200
        assert canceled.json()["status"] == "canceled"
        assert canceled.json()["error"]["code"] == "canceled"
        assert await quota_counters(app) == (0, 0)
        again = await client.post(f"/v1/tts/jobs/{job['job_id']}/cancel", headers=headers)
        assert (again.status_code, again.json()["code"]) == (409, "job_finished")


async def test_cancel_a_running_job_stops_its_synthesis(
    app: Any, client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    engine, store = app.state.runtime.engine, app.state.runtime.store
    headers = {"X-API-Key": api_key}
    job = (
        await client.post(
            "/v1/tts/jobs", json={"text": LONG_TEXT, "webhook_url": receiver.url}, headers=headers
        )
    ).json()
    await wait_for_job(client, job["job_id"], headers, {"running"})
    await _eventually(lambda: engine.sentences_spoken >= 2)  # well under way
    canceled = await client.post(f"/v1/tts/jobs/{job['job_id']}/cancel", headers=headers)
    spoken_at_cancel = engine.sentences_spoken
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert await quota_counters(app) == (0, 0)  # refunded at once
    await _eventually(lambda: engine.in_flight == 0)  # the piece being made is let go

    # The worker runs one job at a time: the next one starts once the canceled one let go.
    after = (await client.post("/v1/tts/jobs", json={"text": TEXT}, headers=headers)).json()
    done = await wait_for_job(client, after["job_id"], headers, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    # nothing more was spoken for the canceled job (the next job's text is one sentence)
    assert engine.sentences_spoken - spoken_at_cancel == 1
    assert spoken_at_cancel < LONG_TEXT.count(".")  # it was stopped before the end
    assert engine.in_flight == 0

    final = (await client.get(f"/v1/tts/jobs/{job['job_id']}", headers=headers)).json()
    assert (final["status"], final["audio_url"], final["audio_seconds"]) == ("canceled", None, None)
    audio = await client.get(f"/v1/tts/jobs/{job['job_id']}/audio", headers=headers)
    assert (audio.status_code, audio.json()["code"]) == (409, "job_not_ready")
    stored = [path.name for path in (store.root / "audio").rglob("*") if path.is_file()]
    assert stored == [f"{after['job_id']}-1.wav"]  # no file was ever kept for the canceled job
    assert await quota_counters(app) == (after["characters"], round(done["audio_seconds"] * 1000))

    await receiver.wait_for(1)
    (hook,) = receiver.received  # announced once, as canceled, and never as anything else
    event = json.loads(hook.body)
    assert (event["type"], event["data"]["job_id"]) == ("job.canceled", job["job_id"])


async def _settled_deliveries(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str], timeout: float = 30
) -> list[dict[str, Any]]:
    """The job's webhook deliveries once none is waiting or being sent any more."""

    async def poll() -> list[dict[str, Any]]:
        while True:
            deliveries = (
                await client.get(f"/v1/tts/jobs/{job_id}/webhooks", headers=headers)
            ).json()
            if deliveries and all(d["status"] not in ("pending", "delivering") for d in deliveries):
                return deliveries
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


async def _eventually(condition: Callable[[], bool], timeout: float = 30) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_failed_admission_changes_nothing(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": await make_key(char_limit=5)}
    for body, status, code in (
        ({"text": TEXT}, 429, "quota_exceeded"),
        ({"text": ""}, 422, "empty_text"),
        ({"text": "Hi.", "voice": "nope"}, 422, "unknown_voice"),
        ({"text": "Hi.", "webhook_url": "ftp://example.com/x"}, 422, "invalid_webhook_url"),
        ({"text": "Hi.", "metadata": {"blob": "x" * 5000}}, 422, "validation_error"),
        ({"text": "Hi.", "speed": 9}, 422, "invalid_speed"),
    ):
        response = await client.post("/v1/tts/jobs", json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert (await client.get("/v1/tts/jobs", headers=headers)).json()["total"] == 0
    assert await quota_counters(app) == (0, 0)
