"""Inputs past what the database can hold, and a database that is gone: 4xx and 503, never 500."""

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from tests.servers import free_port
from vocalis.accounts.keys import generate_api_key
from vocalis.accounts.service import Scope
from vocalis.app import create_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.pagination import MAX_OFFSET

LISTS = (
    "/v1/usage/logs", "/v1/tts/jobs", "/admin/api/accounts", "/admin/api/keys", "/admin/api/audit",
)  # fmt: skip


async def test_every_list_refuses_pages_past_the_database_integer_range(
    client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    key = await make_key("ops@example.com", scopes=tuple(scope.value for scope in Scope))
    headers = {"X-API-Key": key}
    for path in LISTS:
        for query, field in ((f"offset={2**63}", "offset"), (f"offset={10**20}", "offset"),
                             (f"limit={2**63}", "limit")):  # fmt: skip
            response = await client.get(f"{path}?{query}", headers=headers)
            assert response.status_code == 422, (path, query, response.text)
            assert response.json()["code"] == "validation_error"
            assert response.json()["detail"].startswith(f"{field}: ")
        last = await client.get(f"{path}?offset={MAX_OFFSET}", headers=headers)
        assert last.status_code == 200, (path, last.text)
        assert last.json()["data"] == [] and last.json()["offset"] == MAX_OFFSET


@asynccontextmanager
async def _serving(
    settings: Settings, voices: VoiceRegistry
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings, registry=voices)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield app, client


async def _assert_database_unavailable(client: httpx.AsyncClient) -> None:
    headers = {"X-API-Key": generate_api_key()}  # well formed: checking it needs the database
    for response in (
        await client.get("/v1/usage/quota", headers=headers),
        await client.post("/v1/tts", json={"text": "Hello."}, headers=headers),
    ):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "database_unavailable"
        assert response.json()["detail"]
        assert int(response.headers["retry-after"]) > 0
    assert (await client.get("/health")).status_code == 200  # the process itself is fine


async def test_postgresql_that_refuses_connections_answers_503(
    make_settings: Callable[..., Settings], voices: VoiceRegistry
) -> None:
    closed = f"postgresql+asyncpg://vocalis@127.0.0.1:{free_port()}/vocalis"
    settings = make_settings(database_url=closed, worker="external")
    async with _serving(settings, voices) as (_app, client):
        await _assert_database_unavailable(client)


async def test_sqlite_whose_directory_disappeared_answers_503(
    make_settings: Callable[..., Settings], voices: VoiceRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "database"
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{folder}/v.db", worker="external")
    async with _serving(settings, voices) as (app, client):
        while folder.exists():  # (background upkeep may be writing a journal file meanwhile)
            shutil.rmtree(folder, ignore_errors=True)  # created at start: a volume unmounted,
        await app.state.runtime.database.dispose()  # and the connections open on it lost
        await _assert_database_unavailable(client)


async def test_postgresql_that_stops_answering_answers_503(
    make_settings: Callable[..., Settings], voices: VoiceRegistry
) -> None:
    """A host that accepts the connection and then says nothing (a hung server, a black-holed
    route): the driver gives up with a timeout, not a connection error."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; the client gives up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hung = f"postgresql+asyncpg://vocalis@127.0.0.1:{port}/vocalis"
    settings = make_settings(
        database_url=hung, worker="external", database_connect_timeout_seconds=1
    )
    try:
        async with _serving(settings, voices) as (_app, client):
            response = await client.get(
                "/v1/usage/quota", headers={"X-API-Key": generate_api_key()}
            )
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "timed_out"
            assert int(response.headers["retry-after"]) > 0
    finally:
        server.close()
