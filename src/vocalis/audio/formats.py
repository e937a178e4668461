"""The output formats clients can ask for, and what each one needs from the encoder."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vocalis.kit.errors import InvalidInput

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000


class AudioFormat(StrEnum):
    WAV = "wav"
    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    FLAC = "flac"
    PCM = "pcm"
    ULAW_8000 = "ulaw_8000"
    ALAW_8000 = "alaw_8000"

    @property
    def spec(self) -> FormatSpec:
        return SPECS[self]

    @property
    def media_type(self) -> str:
        return SPECS[self].media_type

    @property
    def extension(self) -> str:
        return SPECS[self].extension


@dataclass(frozen=True)
class FormatSpec:
    """How FFmpeg (through PyAV) writes a format.

    `rates` lists the sample rates the codec accepts (None: any from 8 to 48 kHz); `fixed_rate`
    is forced whatever was asked; `container` is False for raw sample streams, which cannot
    hold metadata.
    """

    muxer: str
    codec: str
    sample_format: str
    media_type: str
    extension: str
    rates: tuple[int, ...] | None = None
    fixed_rate: int | None = None
    container: bool = True
    muxer_options: tuple[tuple[str, str], ...] = ()
    bit_rate: int | None = None  # lossy codecs: enough for clear speech in mono


_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

SPECS: dict[AudioFormat, FormatSpec] = {
    AudioFormat.WAV: FormatSpec("wav", "pcm_s16le", "s16", "audio/wav", "wav"),
    AudioFormat.MP3: FormatSpec(
        "mp3", "libmp3lame", "fltp", "audio/mpeg", "mp3", _MP3_RATES, bit_rate=64000
    ),
    AudioFormat.OPUS: FormatSpec(  # Opus decoders always play at 48 kHz
        "ogg", "libopus", "flt", "audio/ogg", "opus", fixed_rate=48000,
        muxer_options=(("page_duration", "20000"),),  # 20 ms pages: streams flow, not burst
        bit_rate=32000,
    ),
    AudioFormat.AAC: FormatSpec(
        "adts", "aac", "fltp", "audio/aac", "aac", _AAC_RATES,
        muxer_options=(("write_id3v2", "1"),),  # ADTS has no tags of its own: an ID3 header does
        bit_rate=64000,
    ),
    AudioFormat.FLAC: FormatSpec("flac", "flac", "s16", "audio/flac", "flac"),
    AudioFormat.PCM: FormatSpec("s16le", "pcm_s16le", "s16", "audio/pcm", "pcm", container=False),
    AudioFormat.ULAW_8000: FormatSpec(
        "mulaw", "pcm_mulaw", "s16", "audio/basic", "ulaw", fixed_rate=8000, container=False
    ),
    AudioFormat.ALAW_8000: FormatSpec(
        "alaw", "pcm_alaw", "s16", "audio/x-alaw-basic", "alaw", fixed_rate=8000, container=False
    ),
}  # fmt: skip


class UnsupportedSampleRate(InvalidInput):
    code = "unsupported_sample_rate"


def output_rate(audio_format: AudioFormat, native_rate: int, requested: int | None) -> int:
    """The rate the file will have: as asked when the codec allows it, else a clear 422.

    Without a request, the voice's own rate is kept when the codec takes it, or the nearest
    higher rate it does take.
    """
    spec = audio_format.spec
    if spec.fixed_rate is not None:
        if requested not in (None, spec.fixed_rate):
            raise UnsupportedSampleRate(
                f"{audio_format.value} is always {spec.fixed_rate} Hz",
                extra={"allowed": [spec.fixed_rate]},
            )
        return spec.fixed_rate
    if requested is None:
        if spec.rates is None or native_rate in spec.rates:
            return native_rate
        return min((rate for rate in spec.rates if rate >= native_rate), default=max(spec.rates))
    if not MIN_SAMPLE_RATE <= requested <= MAX_SAMPLE_RATE:
        raise UnsupportedSampleRate(
            f"sample_rate must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz"
        )
    if spec.rates is not None and requested not in spec.rates:
        allowed = ", ".join(str(rate) for rate in spec.rates)
        raise UnsupportedSampleRate(
            f"{audio_format.value} supports sample rates {allowed} Hz",
            extra={"allowed": list(spec.rates)},
        )
    return requested
