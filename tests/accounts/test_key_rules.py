"""What a key may do: scopes, voices, client addresses. Refusals are 403 and cost nothing."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

SPEAK = {"text": "Hello."}


async def test_a_key_limited_to_other_voices_gets_403_and_is_not_charged(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    key = await make_key(allowed_voices=("en_GB-alba-medium",))
    response = await client.post("/v1/tts", json=SPEAK, headers={"X-API-Key": key})
    assert (response.status_code, response.json()["code"]) == (403, "voice_not_allowed")
    assert (await quota_counters(app))[0] == 0
    allowed = await make_key(allowed_voices=("en_US-joe-medium",))
    assert (
        await client.post("/v1/tts", json=SPEAK, headers={"X-API-Key": allowed})
    ).status_code == 200


async def test_client_address_allow_list(app: Any, make_key: Callable[..., Any]) -> None:
    key = await make_key(allowed_cidrs=("10.0.0.0/8", "2001:db8::/32"))
    headers = {"X-API-Key": key}
    for address, status in (
        ("10.1.2.3", 200),
        ("2001:db8::5", 200),
        ("192.0.2.7", 403),
        ("127.0.0.1", 403),
    ):
        async with client_for(app, address) as client:
            response = await client.post("/v1/tts", json=SPEAK, headers=headers)
            assert response.status_code == status, address
            if status == 403:
                assert response.json()["code"] == "ip_not_allowed"


async def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    spoofed = {"X-Forwarded-For": "10.9.9.9"}
    for trusted, expected in (([], 403), (["127.0.0.0/8"], 200)):
        settings = make_settings(database_url=sqlite_url, trusted_proxies=trusted)
        async with running_app(settings, voices) as app, client_for(app) as client:
            key = await make_key_for(
                app, f"p{len(trusted)}@example.com", allowed_cidrs=("10.0.0.0/8",)
            )
            response = await client.post(
                "/v1/tts", json=SPEAK, headers={"X-API-Key": key, **spoofed}
            )
            assert response.status_code == expected


@pytest.mark.parametrize(
    ("scopes", "method", "path", "status"),
    [
        (("usage:read",), "POST", "/v1/tts", 403),
        (("tts",), "GET", "/v1/usage", 403),
        (("tts",), "GET", "/v1/keys", 403),
        (("tts", "usage:read", "jobs"), "GET", "/admin/api/accounts", 403),
        (("tts",), "POST", "/v1/tts", 200),
        (("usage:read",), "GET", "/v1/usage/quota", 200),
        (("admin",), "GET", "/admin/api/stats", 200),
    ],
)
async def test_scopes(
    client: httpx.AsyncClient,
    make_key: Callable[..., Any],
    scopes: tuple[str, ...],
    method: str,
    path: str,
    status: int,
) -> None:
    key = await make_key(scopes=scopes)
    response = await client.request(
        method, path, json=SPEAK if method == "POST" else None, headers={"X-API-Key": key}
    )
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "insufficient_scope"
