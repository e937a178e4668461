from collections.abc import AsyncIterator

import pytest

from vocalis.engine import SpeechEngine, VoiceRegistry, select_device


@pytest.fixture
async def engine(voices: VoiceRegistry) -> AsyncIterator[SpeechEngine]:
    speech = SpeechEngine(voices, select_device("cpu"), concurrency=2)
    await speech.start()
    yield speech
    speech.close()
