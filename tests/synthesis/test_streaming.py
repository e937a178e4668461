"""Streaming over real HTTP: audio flows sentence by sentence, as one seamless container."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import STEADY_VOICE, running_app
from tests.helpers import decode, quota_counters
from tests.servers import LiveServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEN_SENTENCES = " ".join(
    f"This is sentence number {word}, spoken clearly." for word in
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
)  # fmt: skip
RAW = {"pcm": "s16le", "ulaw_8000": "mulaw"}
FRAME = {"wav": 0, "pcm": 0, "ulaw_8000": 0, "mp3": 1152, "opus": 960}  # samples per codec frame


@pytest.fixture
async def served(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    steady_voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> AsyncIterator[tuple[Any, str, dict[str, str]]]:
    settings = make_settings(database_url=sqlite_url, cache_max_bytes=0)  # every request speaks
    async with running_app(settings, steady_voices) as app, LiveServer(app) as server:
        yield app, server.url, {"X-API-Key": await make_key_for(app)}


async def test_the_first_audio_arrives_while_later_sentences_are_still_being_made(
    served: tuple[Any, str, dict[str, str]],
) -> None:
    app, url, auth = served
    engine = app.state.runtime.engine
    before = engine.sentences_spoken
    progress_at_chunk: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        body = {"text": TEN_SENTENCES, "voice": STEADY_VOICE, "format": "pcm"}
        async with client.stream("POST", "/v1/tts/stream", json=body, headers=auth) as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"
            async for _ in response.aiter_bytes():
                progress_at_chunk.append(engine.sentences_spoken - before)
    assert progress_at_chunk[0] < 10  # the first bytes came before the last sentence was made
    assert progress_at_chunk[-1] == 10
    assert progress_at_chunk == sorted(progress_at_chunk)


@pytest.mark.slow  # every format, long text
@pytest.mark.parametrize("audio_format", ["wav", "pcm", "mp3", "opus", "ulaw_8000"])
async def test_a_stream_is_one_container_as_long_as_the_whole_file(
    served: tuple[Any, str, dict[str, str]], audio_format: str
) -> None:
    _, url, auth = served
    body = {"text": TEN_SENTENCES, "voice": STEADY_VOICE, "format": audio_format}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        whole = await client.post("/v1/tts", json=body, headers=auth)
        chunks = []
        async with client.stream("POST", "/v1/tts/stream", json=body, headers=auth) as response:
            assert response.headers["content-type"] == whole.headers["content-type"]
            chunks = [chunk async for chunk in response.aiter_bytes()]
    streamed = b"".join(chunks)
    rate = int(whole.headers["x-sample-rate"])
    if audio_format == "wav":
        assert streamed.count(b"RIFF") == 1 and streamed.count(b"WAVEfmt ") == 1
        assert streamed[4:8] == b"\xff\xff\xff\xff"  # length unknown while streaming
    a = decode(whole.content, raw=RAW.get(audio_format), rate=rate)
    b = decode(streamed, raw=RAW.get(audio_format), rate=rate)
    assert a.sample_rate == b.sample_rate == rate
    tolerance = max(FRAME[audio_format] * 10, 1)  # at most a codec frame per sentence
    assert abs(len(a.samples) - len(b.samples)) <= tolerance
    if FRAME[audio_format] == 0:  # lossless: the very same samples, seams included
        assert np.max(np.abs(a.samples - b.samples)) < 1e-3
    else:  # lossy: the same sound (after the encoder's start-up delay), seams included
        assert _aligned_correlation(a.samples, b.samples, max_lag=4 * FRAME[audio_format]) > 0.95


async def test_a_complete_stream_is_charged_what_it_spoke(
    served: tuple[Any, str, dict[str, str]],
) -> None:
    app, url, auth = served
    body = {"text": TEN_SENTENCES, "voice": STEADY_VOICE, "format": "pcm"}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.post("/v1/tts/stream", json=body, headers=auth)
    spoken_ms = round(len(response.content) / 2 / 22050 * 1000)
    chars, audio_ms = await quota_counters(app)
    assert chars == len(TEN_SENTENCES)  # billed as sent
    assert abs(audio_ms - spoken_ms) <= 2


async def test_a_client_that_hangs_up_stops_synthesis_and_pays_for_what_it_got(
    served: tuple[Any, str, dict[str, str]],
) -> None:
    app, url, auth = served
    engine = app.state.runtime.engine
    long_text = " ".join([TEN_SENTENCES] * 4)
    before = engine.sentences_spoken
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        body = {"text": long_text, "voice": STEADY_VOICE, "format": "pcm"}
        async with client.stream("POST", "/v1/tts/stream", json=body, headers=auth) as response:
            async for _ in response.aiter_bytes():
                break  # hang up after the first sentence
    total = len(long_text)

    async def settled() -> tuple[int, int]:
        while True:
            chars, audio_ms = await quota_counters(app)
            if chars < total and engine.in_flight == 0:
                return chars, audio_ms
            await asyncio.sleep(0.05)

    chars, audio_ms = await asyncio.wait_for(settled(), 10)
    spoken = engine.sentences_spoken - before
    assert spoken < 40  # it stopped, long before the end
    assert 0 < chars < total and audio_ms > 0
    assert chars <= total * (spoken + 1) // 40  # what its sentences stand for, no more
    assert await quota_counters(app) == (chars, audio_ms)  # and nothing more is charged later
    assert engine.sentences_spoken - before == spoken  # the voice is idle: no sentence since


async def test_stream_refusals_are_plain_json_errors(
    served: tuple[Any, str, dict[str, str]],
) -> None:
    _, url, auth = served
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        bad = await client.post("/v1/tts/stream", json={"text": "", "format": "mp3"}, headers=auth)
        assert (bad.status_code, bad.json()["code"]) == (422, "empty_text")
        anonymous = await client.post("/v1/tts/stream", json={"text": "Hi."})
        assert anonymous.status_code == 401


def _aligned_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """Correlation of two decodings after delaying `a` by the lag that best lines them up
    (a stream has no room for the encoder-delay note that a finished file carries)."""
    middle = min(len(a), len(b)) // 2
    probe = a[middle : middle + 8000]
    lag = max(
        range(-max_lag, max_lag + 1),
        key=lambda lag: float(np.dot(probe, b[middle + lag : middle + lag + len(probe)])),
    )
    x, y = (a, b[lag:]) if lag >= 0 else (a[-lag:], b)
    n = min(len(x), len(y))
    return float(np.corrcoef(x[:n], y[:n])[0, 1])
