"""A client that hangs up mid-synthesis, over a real socket to a real server: synthesis stops,
the inference slot is freed, and what was not delivered is given back."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import running_app
from tests.helpers import quota_counters
from tests.servers import LiveServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

SENTENCES = 40
LONG_TEXT = " ".join(
    f"Sentence number {index} keeps the voice busy for a little while." for index in range(40)
)


@pytest.fixture
async def served(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> AsyncIterator[tuple[Any, LiveServer, str]]:
    settings = make_settings(database_url=database_url, inference_concurrency=1)
    async with running_app(settings, voices) as app, LiveServer(app) as server:
        yield app, server, await make_key_for(app)


async def _settled(app: Any) -> None:
    engine = app.state.runtime.engine

    async def refunded_and_idle() -> None:
        while await quota_counters(app) != (0, 0) or engine.in_flight:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(refunded_and_idle(), 30)


async def test_a_file_request_abandoned_mid_synthesis_is_stopped_and_refunded(
    served: tuple[Any, LiveServer, str],
) -> None:
    """(The OpenAI route's file answers are tested the same way in test_openai.py.)"""
    app, server, key = served
    path, body = "/v1/tts", {"text": LONG_TEXT}
    engine = app.state.runtime.engine
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    await writer.drain()

    async def speaking() -> None:
        while engine.sentences_spoken == 0:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(speaking(), 30)
    assert (await quota_counters(app))[0] == len(LONG_TEXT)  # reserved while it runs
    writer.close()
    await writer.wait_closed()
    del reader

    await _settled(app)
    spoken = engine.sentences_spoken
    assert spoken < SENTENCES  # it stopped at the next sentence, long before the end
    async with httpx.AsyncClient(base_url=server.url) as client:
        logs = await client.get("/v1/usage/logs", headers={"X-API-Key": key})
    (event,) = [event for event in logs.json()["data"] if event["endpoint"] == path]
    assert (event["status_code"], event["outcome"]) == (499, "canceled")
    assert (event["characters"], event["audio_ms"]) == (0, 0)
    assert engine.sentences_spoken == spoken  # and nothing was synthesized since
