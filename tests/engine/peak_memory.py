"""Run alone in a fresh process: how much a synthesis of one text raises peak memory.

`python -m tests.engine.peak_memory ordinary|unbroken LENGTH` prints the growth in bytes of the
process's peak resident memory while the engine speaks a text of LENGTH characters: ordinary
prose with sentences of every usual length, or one without a single sentence break or space.
"""

from __future__ import annotations

import asyncio
import resource
import sys

from vocalis.config import DEFAULT_VOICE
from vocalis.engine import SpeechEngine, VoiceRegistry, select_device

PROSE = (
    "The tide came in slowly. "
    "Gulls circled above the harbour while the fishing boats came home, one after another, "
    "low in the water with the morning's catch. "
    "Nobody on the pier said much; they watched the weather, which had turned grey and cold "
    "in the last hour, and wondered whether the ferry would run at all in the afternoon, "
    "or whether they would spend another night in the small hotel by the station. "
)


def texts(length: int) -> dict[str, str]:
    return {
        "ordinary": (PROSE * (length // len(PROSE) + 1))[:length],
        "unbroken": ("hello," * (length // 6 + 1))[:length],
    }


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def main(kind: str, length: int) -> int:
    registry = VoiceRegistry.from_directory(None, DEFAULT_VOICE)
    registry.load(select_device("cpu"))
    engine = SpeechEngine(registry, select_device("cpu"), concurrency=1)
    await engine.start()
    await engine.synthesize(engine.prepare("Warm up, please.", None))
    before = _resident_bytes()
    await engine.synthesize(engine.prepare(texts(length)[kind], None))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    engine.close()
    return max(0, peak - before)


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
