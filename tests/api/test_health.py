"""Liveness, readiness, request ids and the JSON error contract for routing errors."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from vocalis.app import create_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "storage": "ok", "voices": "ok"},
    }


async def _readyz(settings: Settings, voices: VoiceRegistry) -> httpx.Response:
    app = create_app(settings, registry=voices)
    async with LifespanManager(app):
        await app.state.runtime.engine.wait_ready()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            return await c.get("/readyz")


async def test_not_ready_until_the_database_is_migrated(
    make_settings: Callable[..., Settings], voices: VoiceRegistry, tmp_path: Path
) -> None:
    response = await _readyz(
        make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db"), voices
    )
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["database"].startswith("not migrated")
    assert body["checks"]["voices"] == "ok"
    assert response.headers["retry-after"]


async def test_still_ready_while_a_newer_release_rolls_out(
    make_settings: Callable[..., Settings], voices: VoiceRegistry, sqlite_url: str
) -> None:
    """`vocalis db upgrade` from the next release moves the database past this version's
    newest migration: this process keeps serving (migrations are additive) until replaced,
    rather than every old server leaving the load balancer at once."""
    import sqlite3

    with sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///")) as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    response = await _readyz(make_settings(database_url=sqlite_url), voices)
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_not_ready_when_storage_is_not_writable(
    make_settings: Callable[..., Settings], voices: VoiceRegistry, sqlite_url: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("storage cannot live under a file")
    settings = make_settings(database_url=sqlite_url, storage_path=blocker / "storage")
    response = await _readyz(settings, voices)
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "storage": "not writable",
        "voices": "ok",
    }


async def test_request_ids_are_generated_or_echoed(client: httpx.AsyncClient) -> None:
    generated = (await client.get("/health")).headers["x-request-id"]
    assert generated.startswith("req_") and len(generated) > 10
    assert (await client.get("/health", headers={"X-Request-Id": "abc-123"})).headers[
        "x-request-id"
    ] == "abc-123"
    hostile = (await client.get("/health", headers={"X-Request-Id": "x" * 200})).headers[
        "x-request-id"
    ]
    assert hostile.startswith("req_")


async def test_unknown_routes_and_methods_answer_in_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong_method = await client.get("/v1/tts")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_a_crash_becomes_a_json_500_without_a_trace(
    app: Any, client: httpx.AsyncClient
) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/test-explode", explode)
    response = await client.get("/test-explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "code": "internal_error"}
    assert "secret internals" not in response.text
    assert response.headers["x-request-id"].startswith("req_")


async def test_docs_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/tts" in spec["paths"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
