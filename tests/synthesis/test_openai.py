"""The official `openai` SDK, pointed at Vocalis, works unchanged."""

import asyncio
import base64
import io
import json
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

import av
import httpx
import openai
import pytest

from tests.conftest import STEADY_VOICE, running_app
from tests.helpers import decode, quota_counters, transcribe, word_recall
from tests.servers import LiveServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEXT = "Please call me tomorrow morning about the weather report."
UNKNOWN_SIZE = 0xFFFFFFFF  # what a WAV header says when the length is not known yet


@pytest.fixture
async def live(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    steady_voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> AsyncIterator[tuple[Any, LiveServer, str]]:
    settings = make_settings(database_url=sqlite_url, openai_voices={"nova": STEADY_VOICE})
    async with running_app(settings, steady_voices) as app, LiveServer(app) as server:
        yield app, server, await make_key_for(app)


@pytest.fixture
def served(live: tuple[Any, LiveServer, str]) -> tuple[str, str]:
    _, server, key = live
    return f"{server.url}/v1", key


def _plausible(audio: Any) -> None:
    assert 2.0 < audio.duration < 6.0
    assert audio.rms > 0.02


def _wav_sizes(content: bytes) -> tuple[int, dict[bytes, int], int]:
    """The RIFF size, each chunk's declared size, and where a reader walking the chunks by
    those sizes ends up (it stops at a size that says "unknown")."""
    assert content[:4] == b"RIFF" and content[8:12] == b"WAVE"
    (riff,) = struct.unpack_from("<I", content, 4)
    chunks: dict[bytes, int] = {}
    offset = 12
    while offset + 8 <= len(content):
        kind, size = struct.unpack_from("<4sI", content, offset)
        chunks[kind] = size
        if size == UNKNOWN_SIZE:
            break
        offset += 8 + size + size % 2  # chunks are padded to an even length
    return riff, chunks, offset


def _container(content: bytes) -> tuple[str, str]:
    """(container, codec) as FFmpeg reads the bytes, guessing nothing from us."""
    with av.open(io.BytesIO(content)) as container:
        return container.format.name, container.streams.audio[0].codec_context.name


async def _verify(base_url: str, key: str, content: bytes) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{base_url}/watermark/verify",
            files={"file": ("speech", content)},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow  # every format through the SDK
@pytest.mark.parametrize("response_format", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
async def test_the_sdk_creates_speech_in_every_format(
    served: tuple[str, str], response_format: str
) -> None:
    base_url, key = served

    def create() -> bytes:  # the synchronous client, exactly as OpenAI's docs show it
        client = openai.OpenAI(base_url=base_url, api_key=key)
        speech = client.audio.speech.create(
            model="tts-1",
            voice="alloy",
            input=TEXT,
            response_format=response_format,  # type: ignore[arg-type]
        )
        return speech.content

    content = await asyncio.to_thread(create)
    if response_format == "pcm":  # OpenAI's raw PCM: 24 kHz, 16-bit little-endian, mono
        audio = decode(content, raw="s16le", rate=24000)
    else:
        audio = decode(content)
    _plausible(audio)
    assert word_recall(TEXT, transcribe(audio.samples, audio.sample_rate)) >= 0.6


async def test_by_default_the_answer_is_mp3_as_at_openai(served: tuple[str, str]) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
    raw = await client.audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input=TEXT
    )
    assert raw.headers["content-type"] == "audio/mpeg"
    container, codec = _container(raw.content)
    assert container == "mp3" and codec.startswith("mp3")  # MPEG audio, not just labelled so
    _plausible(decode(raw.content))


@pytest.mark.parametrize("response_format", ["wav", "mp3"])
async def test_the_sdk_gets_a_complete_signed_file_that_is_cached(
    served: tuple[str, str], response_format: str
) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)

    async def create() -> Any:  # the SDK's default call: no stream_format
        return await client.audio.speech.with_raw_response.create(
            model="tts-1",
            voice="alloy",
            input=TEXT,
            response_format=response_format,  # type: ignore[arg-type]
        )

    first = await create()
    content = first.content
    assert int(first.headers["content-length"]) == len(content)
    assert "transfer-encoding" not in first.headers  # sent whole, not chunked
    assert int(first.headers["x-characters"]) == len(TEXT)
    assert first.headers["x-cache"] == "MISS"
    audio = decode(content)
    _plausible(audio)
    assert int(first.headers["x-audio-duration-ms"]) == pytest.approx(audio.duration * 1000, abs=30)
    if response_format == "wav":  # sizes a player can trust, not the streaming sentinel
        riff, chunks, end = _wav_sizes(content)
        assert riff == len(content) - 8
        assert chunks[b"data"] != UNKNOWN_SIZE and end == len(content)
        rate = int(first.headers["x-sample-rate"])
        samples = chunks[b"data"] / 2  # 16-bit mono
        assert samples / rate * 1000 == pytest.approx(
            int(first.headers["x-audio-duration-ms"]), abs=1
        )

    again = await create()
    assert again.headers["x-cache"] == "HIT"
    assert again.content == content

    verdict = await _verify(base_url, key, content)
    assert (verdict["status"], verdict["ai_generated"]) == ("valid", True)


async def test_pcm_is_24_khz_as_the_answer_itself_shows(served: tuple[str, str]) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
    raw = await client.audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="pcm"
    )
    assert raw.headers["x-sample-rate"] == "24000"
    assert raw.headers["x-sample-format"] == "s16le"
    duration_ms = int(raw.headers["x-audio-duration-ms"])  # measured before resampling
    samples = len(raw.content) // 2
    assert samples / 24000 * 1000 == pytest.approx(duration_ms, abs=1)
    assert duration_ms > 2000


