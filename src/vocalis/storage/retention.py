"""The retention sweep: every domain's purger in turn, then the half-written files.

What has expired is each domain's own rule (finished jobs after the retention period, say), so
a domain hands the sweep a purger that deletes its expired rows and their files. Storage knows
none of those rules, only the temporary files its own writes leave when a process dies mid-write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from vocalis.kit.db import Database
from vocalis.storage.files import AudioStore

# Deletes what has expired by `now` (rows, and their files in the store); returns how many.
Purger = Callable[[Database, AudioStore, datetime], Awaitable[int]]

TEMPORARY_FILE_AGE = timedelta(hours=1)


async def sweep(
    database: Database, store: AudioStore, *, now: datetime, purgers: Iterable[Purger]
) -> int:
    """Run each purger, then remove temporary files older than an hour; returns how many
    things the purgers deleted, all together."""
    purged = 0
    for purge in purgers:
        purged += await purge(database, store, now)
    await store.sweep_temporary(TEMPORARY_FILE_AGE.total_seconds())
    return purged
