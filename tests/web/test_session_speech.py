"""What the dashboard calls besides the account API: speech as the logged-in person (the
playground keeps no key in the browser) and a test webhook sent on request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.accounts.test_web_accounts import EMAIL, PASSWORD, log_in, sign_up_and_verify
from tests.conftest import client_for, running_app
from tests.webhooks.receiver import Receiver, ReceiverServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEXT = "Hello from the playground."


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url, webhook_allow_private=True)


async def logged_in(app: Any, client: httpx.AsyncClient) -> None:
    await sign_up_and_verify(app, client)
    client.headers["X-CSRF-Token"] = await log_in(client)


async def test_the_logged_in_person_speaks_and_pays_from_their_own_quota(
    app: Any, client: httpx.AsyncClient
) -> None:
    await logged_in(app, client)
    spoken = await client.post("/account/tts", json={"text": TEXT, "format": "mp3"})
    assert spoken.status_code == 200, spoken.text
    assert spoken.headers["content-type"] == "audio/mpeg" and len(spoken.content) > 1000
    assert spoken.headers["X-Characters"] == str(len(TEXT))
    assert int(spoken.headers["X-Quota-Characters-Remaining"]) == 10_000 - len(TEXT)

    streamed = await client.post("/account/tts/stream", json={"text": TEXT + " Twice."})
    assert streamed.status_code == 200 and streamed.content[:4] == b"RIFF"

    quota = (await client.get("/account/quota")).json()
    assert quota["characters"]["used"] == len(TEXT) + len(TEXT + " Twice.")
    logs = (await client.get("/account/usage/logs")).json()["data"]
    assert [event["endpoint"] for event in logs] == ["/account/tts/stream", "/account/tts"]


async def test_session_speech_is_refused_without_login_csrf_or_a_verified_address(
    app: Any, client: httpx.AsyncClient
) -> None:
    anonymous = await client.post("/account/tts", json={"text": TEXT})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_logged_in"

    assert (
        await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
    ).status_code == 202
    client.headers["X-CSRF-Token"] = await log_in(client)
    unverified = await client.post("/account/tts", json={"text": TEXT})
    assert unverified.status_code == 403 and unverified.json()["code"] == "email_not_verified"

    no_csrf = await client.post("/account/tts", json={"text": TEXT}, headers={"X-CSRF-Token": ""})
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_failed"
    assert (await client.get("/account/quota")).json()["characters"]["used"] == 0


async def test_a_test_webhook_is_signed_with_the_accounts_secret(
    app: Any, client: httpx.AsyncClient
) -> None:
    await logged_in(app, client)
    secret = (await client.get("/account/webhooks/secret")).json()["secret"]
    receiver = Receiver(script=[200, 500])
    async with ReceiverServer(receiver):
        sent = await client.post("/account/webhooks/test", json={"url": receiver.url})
        assert sent.status_code == 200, sent.text
        answer = sent.json()
        assert (
            answer["delivered"] is True and answer["status_code"] == 200 and answer["error"] is None
        )
        [delivered] = receiver.received
        event = Webhook(secret).verify(delivered.body, delivered.headers)
        assert event["type"] == "webhook.test"
        assert delivered.headers["webhook-id"] == answer["event_id"]

        failing = (await client.post("/account/webhooks/test", json={"url": receiver.url})).json()
        assert failing["delivered"] is False and failing["status_code"] == 500
        assert failing["error"] == "the receiver answered 500"


async def test_a_test_webhook_to_a_private_address_is_refused(
    make_settings: Callable[..., Settings], sqlite_url: str, voices: VoiceRegistry
) -> None:
    settings = make_settings(database_url=sqlite_url, webhook_allow_private=False)
    async with running_app(settings, voices) as app, client_for(app) as client:
        await logged_in(app, client)
        refused = await client.post("/account/webhooks/test", json={"url": "http://127.0.0.1:9/x"})
        assert refused.status_code == 422
        assert "not allowed" in refused.json()["detail"]


async def test_the_session_says_who_is_there_without_an_error(
    app: Any, client: httpx.AsyncClient
) -> None:
    visitor = await client.get("/auth/session")
    assert visitor.status_code == 200
    assert visitor.json() == {"account": None, "csrf_token": None, "mail_delivery": "log"}
    await sign_up_and_verify(app, client)
    csrf = await log_in(client)
    state = (await client.get("/auth/session")).json()
    assert state["account"]["email"] == EMAIL and state["csrf_token"] == csrf