async def test_the_sdk_streams_when_asked_to(served: tuple[str, str]) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="nova", input=TEXT, response_format="wav",
        instructions="Speak in a cheerful tone.", stream_format="audio",
    ) as response:  # fmt: skip
        assert response.headers["x-voice"] == STEADY_VOICE  # nova is mapped to this voice
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        chunks = [chunk async for chunk in response.iter_bytes()]
    streamed = b"".join(chunks)
    riff, sizes, _ = _wav_sizes(streamed)
    assert riff == sizes[b"data"] == UNKNOWN_SIZE  # a stream header: sizes not known yet
    _plausible(decode(streamed))


async def test_server_sent_events_carry_base64_audio_then_done(served: tuple[str, str]) -> None:
    base_url, key = served
    body = {
        "model": "tts-1",
        "voice": "alloy",
        "input": TEXT,
        "response_format": "mp3",
        "stream_format": "sse",
    }
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{base_url}/audio/speech", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    deltas, done = events[:-1], events[-1]
    assert deltas and all(event["type"] == "speech.audio.delta" for event in deltas)
    assert done["type"] == "speech.audio.done"
    assert done["usage"]["input_tokens"] == len(TEXT)
    audio = decode(b"".join(base64.b64decode(event["audio"]) for event in deltas))
    _plausible(audio)


async def test_models_are_listed(served: tuple[str, str]) -> None:
    base_url, key = served
    models = await openai.AsyncOpenAI(base_url=base_url, api_key=key).models.list()
    assert {model.id for model in models.data} >= {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"}


async def test_a_model_is_retrieved_and_an_unknown_one_is_not_found(
    served: tuple[str, str],
) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    model = await client.models.retrieve("tts-1")
    assert (model.id, model.object) == ("tts-1", "model")
    assert model.created > 0 and model.owned_by
    with pytest.raises(openai.NotFoundError) as raised:
        await client.models.retrieve("tts-9")
    error = raised.value.body
    assert isinstance(error, dict)
    assert (error["type"], error["code"]) == ("invalid_request_error", "model_not_found")
    assert "tts-9" in error["message"] and "param" in error


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"response_format": "ogg"}, "response_format", "unsupported_format"),
        ({"speed": 4.5}, "speed", "invalid_value"),
        ({"speed": 0.1}, "speed", "invalid_value"),
        ({"input": ""}, "input", "empty_text"),
        ({"input": "x" * 5001}, "input", "text_too_long"),
        ({"voice": "nobody"}, "voice", "unknown_voice"),
        ({"model": "tts-9"}, "model", "unknown_model"),
    ],
)
async def test_bad_requests_get_openai_shaped_errors(
    served: tuple[str, str], changes: dict[str, Any], param: str, code: str
) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    request = {"model": "tts-1", "voice": "alloy", "input": TEXT, **changes}
    with pytest.raises(openai.BadRequestError) as raised:
        await client.audio.speech.create(**request)
    error = raised.value.body
    assert isinstance(error, dict)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert error["message"]
    assert raised.value.status_code == 400


async def test_a_bad_key_is_an_authentication_error(served: tuple[str, str]) -> None:
    base_url, _ = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-not-a-vocalis-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        await client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT)
    assert raised.value.body["code"] == "invalid_api_key"  # type: ignore[index]


async def test_a_body_that_is_not_even_text_gets_an_openai_shaped_error(
    served: tuple[str, str],
) -> None:
    base_url, key = served
    body = b'{"model": "tts-1", "voice": "alloy", "input": "caf\xe9"}'  # Latin-1, not UTF-8
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{base_url}/audio/speech",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert response.status_code == 400
    error = response.json()["error"]  # what the SDK reads into openai.BadRequestError
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error", None, "invalid_json",
    )  # fmt: skip
    assert error["message"]


LONG_TEXT = " ".join(
    f"Sentence number {index} keeps the voice busy for a little while." for index in range(40)
)


async def test_a_client_that_hangs_up_on_a_file_stops_synthesis_and_is_refunded(
    live: tuple[Any, LiveServer, str],
) -> None:
    app, server, key = live
    engine = app.state.runtime.engine
    before = engine.sentences_spoken
    body = json.dumps({"model": "tts-1", "voice": "alloy", "input": LONG_TEXT}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()

    async def synthesizing() -> None:
        while engine.in_flight == 0:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(synthesizing(), 30)
    assert (await quota_counters(app))[0] == len(LONG_TEXT)  # reserved while it speaks
    writer.close()  # hang up before the file is ready
    await writer.wait_closed()
    del reader

    async def refunded_and_idle() -> None:
        while await quota_counters(app) != (0, 0) or engine.in_flight:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(refunded_and_idle(), 30)
    spoken = engine.sentences_spoken - before
    assert spoken < 40 // 4  # it stopped at the sentence it was on, long before the end
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        logs = await http.get("/v1/usage/logs", headers={"Authorization": f"Bearer {key}"})
    (event,) = [event for event in logs.json()["data"] if event["endpoint"] == "/v1/audio/speech"]
    assert (event["status_code"], event["outcome"]) == (499, "canceled")
    assert (event["characters"], event["audio_ms"]) == (0, 0)
    assert await quota_counters(app) == (0, 0)
    assert engine.sentences_spoken - before == spoken  # and nothing was synthesized since
