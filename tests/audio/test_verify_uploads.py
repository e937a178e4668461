"""Untrusted uploads to /v1/watermark/verify: only audio containers are read, nothing else is
opened, and whatever cannot be read is a 422, never a server error."""

import asyncio
import io
import os
import random
import socket
import struct
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
import soundfile

from tests.servers import free_port

CONTAINERS = ["wav", "mp3", "opus", "aac", "flac"]
SDP = "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio {port} RTP/AVP 0\n"
RTCP_BYE = struct.pack(">BBHII", 0x81, 203, 2, 1, 0)  # "this source is leaving": ends an RTP read


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Reading uploads is the same whatever the database: SQLite is enough here."""
    return sqlite_url


async def _verify(
    client: httpx.AsyncClient, auth: dict[str, str], data: bytes, **form: str
) -> httpx.Response:
    return await client.post(
        "/v1/watermark/verify", files={"file": ("upload.bin", data)}, data=form, headers=auth
    )


def _refused(response: httpx.Response) -> bool:
    return (response.status_code, response.json().get("code")) == (422, "unreadable_audio")


def _udp_sockets() -> set[str]:
    """Inodes of the UDP sockets this process (the server, in these tests) holds open."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed while listing
        if target.startswith("socket:["):
            held.add(target[len("socket:[") : -1])
    udp = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        with open(table) as rows:
            udp |= {row.split()[9] for row in list(rows)[1:]}
    return held & udp


async def _udp_sockets_opened_during(request: asyncio.Task[httpx.Response]) -> set[str]:
    before = _udp_sockets()
    while not request.done():
        opened = _udp_sockets() - before
        if opened:
            return opened
        await asyncio.sleep(0.005)  # polling the request, not waiting out a delay
    return _udp_sockets() - before


def _wav(samples: int = 8000) -> bytes:
    plain = io.BytesIO()
    soundfile.write(plain, np.zeros(samples, dtype=np.float32), 8000, format="WAV")
    return plain.getvalue()


def _wav_with_codec(format_tag: int) -> bytes:
    """A well-formed RIFF/WAVE file whose fmt chunk names a codec no one has heard of."""
    fmt = struct.pack("<HHIIHH", format_tag, 1, 8000, 16000, 2, 16)
    audio = bytes(1600)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"data" + struct.pack("<I", len(audio)) + audio
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _mp4(codec: str) -> bytes:
    """An MP4 with one stream: AAC audio, or (for a file with no audio at all) MPEG-4 video."""
    output = io.BytesIO()
    with av.open(output, "w", format="mp4") as container:
        if codec == "aac":
            stream = container.add_stream("aac", rate=16000, layout="mono")
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate = 16000
        else:
            stream = container.add_stream(codec, rate=10)
            stream.width, stream.height = 64, 64
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return output.getvalue()


async def test_an_sdp_upload_opens_no_sockets(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    port = free_port()
    request = asyncio.create_task(_verify(client, auth, SDP.format(port=port).encode()))
    opened = await asyncio.wait_for(_udp_sockets_opened_during(request), 30)
    if opened:  # a reader waits for RTP forever: say goodbye so the request ends and we can fail
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for target in (port, port + 1):
                sender.sendto(RTCP_BYE, ("127.0.0.1", target))
    response = await asyncio.wait_for(request, 30)
    assert opened == set(), "the server opened UDP sockets for an uploaded SDP description"
    assert _refused(response), response.text
    assert "WAV, MP3, FLAC" in response.json()["detail"]  # says what it does accept


@pytest.mark.parametrize(
    "playlist",
    [
        "ffconcat version 1.0\nfile speech.wav\n",
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\nspeech.wav\n#EXT-X-ENDLIST\n",
    ],
    ids=["ffconcat", "hls"],
)
async def test_playlists_cannot_make_the_server_read_its_files(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    playlist: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # the playlist's relative path is the server's own file
    (tmp_path / "speech.wav").write_bytes(_wav())
    response = await _verify(client, auth, playlist.encode())
    assert _refused(response), response.text


@pytest.mark.parametrize(
    "data",
    [
        _wav_with_codec(0x1234),
        b"",
        _wav()[:40],
        b"ID3\x04\x00\x00\x00\x00\x00\x00",
        random.Random(7).randbytes(4096),
        _mp4("mpeg4"),
    ],
    ids=["unknown-codec-wav", "empty", "truncated-header", "id3-only", "random", "no-audio"],
)
async def test_files_that_cannot_be_read_are_refused_not_server_errors(
    client: httpx.AsyncClient, auth: dict[str, str], data: bytes
) -> None:
    response = await _verify(client, auth, data)
    assert _refused(response), response.text


async def test_every_served_format_truncated_is_refused_or_tampered(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    for audio_format in CONTAINERS:
        speech = await client.post(
            "/v1/tts", json={"text": "Cut short.", "format": audio_format}, headers=auth
        )
        headless = await _verify(client, auth, speech.content[:100])
        assert _refused(headless), (audio_format, headless.text)
        halved = await _verify(client, auth, speech.content[: len(speech.content) // 2])
        assert halved.json()["status"] == "tampered", (audio_format, halved.text)


async def test_mp4_audio_is_read(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    result = (await _verify(client, auth, _mp4("aac"))).json()
    assert (result["status"], result["codec"]) == ("absent", "aac")
    assert "mp4" in result["format"]


async def test_raw_samples_are_read_only_when_named(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    pcm = np.zeros(16000, dtype="<i2").tobytes()
    assert _refused(await _verify(client, auth, pcm))
    result = (await _verify(client, auth, pcm, format="pcm", sample_rate="16000")).json()
    assert (result["status"], result["format"], result["duration_seconds"]) == (
        "absent", "s16le", 1.0,
    )  # fmt: skip
    ulaw = (await _verify(client, auth, b"\xff" * 8000, format="ulaw_8000")).json()
    assert (ulaw["status"], ulaw["codec"], ulaw["duration_seconds"]) == ("absent", "pcm_mulaw", 1.0)
    no_rate = await _verify(client, auth, pcm, format="pcm")
    assert _refused(no_rate) and "sample_rate" in no_rate.json()["detail"]
    unknown = await _verify(client, auth, pcm, format="sdp")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unsupported_format")
