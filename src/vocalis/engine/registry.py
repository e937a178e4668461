"""All voices of all backends under one id space; synchronous and loop-independent."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vocalis.engine.backend import SpeechBackend
from vocalis.engine.device import InferenceDevice
from vocalis.engine.piper import PiperBackend, bundled_voices, discover_voices
from vocalis.engine.voice import UnknownVoice, VoiceInfo

log = logging.getLogger(__name__)


class VoiceRegistry:
    """Loads every backend once, then maps a voice id to the backend that speaks it."""

    def __init__(self, backends: list[SpeechBackend], default_voice: str) -> None:
        self.backends = backends
        self.default_voice = default_voice
        self._voices: dict[str, tuple[VoiceInfo, SpeechBackend]] = {}
        self.on_gpu = False
        self.loaded = False

    @classmethod
    def from_directory(cls, voices_dir: Path | None, default_voice: str) -> VoiceRegistry:
        """The bundled voice plus whatever Piper voices the operator dropped into `voices_dir`."""
        piper = PiperBackend(bundled_voices() + discover_voices(voices_dir))
        return cls([piper], default_voice)

    def load(self, device: InferenceDevice) -> None:
        """Blocking: reads model files and builds inference sessions. Run it in a thread."""
        for backend in self.backends:
            backend.load(device)
            for info in backend.voices():
                self._voices.setdefault(info.id, (info, backend))
        self.on_gpu = any(backend.on_gpu() for backend in self.backends)
        self.loaded = True
        log.info(
            "voices loaded: %s (%s)",
            ", ".join(sorted(self._voices)),
            "GPU" if self.on_gpu else "CPU",
        )

    @property
    def has_default(self) -> bool:
        return self.default_voice in self._voices

    def voices(self) -> list[VoiceInfo]:
        return sorted((info for info, _ in self._voices.values()), key=lambda info: info.id)

    def get(self, voice_id: str | None) -> VoiceInfo:
        voice_id = voice_id or self.default_voice
        entry = self._voices.get(voice_id)
        if entry is None:
            raise UnknownVoice(f"unknown voice '{voice_id}'; GET /v1/voices lists the voices")
        return entry[0]

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        """Blocking inference of one sentence; call from a worker thread."""
        _, backend = self._voices[voice_id]
        return backend.synthesize(voice_id, sentence, speed)
