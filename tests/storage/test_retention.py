"""The retention sweep runs every domain's purger and clears only stale half-written files."""

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from vocalis.kit.db import Database
from vocalis.storage.files import TEMP_DIR, AudioStore
from vocalis.storage.retention import TEMPORARY_FILE_AGE, sweep


async def test_every_purger_runs_and_the_counts_add_up(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    database = cast(Database, object())  # the purgers' business, not the sweep's
    now = datetime(2026, 1, 1, tzinfo=UTC)
    calls: list[tuple[str, Any, Any, datetime]] = []

    def purger(name: str, count: int) -> Any:
        async def purge(db: Database, files: AudioStore, moment: datetime) -> int:
            calls.append((name, db, files, moment))
            return count

        return purge

    purged = await sweep(database, store, now=now, purgers=[purger("jobs", 2), purger("others", 3)])

    assert purged == 5
    assert calls == [("jobs", database, store, now), ("others", database, store, now)]


async def test_stale_temporary_files_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    kept = await store.write("acct", "kept.wav", b"audio")
    temp = tmp_path / TEMP_DIR
    stale, fresh = temp / "stale.wav.0000.part", temp / "fresh.wav.0000.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    long_ago = time.time() - TEMPORARY_FILE_AGE.total_seconds() - 60
    os.utime(stale, (long_ago, long_ago))

    assert await sweep(cast(Database, object()), store, now=datetime.now(UTC), purgers=[]) == 0

    assert not stale.exists() and fresh.exists()
    assert await store.exists(kept)
