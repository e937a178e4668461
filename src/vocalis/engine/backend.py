"""The protocol every speech backend implements; adding a backend touches no web code."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vocalis.engine.device import InferenceDevice
from vocalis.engine.voice import VoiceInfo


class SpeechBackend(Protocol):
    """A family of voices run by one inference library (Piper, Kokoro, ...).

    `load` is slow and blocking and `synthesize` is CPU/GPU-bound: the engine calls both from
    worker threads, never on the event loop.
    """

    name: str

    def voices(self) -> list[VoiceInfo]:
        """Voices this backend offers (known before loading)."""
        ...

    def load(self, device: InferenceDevice) -> None:
        """Load every model into memory on `device`, ready to synthesize."""
        ...

    def on_gpu(self) -> bool:
        """True when, once loaded, inference really runs on a GPU."""
        ...

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        """One sentence of normalized text → mono float32 PCM in [-1, 1] at the voice's rate.

        The audio's length scales as 1/`speed` (2.0 takes half the time of 1.0)."""
        ...
