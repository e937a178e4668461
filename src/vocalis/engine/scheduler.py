"""The async face of the engine: warm voices, inference in threads, bounded parallelism.

Each sentence (a piece of bounded length) is one inference call, run in a thread pool behind an
`asyncio.Semaphore`, so the event loop never blocks and a long text cannot starve short ones:
requests interleave at sentence boundaries. A caller that stops listening (a client gone, a
job canceled) stops the synthesis at the next piece; the slot stays taken until the thread has
really finished the piece it was making, so the semaphore never admits more work than the
device runs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from vocalis.engine.device import InferenceDevice, default_concurrency
from vocalis.engine.registry import VoiceRegistry
from vocalis.engine.sentences import MAX_SENTENCE_CHARS, ends_a_sentence, split_sentences
from vocalis.engine.text import character_count, has_speech, normalize
from vocalis.engine.voice import EngineNotReady, NothingToSpeak, SynthesisFailed, VoiceInfo
from vocalis.kit.errors import VocalisError
from vocalis.kit.lru import LRU

log = logging.getLogger(__name__)


RECENT_TEXTS_CHARS = 1_000_000  # of normalized text (about 2 MB), remembered by `prepared`
PIECE_OVERHEAD_SECONDS = 0.6  # the silence a voice puts around every utterance, and then some


@dataclass(frozen=True)
class PreparedText:
    """Text made ready for a voice: normalized, split, and counted.

    `characters` counts what the caller sent (what is billed); `spoken_characters` counts the
    normalized words (what the voice reads: "$3.50" is 5 characters sent, 29 spoken)."""

    voice: VoiceInfo
    normalized: str
    sentences: tuple[str, ...]
    characters: int

    @property
    def spoken_characters(self) -> int:
        return character_count(self.normalized)

    def characters_through(self, sentences_spoken: int) -> int:
        """The share of `characters` that the first `sentences_spoken` sentences stand for."""
        if sentences_spoken >= len(self.sentences):
            return self.characters
        spoken = sum(len(sentence) + 1 for sentence in self.sentences[:sentences_spoken])
        return min(self.characters, self.characters * spoken // max(1, self.spoken_characters))


@dataclass(frozen=True)
class SpokenSentence:
    """One sentence of audio, including the pause that precedes it (none for the first, nor
    after a piece that was cut from the middle of a long sentence)."""

    index: int
    text: str
    samples: np.ndarray


@dataclass
class VoiceWork:
    """What one voice has done since start: plain counters that metrics read when asked."""

    syntheses: int = 0  # texts begun
    pieces: int = 0  # inference calls finished
    inference_seconds: float = 0.0
    audio_seconds: float = 0.0  # produced, pauses included


@dataclass(frozen=True)
class SpeechAudio:
    samples: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / self.sample_rate


class SpeechEngine:
    """Owns the loaded voices for one process and schedules inference on them."""

    def __init__(
        self,
        registry: VoiceRegistry,
        device: InferenceDevice,
        *,
        concurrency: int | None = None,
        sentence_pause_ms: int = 150,
        max_piece_chars: int = MAX_SENTENCE_CHARS,
    ) -> None:
        self.registry = registry
        self.device = device
        self._requested_concurrency = concurrency
        self._pause_seconds = sentence_pause_ms / 1000
        self.max_piece_chars = max_piece_chars
        self._ready = asyncio.Event()
        self._semaphore: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.concurrency = 0
        self.load_error: str | None = None
        self.in_flight = 0  # sentences being synthesized right now
        self.waiting = 0  # sentences waiting for an inference slot
        self.busy_seconds = 0.0  # slot-seconds spent on inference since start
        self.work: dict[str, VoiceWork] = {}  # by voice id
        self.sentences_spoken = 0  # since start: lets tests and metrics watch progress
        self.texts_prepared = 0  # since start: normalization is work a refusal should not cost
        self._counting = threading.Lock()  # `prepare` runs in threads
        # Texts prepared lately, by text and voice: a repeated request (a cache hit, most
        # often) needs neither the normalizer nor a thread to run it in.
        self._recent: LRU[tuple[str, str], PreparedText] = LRU(
            RECENT_TEXTS_CHARS, lambda prepared: len(prepared.normalized) * 2
        )

    async def start(self) -> None:
        """Load every voice (in a thread) and open for work; failures are kept for /readyz."""
        concurrency = self._requested_concurrency or default_concurrency(self.device.on_gpu)
        self.device = self.device.sized_for(concurrency)  # threads per synthesis, unless set
        try:
            if not self.registry.loaded:
                await asyncio.to_thread(self.registry.load, self.device)
            if not self.registry.has_default:
                raise RuntimeError(f"default voice '{self.registry.default_voice}' is not loaded")
        except Exception as exc:
            self.load_error = str(exc)
            log.exception("speech engine failed to start")
            return
        self.concurrency = concurrency
        log.info(
            "inference: %d at once, %s threads each", concurrency, self.device.threads or "auto"
        )
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="inference")
        self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def voices(self) -> list[VoiceInfo]:
        return self.registry.voices() if self.ready else []

    def voice(self, voice_id: str | None) -> VoiceInfo:
        """The voice a request names (or the default one); cheap, for checks before `prepare`."""
        self._require_ready()
        return self.registry.get(voice_id)

    def prepare(self, text: str, voice_id: str | None) -> PreparedText:
        """Resolve the voice, normalize and split the text; raises before any inference is spent.

        CPU work linear in the text: call it from a thread."""
        voice = self.voice(voice_id)
        with self._counting:
            self.texts_prepared += 1
        normalized = normalize(text, voice.language)
        if not has_speech(normalized):
            raise NothingToSpeak("text contains nothing to speak")
        sentences = tuple(split_sentences(normalized, self.max_piece_chars))
        return PreparedText(voice, normalized, sentences, character_count(text))

    async def prepared(self, text: str, voice_id: str | None) -> PreparedText:
        """`prepare`, in a thread; at once for a text prepared lately."""
        key = (text, self.voice(voice_id).id)
        found = self._recent.get(key)
        if found is None:
            found = await asyncio.to_thread(self.prepare, text, voice_id)
            self._recent.put(key, found)
        return found

    def expected_duration_ms(
        self, prepared: PreparedText, speed: float, chars_per_second: float
    ) -> int:
        """How long the audio will be, erring long: speech at `chars_per_second`, the silence
        around each sentence, the pauses between them, all scaled by `speed`."""
        pieces = len(prepared.sentences)
        seconds = (
            prepared.spoken_characters / chars_per_second
            + pieces * PIECE_OVERHEAD_SECONDS
            + (pieces - 1) * self._pause_seconds
        )
        return math.ceil(seconds / speed * 1000)

    async def stream(
        self, prepared: PreparedText, speed: float = 1.0
    ) -> AsyncIterator[SpokenSentence]:
        """Yield audio sentence by sentence, with a short natural pause between sentences."""
        self._require_ready()
        assert self._semaphore is not None
        rate = prepared.voice.sample_rate
        pause = np.zeros(round(rate * self._pause_seconds / speed), dtype=np.float32)
        semaphore = self._semaphore
        work = self.work.get(prepared.voice.id)
        if work is None:
            work = self.work[prepared.voice.id] = VoiceWork()
        work.syntheses += 1
        for index, sentence in enumerate(prepared.sentences):
            self.waiting += 1
            try:
                await semaphore.acquire()
            finally:
                self.waiting -= 1
            self.in_flight += 1
            began = time.perf_counter()
            try:
                samples = await self._infer(prepared.voice.id, sentence, speed)
            except VocalisError:
                raise
            except Exception as exc:
                log.exception("inference failed for voice %s", prepared.voice.id)
                raise SynthesisFailed("speech synthesis failed") from exc
            finally:
                elapsed = time.perf_counter() - began
                self.busy_seconds += elapsed
                work.inference_seconds += elapsed
                self.in_flight -= 1
                semaphore.release()
            self.sentences_spoken += 1
            work.pieces += 1
            if index and len(pause) and ends_a_sentence(prepared.sentences[index - 1]):
                samples = np.concatenate((pause, samples))  # not within a cut-up sentence
            work.audio_seconds += len(samples) / rate
            yield SpokenSentence(index, sentence, samples)

    async def _infer(self, voice_id: str, sentence: str, speed: float) -> np.ndarray:
        """One piece in the thread pool. Cancelled, it still waits for the thread to finish the
        piece (a thread cannot be interrupted) before the caller may give the slot back."""
        loop = asyncio.get_running_loop()
        piece = loop.run_in_executor(
            self._executor, self.registry.synthesize, voice_id, sentence, speed
        )
        try:
            return await asyncio.shield(piece)
        except asyncio.CancelledError:
            while not piece.done():
                try:
                    await asyncio.wait([piece])
                except asyncio.CancelledError:
                    continue
            if not piece.cancelled():
                piece.exception()  # retrieved: a failure of abandoned work is not worth a warning
            raise

    async def synthesize(self, prepared: PreparedText, speed: float = 1.0) -> SpeechAudio:
        parts = [sentence.samples async for sentence in self.stream(prepared, speed)]
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return SpeechAudio(samples, prepared.voice.sample_rate)

    def _require_ready(self) -> None:
        if not self.ready:
            raise EngineNotReady(
                "the speech engine is still loading voices; retry shortly",
                headers={"Retry-After": "5"},
            )
