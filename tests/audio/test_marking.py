"""AI-generated marking: every file says so, and a signed manifest tells untouched from altered."""

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import av
import httpx
import numpy as np
import pytest
import soundfile

from tests.conftest import client_for, running_app
from tests.helpers import decode
from vocalis.audio.encoders import FileEncoder, inspect, retag
from vocalis.audio.formats import AudioFormat
from vocalis.audio.marking import NOTICE, Marker, ai_tags
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

TEXT = "This voice was made by a machine. It says so in every file it makes."
CONTAINERS = ["wav", "mp3", "opus", "aac", "flac"]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Formats are the engine's business, not the database's: SQLite is enough here."""
    return sqlite_url


async def _speak(client: httpx.AsyncClient, auth: dict[str, str], audio_format: str) -> bytes:
    response = await client.post(
        "/v1/tts", json={"text": TEXT, "format": audio_format}, headers=auth
    )
    assert response.status_code == 200
    return response.content


async def _verify(client: httpx.AsyncClient, auth: dict[str, str], data: bytes) -> httpx.Response:
    return await client.post(
        "/v1/watermark/verify", files={"file": ("upload.bin", data)}, headers=auth
    )


@pytest.mark.parametrize("audio_format", CONTAINERS)
async def test_every_file_carries_the_marking_and_verifies(
    client: httpx.AsyncClient, auth: dict[str, str], audio_format: str
) -> None:
    data = await _speak(client, auth, audio_format)
    tags = inspect(data).tags
    assert NOTICE in tags["comment"]  # the human- and machine-readable notice, in the container
    if audio_format != "wav":  # WAV's INFO chunk only has fixed fields: the comment carries it all
        assert tags["ai_generated"] == "true"
        assert tags["digital_source_type"].endswith("trainedAlgorithmicMedia")
    result = (await _verify(client, auth, data)).json()
    assert result["status"] == "valid", result
    assert result["ai_generated"] is True
    assert result["manifest"]["voice"] == "en_US-joe-medium"
    assert result["manifest"]["generator"] == "Vocalis"
    assert "account" not in str(result["manifest"]) and "key_" not in str(result["manifest"])


@pytest.mark.parametrize("audio_format", ["mp3", "opus", "aac"])
async def test_a_file_encoded_sentence_by_sentence_is_one_whole(
    client: httpx.AsyncClient, auth: dict[str, str], audio_format: str
) -> None:
    """Each sentence is encoded while the next is spoken, yet the file is one stream that
    lasts as long as the audio it was charged for."""
    response = await client.post(
        "/v1/tts", json={"text": TEXT, "format": audio_format}, headers=auth
    )
    audio = decode(response.content)
    expected = int(response.headers["x-audio-duration-ms"]) / 1000
    assert abs(audio.duration - expected) < 0.02 + 2 * 1152 / audio.sample_rate


@pytest.mark.parametrize(
    ("audio_format", "rate"),
    [("wav", 22050), ("mp3", 8000), ("mp3", 48000), ("opus", 48000), ("aac", 8000),
     ("aac", 48000), ("flac", 44100)],
)  # fmt: skip
def test_the_signed_digest_is_the_one_a_reader_finds(audio_format: str, rate: int) -> None:
    """The digest is taken from the packets as they leave the encoder, before the file exists:
    it must be the one `verify` reads back out of the container, whatever the format and rate."""
    marker = Marker("secret")
    seconds = np.arange(22050, dtype=np.float32) / 22050
    speechlike = 0.3 * np.sin(2 * np.pi * 180 * seconds) * np.sin(2 * np.pi * 3 * seconds)
    encoder = FileEncoder(AudioFormat(audio_format), 22050, rate)
    for sentence in np.array_split(speechlike, 3):
        encoder.write(sentence)
    data = encoder.finish(
        lambda digest: marker.signed_tags(digest, voice="v", created=datetime.now(UTC))
    )
    verdict = marker.verify(data)
    assert verdict.status == "valid", verdict.detail
    assert verdict.inspection.sample_rate == rate


async def test_changing_one_sample_is_tampering(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    data = bytearray(await _speak(client, auth, "wav"))
    sample = data.find(b"data") + 8 + 2 * 5000  # the 5000th sample of the data chunk
    data[sample] ^= 0x01
    result = (await _verify(client, auth, bytes(data))).json()
    assert result["status"] == "tampered"
    assert "audio was changed" in result["detail"]


async def test_a_forged_manifest_is_tampering(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    data = await _speak(client, auth, "flac")
    tags = inspect(data).tags
    forged = tags["vocalis_manifest"].replace('"en_US-joe-medium"', '"someone-else"')
    altered = retag(
        data, AudioFormat.FLAC, lambda _: {"comment": NOTICE, "vocalis_manifest": forged}
    )
    result = (await _verify(client, auth, altered)).json()
    assert result["status"] == "tampered"
    assert "manifest" in result["detail"]


async def test_plain_and_re_encoded_files_have_no_manifest(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    plain = io.BytesIO()
    soundfile.write(plain, np.zeros(8000, dtype=np.float32), 8000, format="WAV")
    result = (await _verify(client, auth, plain.getvalue())).json()
    assert (result["status"], result["ai_generated"]) == ("absent", False)

    marked = await _speak(client, auth, "mp3")
    audio = decode(marked)
    reencoded = io.BytesIO()
    with av.open(reencoded, "w", format="wav") as container:  # what an editor's "export" does
        stream = container.add_stream("pcm_s16le", rate=audio.sample_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            (audio.samples * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = audio.sample_rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    result = (await _verify(client, auth, reencoded.getvalue())).json()
    assert result["status"] == "absent"


async def test_re_encoding_that_keeps_the_tags_reads_tampered(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """What `ffmpeg -i marked.mp3 out.mp3` does: new audio packets, the old tags copied along."""
    marked = await _speak(client, auth, "mp3")
    reencoded = io.BytesIO()
    with av.open(io.BytesIO(marked)) as source, av.open(reencoded, "w", format="mp3") as target:
        original = source.streams.audio[0]
        target.metadata.update(source.metadata)
        stream = target.add_stream("libmp3lame", rate=original.codec_context.sample_rate)
        for frame in source.decode(original):
            frame.pts = None
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    result = (await _verify(client, auth, reencoded.getvalue())).json()
    assert result["status"] == "tampered"
    assert "re-encoded" in result["detail"]
    assert result["ai_generated"] is True  # the notice survives, with the manifest it came with


async def test_an_absurdly_nested_manifest_is_tampering_not_a_crash(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    data = await _speak(client, auth, "flac")
    nested = "[" * 100_000 + "]" * 100_000
    altered = retag(data, AudioFormat.FLAC, lambda _: {"vocalis_manifest": nested})
    response = await _verify(client, auth, altered)
    assert response.status_code == 200
    assert response.json()["status"] == "tampered"


async def test_raw_formats_say_it_in_the_headers(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/v1/tts", json={"text": TEXT, "format": "pcm"}, headers=auth)
    assert response.headers["x-ai-generated"] == "true"
    result = (await _verify(client, auth, b"\x00\x01" * 100)).json()
    assert result["code"] == "unreadable_audio"


async def test_verification_needs_a_key_and_bounds_the_upload(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    settings = make_settings(database_url=sqlite_url, max_upload_bytes=64 * 1024)
    async with running_app(settings, voices) as app, client_for(app) as client:
        auth = {"X-API-Key": await make_key_for(app)}
        anonymous = await client.post("/v1/watermark/verify", files={"file": ("a.wav", b"x")})
        assert anonymous.status_code == 401
        big = await _verify(client, auth, b"\x00" * (65 * 1024))
        assert (big.status_code, big.json()["code"]) == (413, "payload_too_large")
        small = await _verify(client, auth, await _speak(client, auth, "mp3"))
        assert small.json()["status"] == "valid"


def test_tags_without_a_manifest_only_declare_ai() -> None:
    assert ai_tags()["comment"] == NOTICE
    assert "vocalis_manifest" not in ai_tags()
