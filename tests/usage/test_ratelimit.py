"""Per-key rate limits: headers on every authenticated response, 429 with Retry-After when full."""

import os
import secrets
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.conftest import client_for, running_app
from vocalis.accounts.keys import generate_api_key
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

REDIS_URL = os.environ.get("VOCALIS_TEST_REDIS_URL", "redis://127.0.0.1:6379")


async def test_the_request_after_the_limit_gets_429_with_retry_after(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": await make_key(rate_limit_rpm=3)}
    remaining = []
    for _ in range(3):
        response = await client.get("/v1/usage/quota", headers=headers)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"per-key";q=3;w=60'
        assert response.headers["x-ratelimit-limit"] == "3"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert response.headers["ratelimit"].startswith(f'"per-key";r={remaining[-1]};t=')
    assert remaining == [2, 1, 0]

    refused = await client.get("/v1/usage/quota", headers=headers)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) > 1_700_000_000  # epoch seconds


async def test_speech_requests_count_too_and_error_responses_carry_the_headers(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": await make_key(rate_limit_rpm=2)}
    invalid = await client.post("/v1/tts", json={"text": "hi", "speed": 10}, headers=headers)
    assert invalid.status_code == 422
    assert invalid.headers["x-ratelimit-remaining"] == "1"
    ok = await client.post("/v1/tts", json={"text": "Hi."}, headers=headers)
    assert ok.status_code == 200 and ok.headers["x-ratelimit-remaining"] == "0"
    refused = await client.post("/v1/tts", json={"text": "Hi."}, headers=headers)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"


async def test_refused_requests_consume_nobodys_budget(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    key = await make_key(rate_limit_rpm=2, scopes=("tts",))
    for _ in range(5):
        assert (
            await client.get("/v1/usage/quota", headers={"X-API-Key": generate_api_key()})
        ).status_code == 401
        assert (await client.get("/v1/usage/quota", headers={"X-API-Key": key})).status_code == 403
    ok = await client.post("/v1/tts", json={"text": "Hi."}, headers={"X-API-Key": key})
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-remaining"] == "1"


async def test_keys_have_separate_budgets(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    first, second = await make_key(rate_limit_rpm=1), await make_key(rate_limit_rpm=1)
    assert (await client.get("/v1/usage/quota", headers={"X-API-Key": first})).status_code == 200
    assert (await client.get("/v1/usage/quota", headers={"X-API-Key": first})).status_code == 429
    assert (await client.get("/v1/usage/quota", headers={"X-API-Key": second})).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_redis_storage_shares_one_budget_between_processes(
    settings: Settings, voices: VoiceRegistry, make_key_for: Callable[..., Any]
) -> None:
    address = urlparse(REDIS_URL)
    try:
        socket.create_connection((address.hostname, address.port or 6379), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    shared = settings.model_copy(update={"rate_limit_storage": REDIS_URL})
    async with running_app(shared, voices) as first, running_app(shared, voices) as second:
        key = await make_key_for(first, f"r{secrets.token_hex(4)}@example.com", rate_limit_rpm=3)
        async with client_for(first) as one, client_for(second) as two:
            codes = [
                (await http.get("/v1/usage/quota", headers={"X-API-Key": key})).status_code
                for http in (one, two, one, two)
            ]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_unreachable_limit_store_fails_open(
    settings: Settings, voices: VoiceRegistry, make_key_for: Callable[..., Any]
) -> None:
    broken = settings.model_copy(update={"rate_limit_storage": "redis://127.0.0.1:9"})
    async with running_app(broken, voices) as app, client_for(app) as client:
        key = await make_key_for(app, rate_limit_rpm=1)
        for _ in range(3):
            response = await client.get("/v1/usage/quota", headers={"X-API-Key": key})
            assert response.status_code == 200
            assert "x-ratelimit-limit" not in response.headers
