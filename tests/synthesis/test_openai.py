"""The official `openai` SDK, pointed at Vocalis, works unchanged."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import STEADY_VOICE, running_app
from tests.helpers import decode, transcribe, word_recall
from tests.servers import LiveServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEXT = "Please call me tomorrow morning about the weather report."


@pytest.fixture
async def served(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    steady_voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> AsyncIterator[tuple[str, str]]:
    settings = make_settings(database_url=sqlite_url, openai_voices={"nova": STEADY_VOICE})
    async with running_app(settings, steady_voices) as app, LiveServer(app) as server:
        yield f"{server.url}/v1", await make_key_for(app)


def _plausible(audio: Any) -> None:
    assert 2.0 < audio.duration < 6.0
    assert audio.rms > 0.02


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


async def test_the_sdk_streams_with_streaming_response(served: tuple[str, str]) -> None:
    base_url, key = served
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="nova", input=TEXT, response_format="wav",
        instructions="Speak in a cheerful tone.",
    ) as response:  # fmt: skip
        assert response.headers["x-voice"] == STEADY_VOICE  # nova is mapped to this voice
        chunks = [chunk async for chunk in response.iter_bytes()]
    audio = decode(b"".join(chunks))
    _plausible(audio)


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
