"""Listening to what the server says: decode WAV bytes, measure them, transcribe them."""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import soundfile
import soxr

RECOGNIZER_RATE = 16000


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray
    sample_rate: int
    subtype: str
    channels: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.samples)))) if len(self.samples) else 0.0


def decode(content: bytes, *, raw: str | None = None, rate: int | None = None) -> Decoded:
    """Any format FFmpeg reads (for raw samples give `raw`='s16le'|'mulaw'|'alaw' and `rate`)."""
    import av

    options = {"sample_rate": str(rate), "ch_layout": "mono"} if raw else {}
    with av.open(io.BytesIO(content), format=raw, options=options) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(
            format="flt", layout="mono", rate=stream.codec_context.sample_rate
        )
        parts = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for out in resampler.resample(frame)
        ]
        parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return Decoded(samples, stream.codec_context.sample_rate, stream.codec_context.name, 1)


def decode_wav(content: bytes) -> Decoded:
    info = soundfile.info(io.BytesIO(content))
    samples, rate = soundfile.read(io.BytesIO(content), dtype="float32")
    return Decoded(samples, rate, info.subtype, info.channels)


@cache
def _recognizer():  # noqa: ANN202 - pocketsphinx has no type hints
    from pocketsphinx import Decoder

    return Decoder(samprate=RECOGNIZER_RATE, loglevel="FATAL")


def transcribe(samples: np.ndarray, sample_rate: int) -> str:
    """What an English speech recognizer hears in the audio (PocketSphinx, offline)."""
    audio = soxr.resample(samples, sample_rate, RECOGNIZER_RATE)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
    decoder = _recognizer()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_recall(sent: str, heard: str) -> float:
    """Share of the sent words (with multiplicity) that the recognizer heard."""
    expected, got = Counter(words(sent)), Counter(words(heard))
    return sum((expected & got).values()) / max(1, sum(expected.values()))


class WrappedBackend:
    """A loaded real backend, passed through; subclasses change what `synthesize` does."""

    name = "wrapped"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def voices(self) -> Any:
        return self.inner.voices()

    def load(self, device: Any) -> None:
        pass  # the wrapped backend is already loaded

    def on_gpu(self) -> bool:
        return False

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        return self.inner.synthesize(voice_id, sentence, speed)


class BrokenBackend(WrappedBackend):
    """Voices that exist but whose inference always fails (a crashed runtime)."""

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        raise RuntimeError("inference runtime crashed")


async def quota_counters(app: Any) -> tuple[int, int]:
    """(characters, audio milliseconds) the app's only account has used, or holds reserved."""
    return await charged(app.state.runtime.database)


async def charged(database: Any, *, key_id: str = "") -> tuple[int, int]:
    """What the only account (or, with `key_id`, one key) is charged, reservations included,
    over all its periods."""
    from sqlalchemy import func, select

    from vocalis.usage.models import UsagePeriod

    async with database.session() as session:
        chars, audio_ms = (
            await session.execute(
                select(
                    func.coalesce(func.sum(UsagePeriod.chars_used + UsagePeriod.chars_reserved), 0),
                    func.coalesce(
                        func.sum(UsagePeriod.audio_ms_used + UsagePeriod.audio_ms_reserved), 0
                    ),
                ).where(UsagePeriod.key_id == key_id)
            )
        ).one()
    return int(chars), int(audio_ms)


async def wait_for_job(
    client: Any, job_id: str, headers: dict[str, str], wanted: set[str], timeout: float = 60
) -> dict[str, Any]:
    """Poll GET /v1/tts/jobs/{id} until its status is one of `wanted`."""

    async def poll() -> dict[str, Any]:
        while True:
            job = (await client.get(f"/v1/tts/jobs/{job_id}", headers=headers)).json()
            if job["status"] in wanted:
                return job
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)
