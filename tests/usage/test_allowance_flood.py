"""The audio-seconds allowance holds on every way in, however many requests arrive at once.

Each request reserves an estimate of its audio that errs long, and settles at the real length;
so 40 requests at once against a 30-second allowance may take the account past the limit by no
more than one request's audio — on the synchronous, streaming and OpenAI routes, for jobs and for
batches alike.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters, wait_for_job
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import Clock

pytestmark = pytest.mark.slow  # forty syntheses at once

ALLOWANCE_SECONDS = 30
REQUESTS = 40
WORDS = "one two three four five six seven eight nine ten eleven twelve".split()


def _text(index: int) -> str:
    """Different each time (the cache must not answer); short sentences, so the silence around
    and between them is a good part of the audio (an estimate from the characters alone would
    fall a quarter short)."""
    return f"Call me. At {WORDS[index % 12]}. On day {index}."


Send = Callable[[httpx.AsyncClient, dict[str, str], int], Awaitable[tuple[int, int]]]


async def _sync(client: httpx.AsyncClient, auth: dict[str, str], index: int) -> tuple[int, int]:
    response = await client.post("/v1/tts", json={"text": _text(index)}, headers=auth)
    return response.status_code, int(response.headers.get("x-audio-duration-ms", 0))


async def _stream(client: httpx.AsyncClient, auth: dict[str, str], index: int) -> tuple[int, int]:
    body = {"text": _text(index), "format": "pcm"}
    response = await client.post("/v1/tts/stream", json=body, headers=auth)
    return response.status_code, round(len(response.content) / 2 / 22050 * 1000)


async def _openai(client: httpx.AsyncClient, auth: dict[str, str], index: int) -> tuple[int, int]:
    body = {"model": "tts-1", "voice": "alloy", "input": _text(index), "response_format": "wav"}
    response = await client.post("/v1/audio/speech", json=body, headers=auth)
    return response.status_code, int(response.headers.get("x-audio-duration-ms", 0))


async def _openai_stream(
    client: httpx.AsyncClient, auth: dict[str, str], index: int
) -> tuple[int, int]:
    body = {
        "model": "tts-1",
        "voice": "alloy",
        "input": _text(index),
        "response_format": "pcm",
        "stream_format": "audio",
    }
    response = await client.post("/v1/audio/speech", json=body, headers=auth)
    return response.status_code, round(len(response.content) / 2 / 24000 * 1000)


async def _job(client: httpx.AsyncClient, auth: dict[str, str], index: int) -> tuple[int, int]:
    response = await client.post("/v1/tts/jobs", json={"text": _text(index)}, headers=auth)
    return await _finished(client, auth, response)


async def _batch(client: httpx.AsyncClient, auth: dict[str, str], index: int) -> tuple[int, int]:
    items = [{"text": _text(index)}, {"text": _text(index + REQUESTS)}]
    response = await client.post("/v1/tts/batch", json={"items": items}, headers=auth)
    return await _finished(client, auth, response)


async def _finished(
    client: httpx.AsyncClient, auth: dict[str, str], response: httpx.Response
) -> tuple[int, int]:
    if response.status_code != 202:
        return response.status_code, 0
    job = await wait_for_job(client, response.json()["job_id"], auth, {"succeeded", "failed"})
    assert job["status"] == "succeeded", job
    return 200, round(job["audio_seconds"] * 1000)


PATHS: dict[str, Send] = {
    "tts": _sync,
    "stream": _stream,
    "openai": _openai,
    "openai-stream": _openai_stream,
    "jobs": _job,
    "batch": _batch,
}


@pytest.fixture
async def flooded_app(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> AsyncIterator[Any]:
    settings = make_settings(
        database_url=database_url,
        cache_max_bytes=0,
        max_jobs_per_key=REQUESTS,
        worker_poll_seconds=0.05,
    )
    async with running_app(settings, voices, Clock()) as app:
        yield app


@pytest.mark.parametrize("path", list(PATHS))
async def test_forty_requests_at_once_stay_within_the_seconds_allowance(
    flooded_app: Any, make_key_for: Callable[..., Any], path: str
) -> None:
    auth = {"X-API-Key": await make_key_for(flooded_app, seconds_limit=ALLOWANCE_SECONDS)}
    send = PATHS[path]
    async with client_for(flooded_app) as client:
        results = await asyncio.gather(*(send(client, auth, i) for i in range(REQUESTS)))

    statuses = [status for status, _ in results]
    assert set(statuses) == {200, 429}, statuses  # the allowance ran out, and it was hit
    durations = [audio_ms for status, audio_ms in results if status == 200]
    _, audio_ms_used = await quota_counters(flooded_app)
    assert audio_ms_used <= ALLOWANCE_SECONDS * 1000 + max(durations)
    assert audio_ms_used == pytest.approx(sum(durations), abs=10 * len(durations))
