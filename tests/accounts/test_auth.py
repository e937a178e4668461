"""Who may call: valid keys pass, every other kind of key is refused with 401 and a reason."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from tests.conftest import client_for, create_key, running_app
from vocalis.accounts import service as accounts
from vocalis.accounts.keys import generate_api_key, hash_api_key
from vocalis.accounts.models import Account, ApiKey
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import ManualClock

SPEAK = {"text": "Hi."}


async def _tts(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/tts", json=SPEAK, headers=headers)


async def test_bearer_and_x_api_key_are_both_accepted(
    client: httpx.AsyncClient, api_key: str
) -> None:
    assert (await _tts(client, {"Authorization": f"Bearer {api_key}"})).status_code == 200
    assert (await _tts(client, {"X-API-Key": api_key})).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": ""}, "invalid_api_key"),
        ({"Authorization": "Bearer"}, "invalid_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_api_key"),
        ({"Authorization": "Bearer not-a-key"}, "invalid_api_key"),
        ({"X-API-Key": "sk_live_short"}, "invalid_api_key"),
        ({"X-API-Key": "   "}, "missing_api_key"),
    ],
)
async def test_missing_and_malformed_keys_get_401(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    response = await _tts(client, headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_well_formed_but_unknown_key_gets_401(client: httpx.AsyncClient) -> None:
    response = await _tts(client, {"Authorization": f"Bearer {generate_api_key()}"})
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


async def test_a_key_with_a_corrupted_character_gets_401(
    client: httpx.AsyncClient, api_key: str
) -> None:
    corrupted = api_key[:-8] + ("a" if api_key[-8] != "a" else "b") + api_key[-7:]
    response = await _tts(client, {"Authorization": f"Bearer {corrupted}"})
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


async def _key_id(app: Any, raw: str) -> str:
    pepper = app.state.runtime.settings.key_pepper.get_secret_value()
    async with app.state.runtime.database.session() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.key_hash == hash_api_key(raw, pepper))
        )
    assert key_id is not None
    return key_id


async def test_a_key_revoked_through_the_api_is_refused_at_once(
    app: Any, client: httpx.AsyncClient, api_key: str, make_key: Callable[..., Any]
) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    assert (await _tts(client, headers)).status_code == 200  # known to this process now
    admin = {"X-API-Key": await make_key("ops@example.com", scopes=("admin",))}
    revoked = await client.delete(f"/admin/api/keys/{await _key_id(app, api_key)}", headers=admin)
    assert revoked.status_code == 200
    response = await _tts(client, headers)
    assert (response.status_code, response.json()["code"]) == (401, "revoked_api_key")


async def test_an_account_suspended_through_the_api_is_refused_at_once(
    app: Any, client: httpx.AsyncClient, api_key: str, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": api_key}
    assert (await _tts(client, headers)).status_code == 200
    admin = {"X-API-Key": await make_key("ops@example.com", scopes=("admin",))}
    async with app.state.runtime.database.session() as session:
        account_id = await session.scalar(
            select(Account.id).where(Account.email == "user@example.com")
        )
    suspended = await client.patch(
        f"/admin/api/accounts/{account_id}", json={"status": "suspended"}, headers=admin
    )
    assert suspended.status_code == 200
    response = await _tts(client, headers)
    assert (response.status_code, response.json()["code"]) == (401, "account_suspended")


async def test_a_revocation_made_elsewhere_reaches_this_server_within_the_key_cache_time(
    make_settings: Callable[..., Settings], sqlite_url: str, voices: VoiceRegistry
) -> None:
    """Another server or the CLI revoking a key: no message reaches this process, its kept
    copy of the key runs out after VOCALIS_KEY_CACHE_SECONDS."""
    settings = make_settings(database_url=sqlite_url, key_cache_seconds=0.5)
    async with running_app(settings, voices) as app, client_for(app) as client:
        raw = await create_key(app)
        headers = {"X-API-Key": raw}
        assert (await client.get("/v1/usage/quota", headers=headers)).status_code == 200
        async with app.state.runtime.database.session(write=True) as session:
            key_id = await _key_id(app, raw)
            await accounts.revoke_api_key(session, key_id, now=app.state.runtime.clock.now())
        await asyncio.sleep(0.6)
        response = await client.get("/v1/usage/quota", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "revoked_api_key")


async def test_expired_key_is_refused(
    client: httpx.AsyncClient, make_key: Callable[..., Any], clock: ManualClock
) -> None:
    key = await make_key(expires_at=clock.now() + timedelta(hours=1))
    headers = {"X-API-Key": key}
    assert (await _tts(client, headers)).status_code == 200
    clock.advance(timedelta(hours=1, seconds=1))
    response = await _tts(client, headers)
    assert (response.status_code, response.json()["code"]) == (401, "expired_api_key")


async def test_suspended_account_is_refused(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    async with app.state.runtime.database.session(write=True) as session:  # before any request
        account = await session.scalar(select(Account))
        account.status = "suspended"
    response = await _tts(client, {"X-API-Key": api_key})
    assert (response.status_code, response.json()["code"]) == (401, "account_suspended")


async def test_key_without_the_tts_scope_gets_403(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    key = await make_key(scopes=("usage:read",))
    response = await _tts(client, {"X-API-Key": key})
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


async def test_the_raw_key_is_never_stored(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    await _tts(client, {"X-API-Key": api_key})
    secret_part = api_key.removeprefix("sk_live_")
    async with app.state.runtime.database.session() as session:
        for table in ("api_keys", "accounts"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            assert rows
            for row in rows:
                for value in row:
                    assert secret_part not in str(value)
                    assert secret_part[:16] not in str(value)


async def test_use_is_stamped_on_the_key(
    app: Any, client: httpx.AsyncClient, api_key: str, clock: ManualClock
) -> None:
    await _tts(client, {"X-API-Key": api_key})
    async with app.state.runtime.database.session() as session:
        key = await session.scalar(select(ApiKey))
    assert key is not None and key.last_used_at == clock.now()
