"""The response cache: identical requests are answered from disk, byte for byte."""

import shutil
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

BASE = {"text": "The cache remembers this sentence.", "format": "wav"}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_a_repeat_is_a_hit_with_identical_bytes_and_still_counts(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    first = await client.post("/v1/tts", json=BASE, headers=auth)
    after_first = await quota_counters(app)
    again = await client.post("/v1/tts", json=BASE, headers=auth)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
    assert again.content == first.content
    assert again.headers["x-audio-duration-ms"] == first.headers["x-audio-duration-ms"]
    chars, audio_ms = await quota_counters(app)
    assert (chars, audio_ms) == (2 * after_first[0], 2 * after_first[1])  # hits count by default
    logs = (await client.get("/v1/usage/logs", headers=auth)).json()["data"]
    assert [entry["cache_hit"] for entry in logs] == [True, False]


@pytest.mark.parametrize(
    "change",
    [
        {"text": "The cache remembers this other sentence."},
        {"speed": 1.25},
        {"format": "flac"},
        {"sample_rate": 16000},
        {"voice": "en_US-steady-medium"},
    ],
)
async def test_changing_any_part_of_the_request_is_a_miss(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    steady_voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    change: dict[str, Any],
) -> None:
    async with running_app(make_settings(database_url=sqlite_url), steady_voices) as app:
        async with client_for(app) as client:
            auth = {"X-API-Key": await make_key_for(app)}
            assert (await client.post("/v1/tts", json=BASE, headers=auth)).headers[
                "x-cache"
            ] == "MISS"
            changed = await client.post("/v1/tts", json=BASE | change, headers=auth)
            assert changed.status_code == 200
            assert changed.headers["x-cache"] == "MISS"


async def test_the_byte_budget_evicts_the_least_recently_used(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    texts = [f"Entry number {word} of the cache." for word in ("one", "two", "three")]
    settings = make_settings(database_url=sqlite_url, cache_max_bytes=200_000)  # ~ two entries
    async with running_app(settings, voices) as app, client_for(app) as client:
        auth = {"X-API-Key": await make_key_for(app)}
        sizes = []
        for text in texts[:2]:
            response = await client.post("/v1/tts", json={"text": text}, headers=auth)
            sizes.append(len(response.content))
        assert sum(sizes) < 200_000 < sum(sizes) * 3 / 2  # two fit, three do not
        hit = await client.post("/v1/tts", json={"text": texts[0]}, headers=auth)
        assert hit.headers["x-cache"] == "HIT"  # entry one is now the most recently used
        await client.post("/v1/tts", json={"text": texts[2]}, headers=auth)
        results = {}
        for text in texts:
            results[text] = (
                await client.post("/v1/tts", json={"text": text}, headers=auth)
            ).headers["x-cache"]
        assert results[texts[1]] == "MISS"  # the least recently used went
        assert results[texts[0]] == "HIT"
        cache = app.state.runtime.cache
        assert cache.total_bytes <= 200_000


async def test_the_cache_survives_a_restart_and_can_be_free_of_charge(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    async with running_app(make_settings(database_url=sqlite_url), voices) as app:
        async with client_for(app) as client:
            key = await make_key_for(app)
            first = await client.post("/v1/tts", json=BASE, headers={"X-API-Key": key})
    settings = make_settings(database_url=sqlite_url, cache_hits_count=False)
    async with running_app(settings, voices) as app, client_for(app) as client:
        before = await quota_counters(app)
        again = await client.post("/v1/tts", json=BASE, headers={"X-API-Key": key})
        assert again.headers["x-cache"] == "HIT" and again.content == first.content
        assert await quota_counters(app) == before  # hits are free when configured so


async def test_streams_read_the_cache_but_are_never_stored(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    text = {"text": "Streams only read what files wrote."}
    streamed = await client.post("/v1/tts/stream", json=text, headers=auth)
    assert streamed.headers["x-cache"] == "MISS"
    whole = await client.post("/v1/tts", json=text, headers=auth)
    assert whole.headers["x-cache"] == "MISS"  # the stream left nothing behind
    replayed = await client.post("/v1/tts/stream", json=text, headers=auth)
    assert replayed.headers["x-cache"] == "HIT"
    assert replayed.content == whole.content


@pytest.mark.parametrize("memory_bytes", [16 * 1024 * 1024, 0])
async def test_recent_entries_are_answered_from_memory(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    memory_bytes: int,
) -> None:
    """With the files gone (a disk cleaned under the server), a recently used entry is still a
    hit from memory; without a memory budget it is a miss, synthesized again, never an error."""
    settings = make_settings(database_url=sqlite_url, cache_memory_bytes=memory_bytes)
    async with running_app(settings, voices) as app, client_for(app) as client:
        auth = {"X-API-Key": await make_key_for(app)}
        first = await client.post("/v1/tts", json=BASE, headers=auth)
        shutil.rmtree(settings.storage_path / "cache")
        again = await client.post("/v1/tts", json=BASE, headers=auth)
        assert again.status_code == 200
        if memory_bytes:
            assert again.headers["x-cache"] == "HIT" and again.content == first.content
        else:
            assert again.headers["x-cache"] == "MISS" and again.content[:4] == b"RIFF"
