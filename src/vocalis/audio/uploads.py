"""Which FFmpeg demuxer may read an uploaded file: a short allow-list, chosen by magic bytes.

Left to itself, FFmpeg probes unknown bytes with every demuxer it has, and some of those reach
out of the file: an SDP description opens UDP sockets, HLS and concat playlists open other files
on the server. An upload is therefore never probed: its first bytes (or the format the client
names) pick one demuxer from the list below, and it is opened with no protocols allowed, so
nothing it says can make FFmpeg open anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vocalis.kit.errors import InvalidInput

ACCEPTED = (
    "WAV, MP3, FLAC, Ogg (Opus, Vorbis), MP4/M4A and AAC (ADTS); raw pcm, ulaw_8000 and "
    "alaw_8000 when named in the `format` field"
)
NO_PROTOCOLS = {"protocol_whitelist": "none"}  # no protocol has that name: every open is refused
TELEPHONY_RATE = 8000
_ID3_HEADER = 10
_MAX_ID3_TAGS = 4  # a file may carry a few tags in a row; more is not audio


class UnreadableAudio(InvalidInput):
    code = "unreadable_audio"


class UploadFormat(StrEnum):
    """What a client may name in the `format` field; all but the raw three are also
    recognised by their first bytes."""

    WAV = "wav"
    MP3 = "mp3"
    FLAC = "flac"
    OGG = "ogg"
    OPUS = "opus"
    M4A = "m4a"
    AAC = "aac"
    PCM = "pcm"
    ULAW_8000 = "ulaw_8000"
    ALAW_8000 = "alaw_8000"


@dataclass(frozen=True)
class Demuxer:
    """One allow-listed FFmpeg demuxer and the options to open an upload with it."""

    name: str
    options: dict[str, str] = field(default_factory=dict)

    def container_options(self) -> dict[str, str]:
        return {**self.options, **NO_PROTOCOLS}


_DEMUXERS = {
    UploadFormat.WAV: "wav",
    UploadFormat.MP3: "mp3",
    UploadFormat.FLAC: "flac",
    UploadFormat.OGG: "ogg",
    UploadFormat.OPUS: "ogg",
    UploadFormat.M4A: "mp4",  # FFmpeg's mov,mp4,m4a,3gp,3g2,mj2 demuxer
    UploadFormat.AAC: "aac",  # ADTS
    UploadFormat.PCM: "s16le",
    UploadFormat.ULAW_8000: "mulaw",
    UploadFormat.ALAW_8000: "alaw",
}


def demuxer_for(
    data: bytes, named: UploadFormat | None = None, sample_rate: int | None = None
) -> Demuxer:
    """The demuxer for the format the client named, else for the one the bytes show.

    Raw samples have no signature, so they are only read when named; pcm needs its rate.
    Raises UnreadableAudio for anything else."""
    upload_format = named or sniff(data)
    if upload_format is None:
        raise UnreadableAudio(f"not an audio format this server reads: send {ACCEPTED}")
    return Demuxer(_DEMUXERS[upload_format], _raw_options(upload_format, sample_rate))


def sniff(data: bytes) -> UploadFormat | None:
    """Recognise a container by its magic bytes, without handing the data to FFmpeg."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return UploadFormat.WAV
    if data[:4] == b"OggS":
        return UploadFormat.OGG
    if data[4:8] == b"ftyp":
        return UploadFormat.M4A
    start = _after_id3(data)
    if data[start : start + 4] == b"fLaC":
        return UploadFormat.FLAC
    if _is_adts(data, start):
        return UploadFormat.AAC
    if start > 0 or _is_mpeg_audio(data, start):  # an ID3 tag is MP3's own header
        return UploadFormat.MP3
    return None


def _raw_options(upload_format: UploadFormat, sample_rate: int | None) -> dict[str, str]:
    if upload_format in (UploadFormat.ULAW_8000, UploadFormat.ALAW_8000):
        return {"sample_rate": str(TELEPHONY_RATE), "ch_layout": "mono"}
    if upload_format is UploadFormat.PCM:
        if sample_rate is None:
            raise UnreadableAudio("raw pcm has no header: send its `sample_rate` as well")
        return {"sample_rate": str(sample_rate), "ch_layout": "mono"}
    return {}


def _after_id3(data: bytes) -> int:
    """Where the audio starts after any ID3v2 tags (0 when there are none)."""
    offset = 0
    for _ in range(_MAX_ID3_TAGS):
        header = data[offset : offset + _ID3_HEADER]
        if len(header) < _ID3_HEADER or header[:3] != b"ID3":
            break
        size = (header[6] & 0x7F) << 21 | (header[7] & 0x7F) << 14
        size |= (header[8] & 0x7F) << 7 | header[9] & 0x7F  # "syncsafe": 7 bits a byte
        footer = _ID3_HEADER if header[5] & 0x10 else 0
        offset += _ID3_HEADER + size + footer
    return offset


def _is_adts(data: bytes, start: int) -> bool:
    """ADTS frame sync: 12 set bits, MPEG layer 0, a valid sampling-frequency index."""
    head = data[start : start + 3]
    return (
        len(head) == 3
        and head[0] == 0xFF
        and (head[1] & 0xF6) == 0xF0
        and (head[2] >> 2 & 0xF) < 13
    )


def _is_mpeg_audio(data: bytes, start: int) -> bool:
    """MPEG audio frame sync: 11 set bits, a layer, a bit rate and a sample rate that exist."""
    head = data[start : start + 3]
    return (
        len(head) == 3
        and head[0] == 0xFF
        and (head[1] & 0xE0) == 0xE0
        and (head[1] >> 1 & 0x3) != 0
        and (head[2] >> 4) != 0xF
        and (head[2] >> 2 & 0x3) != 0x3
    )
