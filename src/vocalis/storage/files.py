"""Where finished audio lives: files under the storage path, written atomically.

Paths stored in the database are relative to the storage root, so a deployment can move the
root (or mount it on several machines) without touching rows. All file work runs in a thread.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path

AUDIO_DIR = "audio"
TEMP_DIR = "tmp"


class AudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, relative: str) -> Path:
        return self.root / relative

    async def write(self, account_id: str, name: str, content: bytes) -> str:
        """Store `content` as `audio/<account>/<name>`; readers never see a partial file."""
        return await asyncio.to_thread(self._write, account_id, name, content)

    async def delete(self, relative: str) -> None:
        await asyncio.to_thread(self._delete, relative)

    async def exists(self, relative: str) -> bool:
        return await asyncio.to_thread(self.path_of(relative).is_file)

    async def sweep_temporary(self, older_than_seconds: float) -> int:
        """Remove half-written files left by a process that died mid-write."""
        return await asyncio.to_thread(self._sweep_temporary, older_than_seconds)

    def _write(self, account_id: str, name: str, content: bytes) -> str:
        relative = f"{AUDIO_DIR}/{account_id}/{name}"
        target = self.path_of(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp_dir = self.root / TEMP_DIR
        temp_dir.mkdir(parents=True, exist_ok=True)
        temporary = temp_dir / f"{name}.{secrets.token_hex(4)}.part"
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return relative

    def _delete(self, relative: str) -> None:
        self.path_of(relative).unlink(missing_ok=True)

    def _sweep_temporary(self, older_than_seconds: float) -> int:
        temp_dir = self.root / TEMP_DIR
        if not temp_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for leftover in temp_dir.glob("*.part"):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed
