"""Every output format, at the voice's rate or a chosen one, decodes to the speech asked for."""

import httpx
import pytest

from tests.helpers import decode, transcribe, word_recall

TEXT = "Please call me tomorrow morning about the weather report."
RAW = {"pcm": "s16le", "ulaw_8000": "mulaw", "alaw_8000": "alaw"}
CASES = [
    # format, content type, rate when none is asked for
    ("wav", "audio/wav", 22050),
    ("mp3", "audio/mpeg", 22050),
    ("opus", "audio/ogg", 48000),  # what every Opus decoder plays
    ("aac", "audio/aac", 22050),
    ("flac", "audio/flac", 22050),
    ("pcm", "audio/pcm", 22050),
    ("ulaw_8000", "audio/basic", 8000),
    ("alaw_8000", "audio/x-alaw-basic", 8000),
]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Formats are the engine's business, not the database's: SQLite is enough here."""
    return sqlite_url


@pytest.mark.parametrize(("audio_format", "media_type", "rate"), CASES)
async def test_each_format_decodes_to_the_speech(
    client: httpx.AsyncClient, auth: dict[str, str], audio_format: str, media_type: str, rate: int
) -> None:
    response = await client.post(
        "/v1/tts", json={"text": TEXT, "format": audio_format}, headers=auth
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["x-sample-rate"] == str(rate)
    assert response.headers["x-ai-generated"] == "true"
    audio = decode(response.content, raw=RAW.get(audio_format), rate=rate)
    assert audio.sample_rate == rate
    expected = int(response.headers["x-audio-duration-ms"]) / 1000
    assert abs(audio.duration - expected) < _padding(rate)
    assert audio.rms > 0.02
    assert word_recall(TEXT, transcribe(audio.samples, audio.sample_rate)) >= 0.6


@pytest.mark.parametrize(
    ("audio_format", "rate"),
    [
        ("wav", 16000),
        ("wav", 44100),
        ("flac", 8000),
        ("mp3", 44100),
        ("opus", 48000),
        ("aac", 16000),
        ("pcm", 24000),
    ],
)
@pytest.mark.slow  # many rates
async def test_a_chosen_sample_rate_is_resampled_properly(
    client: httpx.AsyncClient, auth: dict[str, str], audio_format: str, rate: int
) -> None:
    body = {"text": TEXT, "format": audio_format, "sample_rate": rate}
    response = await client.post("/v1/tts", json=body, headers=auth)
    assert response.status_code == 200, response.text
    audio = decode(response.content, raw=RAW.get(audio_format), rate=rate)
    assert audio.sample_rate == rate
    assert abs(audio.duration - int(response.headers["x-audio-duration-ms"]) / 1000) < _padding(
        rate
    )
    assert word_recall(TEXT, transcribe(audio.samples, audio.sample_rate)) >= 0.6


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"format": "mp3", "sample_rate": 44000}, "unsupported_sample_rate"),
        ({"format": "opus", "sample_rate": 24000}, "unsupported_sample_rate"),
        ({"format": "ulaw_8000", "sample_rate": 16000}, "unsupported_sample_rate"),
        ({"format": "wav", "sample_rate": 7999}, "validation_error"),
        ({"format": "wav", "sample_rate": 96000}, "validation_error"),
        ({"format": "ogg"}, "unsupported_format"),
    ],
)
async def test_impossible_formats_and_rates_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, object], code: str
) -> None:
    response = await client.post("/v1/tts", json={"text": TEXT, **body}, headers=auth)
    assert (response.status_code, response.json()["code"]) == (422, code)


def _padding(rate: int) -> float:
    """Lossy codecs may add up to two frames (start-up delay, last frame filled up)."""
    return 0.02 + 2 * 1152 / rate
