"""Encoding float PCM into the files clients receive, through libsndfile (soundfile)."""

from __future__ import annotations

import io
from enum import StrEnum

import numpy as np
import soundfile


class AudioFormat(StrEnum):
    WAV = "wav"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {AudioFormat.WAV: "audio/wav"}


def encode(samples: np.ndarray, sample_rate: int, audio_format: AudioFormat) -> bytes:
    """Blocking (CPU work): call from a worker thread for anything but tiny clips."""
    buffer = io.BytesIO()
    if audio_format is AudioFormat.WAV:
        soundfile.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
