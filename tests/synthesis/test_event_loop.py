"""Inference runs off the event loop: other requests are served while a long text is spoken."""

import asyncio
from typing import Any

import httpx
import pytest

LONG_TEXT = " ".join(
    f"Sentence number {index} is here to keep the voice busy for a little while."
    for index in range(40)
)


@pytest.mark.slow  # a long synthesis
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the loop, not the database
async def test_health_answers_while_a_long_synthesis_runs(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    engine = app.state.runtime.engine
    finished: list[str] = []

    async def long_synthesis() -> httpx.Response:
        response = await client.post("/v1/tts", json={"text": LONG_TEXT}, headers=auth)
        finished.append("tts")
        return response

    synthesis = asyncio.create_task(long_synthesis())

    async def inference_started() -> None:
        while engine.in_flight == 0:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(inference_started(), timeout=30)
    for _ in range(20):
        health = await client.get("/health")
        assert health.status_code == 200
        finished.append("health")

    response = await synthesis
    assert response.status_code == 200
    assert len(LONG_TEXT) < 5000 and int(response.headers["x-audio-duration-ms"]) > 60_000
    assert finished == ["health"] * 20 + ["tts"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_health_answers_while_a_long_text_is_being_read(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """Reading a job's 100,000 characters of digits took minutes and held the event loop (one
    regular expression retried every digit run from every digit); now it is linear, in a thread."""
    engine = app.state.runtime.engine
    finished: list[str] = []
    before = engine.texts_prepared

    async def admit() -> httpx.Response:
        response = await client.post("/v1/tts/jobs", json={"text": "9" * 100_000}, headers=auth)
        finished.append("job")
        return response

    admission = asyncio.create_task(admit())

    async def reading() -> None:
        while engine.texts_prepared == before:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(reading(), timeout=30)
    assert (await client.get("/health")).status_code == 200
    finished.append("health")
    response = await admission
    assert finished == ["health", "job"]
    assert (response.status_code, response.json()["code"]) == (422, "text_too_long")
    assert response.json()["spoken_characters"] > 200_000  # read out, digit by digit
