"""Job retention: finished jobs lose their text and audio after VOCALIS_JOB_RETENTION_HOURS.

The job row stays (status, characters, seconds, timings) so accounting and history are intact.
Expired idempotency records go in the same pass. `purger` plugs this into the storage package's
retention sweep, which also clears half-written files.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from vocalis.jobs import idempotency
from vocalis.jobs.models import Job
from vocalis.jobs.queue import FINISHED
from vocalis.kit.db import Database
from vocalis.storage.files import AudioStore
from vocalis.storage.retention import Purger

log = logging.getLogger(__name__)

BATCH = 200


async def purge_expired(
    database: Database, store: AudioStore, *, now: datetime, retention: timedelta
) -> int:
    """Delete the text and audio of jobs finished before `now - retention`; returns how many."""
    purged = 0
    while True:
        async with database.session(write=True) as session:
            jobs = list(
                await session.scalars(
                    select(Job)
                    .where(Job.status.in_(FINISHED))
                    .where(Job.finished_at < now - retention)
                    .where(Job.purged_at.is_(None))
                    .order_by(Job.finished_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for job in jobs:
                if job.result_path:
                    await store.delete(job.result_path)
                job.request = None
                job.result_path = None
                job.purged_at = now
            await idempotency.purge_expired(session, now)
        purged += len(jobs)
        if len(jobs) < BATCH:
            break
    if purged:
        log.info("retention: deleted text and audio of %d finished jobs", purged)
    return purged


def purger(retention: timedelta) -> Purger:
    """The jobs' purger for `storage.retention.sweep`, keeping finished jobs for `retention`."""

    async def purge(database: Database, store: AudioStore, now: datetime) -> int:
        return await purge_expired(database, store, now=now, retention=retention)

    return purge
