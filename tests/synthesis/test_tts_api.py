"""POST /v1/tts and GET /v1/voices as a client sees them."""

import time
from typing import Any

import httpx
import pytest

from tests.helpers import decode_wav, quota_counters, transcribe, word_recall
from vocalis.engine.text import normalize


async def test_voices_are_listed_publicly(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/voices")
    assert response.status_code == 200
    body = response.json()
    assert body["default"] == "en_US-joe-medium"
    assert body["voices"] == [
        {
            "id": "en_US-joe-medium",
            "name": "Joe",
            "language": "en_US",
            "gender": "male",
            "sample_rate": 22050,
            "backend": "piper",
            "quality": "medium",
        }
    ]


async def test_tts_returns_a_wav_of_the_spoken_text(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    text = "Please call me tomorrow morning about the weather report."
    response = await client.post("/v1/tts", json={"text": text}, headers=auth)

    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    audio = decode_wav(response.content)
    assert (audio.sample_rate, audio.channels, audio.subtype) == (22050, 1, "PCM_16")
    assert 1.5 < audio.duration < 6.0
    assert audio.rms > 0.02
    assert int(response.headers["x-audio-duration-ms"]) == round(audio.duration * 1000)
    assert word_recall(text, transcribe(audio.samples, audio.sample_rate)) >= 0.75


async def test_headers_report_the_characters_sent_and_the_timing(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    text = "I paid $3.50 on 12 March 2024."  # 30 characters sent, 81 read out
    sent = time.perf_counter()
    response = await client.post(
        "/v1/tts", json={"text": text, "voice": "en_US-joe-medium"}, headers=auth
    )
    elapsed_ms = (time.perf_counter() - sent) * 1000
    assert response.status_code == 200
    assert int(response.headers["x-characters"]) == len(text) < len(normalize(text, "en_US"))
    assert (await quota_counters(app))[0] == len(text)  # billed as sent, not as read out
    assert 0 < int(response.headers["x-processing-time-ms"]) <= elapsed_ms + 1
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-voice"] == "en_US-joe-medium"
    heard = transcribe(*_samples(response))
    assert word_recall("three dollars and fifty cents", heard) >= 0.8


async def test_speed_scales_the_length_in_proportion(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    text = "The weather will be sunny. A light breeze comes in from the west."
    durations = {}
    for speed in (0.25, 0.5, 1.0, 2.0, 4.0):
        response = await client.post("/v1/tts", json={"text": text, "speed": speed}, headers=auth)
        assert response.status_code == 200
        durations[speed] = decode_wav(response.content).duration
    for speed, duration in durations.items():  # pauses included: the whole file scales
        assert duration * speed == pytest.approx(durations[1.0], rel=0.1), (speed, durations)


def _samples(response: Any) -> tuple[Any, int]:
    audio = decode_wav(response.content)
    return audio.samples, audio.sample_rate
