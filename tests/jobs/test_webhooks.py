"""Webhook delivery: retries on schedule, every attempt recorded, signatures that verify."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.conftest import client_for, running_app
from tests.helpers import wait_for_job
from tests.jobs.conftest import JOB_SETTINGS
from tests.jobs.receiver import Receiver, ReceiverServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _job_with_hook(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> str:
    response = await client.post(
        "/v1/tts/jobs", json={"text": "Hi.", "webhook_url": url}, headers=headers
    )
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


async def _deliveries_settled(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str], timeout: float = 30
) -> dict[str, Any]:
    async def settled() -> dict[str, Any]:
        while True:  # the delivery exists once the job has finished
            deliveries = (
                await client.get(f"/v1/tts/jobs/{job_id}/webhooks", headers=headers)
            ).json()
            if deliveries and deliveries[0]["status"] not in ("pending", "delivering"):
                return deliveries[0]
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(settled(), timeout)


async def test_two_failures_then_success_is_three_attempts_with_one_id(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = [500, 500, 200]
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)

    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert len(receiver.received) == 3
    assert len({hook.headers["webhook-id"] for hook in receiver.received}) == 1
    secret = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
    for hook in receiver.received:  # each attempt signed afresh, with its own timestamp
        Webhook(secret).verify(hook.body, hook.headers)


async def test_a_receiver_that_never_answers_gets_the_whole_schedule_and_no_more(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = ["hang"] * 10
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)

    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 3  # the schedule has three entries
    assert all(a["status_code"] is None and "no answer" in a["error"] for a in delivery["attempts"])
    await asyncio.sleep(0.6)
    assert len(receiver.received) == 3
    job = (await client.get(f"/v1/tts/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "succeeded"


async def test_410_gone_stops_deliveries_to_that_url(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = [410]
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)
    assert delivery["status"] == "abandoned"
    assert [a["status_code"] for a in delivery["attempts"]] == [410]
    await asyncio.sleep(0.6)
    assert len(receiver.received) == 1


async def test_redirects_count_as_failures_and_are_never_followed(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    trap = Receiver()
    async with ReceiverServer(trap):
        receiver.script = [(307, {"location": trap.url})] * 3
        headers = {"X-API-Key": api_key}
        job_id = await _job_with_hook(client, headers, receiver.url)
        delivery = await _deliveries_settled(client, job_id, headers)
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [307, 307, 307]
    assert "redirect" in delivery["attempts"][0]["error"]
    assert trap.received == []


async def test_retry_after_is_honoured(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = [(503, {"retry-after": "2"}), 200]
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)
    first, second = (_seconds(a["attempted_at"]) for a in delivery["attempts"])
    assert delivery["status"] == "succeeded"
    assert second - first >= 1.9  # the schedule alone would have retried after 0.2 s


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    headers = {"X-API-Key": api_key}
    old = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
    assert (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"] == old
    rotated = (await client.post("/v1/webhooks/secret/rotate", headers=headers)).json()
    new = rotated["secret"]
    assert new != old and rotated["previous_valid_until"] is not None

    job_id = await _job_with_hook(client, headers, receiver.url)
    await wait_for_job(client, job_id, headers, {"succeeded"})
    await receiver.wait_for(1)
    hook = receiver.received[0]
    assert len(hook.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(hook.body, hook.headers)
    Webhook(old).verify(hook.body, hook.headers)  # receivers not yet updated keep working
    shown = (await client.get("/v1/webhooks/secret", headers=headers)).json()
    assert shown == rotated


async def test_after_the_overlap_only_the_new_secret_signs(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    receiver: Receiver,
) -> None:
    settings = make_settings(
        database_url=database_url, webhook_secret_overlap_hours=0, **JOB_SETTINGS
    )
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        old = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
        new = (await client.post("/v1/webhooks/secret/rotate", headers=headers)).json()["secret"]
        job_id = await _job_with_hook(client, headers, receiver.url)
        await wait_for_job(client, job_id, headers, {"succeeded"})
        await receiver.wait_for(1)
    hook = receiver.received[0]
    Webhook(new).verify(hook.body, hook.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(hook.body, hook.headers)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()
