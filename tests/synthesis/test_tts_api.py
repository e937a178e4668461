"""POST /v1/tts and GET /v1/voices as a client sees them."""

from typing import Any

import httpx

from tests.helpers import decode_wav, transcribe, word_recall
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


async def test_headers_report_normalized_characters_and_timing(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    text = "I paid $3.50 on 12 March 2024."
    response = await client.post(
        "/v1/tts", json={"text": text, "voice": "en_US-joe-medium"}, headers=auth
    )
    assert response.status_code == 200
    assert int(response.headers["x-characters"]) == len(normalize(text, "en_US")) > len(text)
    assert int(response.headers["x-processing-time-ms"]) >= 0
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-voice"] == "en_US-joe-medium"
    heard = transcribe(*_samples(response))
    assert word_recall("three dollars and fifty cents", heard) >= 0.8


async def test_speed_changes_the_length(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    text = "The weather will be sunny with a light breeze."
    durations = {}
    for speed in (0.5, 1.0, 2.0):
        response = await client.post("/v1/tts", json={"text": text, "speed": speed}, headers=auth)
        durations[speed] = decode_wav(response.content).duration
    assert durations[0.5] > durations[1.0] * 1.4
    assert durations[2.0] < durations[1.0] * 0.8


def _samples(response: Any) -> tuple[Any, int]:
    audio = decode_wav(response.content)
    return audio.samples, audio.sample_rate
