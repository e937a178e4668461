"""Content-addressed response cache: identical requests are answered from disk.

The key is a SHA-256 over the normalized text, voice, speed, format, sample rate and the
engine and voice versions, NUL-separated, so any change in what would be heard is a new entry.
Entries live under `<storage>/cache/`; the index (sizes, recency) is kept in memory, rebuilt
from the files at start-up, and the least recently used entries are evicted to stay within the
byte budget. Only complete, non-streamed files are stored.

The most recently used entries are also kept in memory, within a smaller budget of their own,
so that a hot entry is answered without a file read (or the thread hop one costs).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

from vocalis.kit.lru import LRU

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedSpeech:
    content: bytes
    media_type: str
    audio_ms: int
    sample_rate: int


@dataclass(frozen=True)
class _Meta:
    media_type: str
    audio_ms: int
    sample_rate: int


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class SpeechCache:
    def __init__(self, root: Path, max_bytes: int, memory_bytes: int = 0) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._hot: LRU[str, CachedSpeech] = LRU(
            min(memory_bytes, max_bytes), lambda speech: len(speech.content)
        )
        self._index: OrderedDict[str, int] = OrderedDict()  # key -> bytes on disk, oldest first
        self.total_bytes = 0
        self.hits = 0  # lookups answered, since start (read by metrics)
        self.misses = 0  # lookups not answered (none while the cache is off)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def entries(self) -> int:
        return len(self._index)

    async def load(self) -> None:
        """Rebuild the index from the files (least recently written first)."""
        if not self.enabled:
            return
        entries = await asyncio.to_thread(self._scan)
        for key, size in entries:
            self._index[key] = size
            self.total_bytes += size
        await self._evict()
        log.info("response cache: %d entries, %d bytes", len(self._index), self.total_bytes)

    def get_hot(self, key: str) -> CachedSpeech | None:
        """The entry if it is held in memory (no file read, no waiting)."""
        found = self._hot.get(key)
        if found is not None:
            self._index.move_to_end(key)
        return found

    async def get(self, key: str) -> CachedSpeech | None:
        """The entry, or None; counted as a hit or a miss (`get_hot` alone counts nothing)."""
        if key not in self._index:
            if self.enabled:
                self.misses += 1
            return None
        hot = self.get_hot(key)
        if hot is not None:
            self.hits += 1
            return hot
        try:
            found = await asyncio.to_thread(self._read, key)
        except (OSError, ValueError, KeyError):  # evicted meanwhile, or a damaged entry
            self._forget(key)
            self.misses += 1
            return None
        if key in self._index:
            self._index.move_to_end(key)
            self._hot.put(key, found)
        self.hits += 1
        return found

    async def put(self, key: str, speech: CachedSpeech) -> None:
        if not self.enabled or key in self._index:
            return
        size = await asyncio.to_thread(self._write, key, speech)
        self._index[key] = size
        self._hot.put(key, speech)
        self.total_bytes += size
        await self._evict()

    async def _evict(self) -> None:
        doomed = []
        while self.total_bytes > self.max_bytes and self._index:
            key, _ = next(iter(self._index.items()))
            self._forget(key)
            doomed.append(key)
        if doomed:
            await asyncio.to_thread(self._delete, doomed)

    def _forget(self, key: str) -> None:
        self._hot.pop(key)
        size = self._index.pop(key, None)
        if size is not None:
            self.total_bytes -= size

    # --- files (run in threads) -----------------------------------------------------------------

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.audio", folder / f"{key}.json"

    def _read(self, key: str) -> CachedSpeech:
        audio, meta = self._paths(key)
        info = json.loads(meta.read_text())
        return CachedSpeech(
            audio.read_bytes(), info["media_type"], info["audio_ms"], info["sample_rate"]
        )

    def _write(self, key: str, speech: CachedSpeech) -> int:
        audio, meta = self._paths(key)
        audio.parent.mkdir(parents=True, exist_ok=True)
        info = json.dumps(asdict(_Meta(speech.media_type, speech.audio_ms, speech.sample_rate)))
        suffix = f".{secrets.token_hex(4)}.part"
        for path, data in ((audio, speech.content), (meta, info.encode())):
            partial = path.with_name(path.name + suffix)
            partial.write_bytes(data)
            os.replace(partial, path)  # the .json last: an entry is only visible once whole
        return len(speech.content) + len(info)

    def _scan(self) -> list[tuple[str, int]]:
        if not self.root.is_dir():
            return []
        found = []
        for meta in self.root.glob("*/*.json"):
            audio = meta.with_suffix(".audio")
            if audio.is_file():
                found.append(
                    (meta.stat().st_mtime, meta.stem, audio.stat().st_size + meta.stat().st_size)
                )
        for partial in self.root.glob("*/*.part"):
            partial.unlink(missing_ok=True)
        return [(key, size) for _, key, size in sorted(found)]

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            for path in self._paths(key):
                path.unlink(missing_ok=True)
