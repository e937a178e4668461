"""The speech engine: voices, text front end and scheduling. Knows nothing of HTTP or accounts."""

from vocalis.engine.device import InferenceDevice, select_device
from vocalis.engine.registry import VoiceRegistry
from vocalis.engine.scheduler import PreparedText, SpeechAudio, SpeechEngine, SpokenSentence
from vocalis.engine.voice import VoiceInfo

__all__ = [
    "InferenceDevice",
    "PreparedText",
    "SpeechAudio",
    "SpeechEngine",
    "SpokenSentence",
    "VoiceInfo",
    "VoiceRegistry",
    "select_device",
]
