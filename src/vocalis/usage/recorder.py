"""Writes usage events in the background, so recording never slows a response.

Requests drop a `UsageRecord` into an in-memory queue; one task writes them in batches (events
plus their daily aggregates, in one transaction). `flush()` waits until everything queued so far
is written, which reports call first so a caller sees its own latest requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.kit.db import Database, upsert_adding
from vocalis.kit.errors import CLIENT_CLOSED_REQUEST
from vocalis.usage.models import UsageDaily, UsageEvent

log = logging.getLogger(__name__)

BATCH_SIZE = 500
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class UsageRecord:
    created_at: datetime
    request_id: str
    account_id: str
    key_id: str
    method: str
    endpoint: str
    status_code: int
    latency_ms: int
    client_ip: str | None = None
    voice: str | None = None
    language: str | None = None
    characters: int = 0
    audio_ms: int = 0
    audio_bytes: int = 0
    cache_hit: bool = False
    text_hash: str | None = None
    outcome: str | None = None  # None: derived from the status code


def outcome_of(status_code: int) -> str:
    if status_code == CLIENT_CLOSED_REQUEST:
        return "canceled"
    return "completed" if status_code < 400 else "failed"


def text_fingerprint(text: str, pepper: str) -> str:
    """16 hex characters that identify a text without revealing it (keyed, so not reversible
    by hashing a dictionary of likely texts)."""
    return hmac.new(pepper.encode(), b"text\0" + text.encode(), hashlib.sha256).hexdigest()[:16]


class UsageRecorder:
    def __init__(self, database: Database, max_queued: int = 10_000) -> None:
        self._database = database
        self._queue: asyncio.Queue[UsageRecord] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    def record(self, record: UsageRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            log.warning("usage queue full; dropping the event of request %s", record.request_id)

    async def flush(self) -> None:
        await self._queue.join()

    async def close(self, timeout: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout):  # not wait_for: see kit.wakeup
                await self.flush()
        except TimeoutError:
            log.warning("usage recorder closed with %d events unwritten", self._queue.qsize())
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH_SIZE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write_with_retries(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write_with_retries(self, batch: list[UsageRecord]) -> None:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                await self._write(batch)
                return
            except Exception:
                if attempt == WRITE_ATTEMPTS:
                    log.exception("could not write %d usage events; dropping them", len(batch))
                    return
                await asyncio.sleep(0.2 * attempt)

    async def _write(self, batch: list[UsageRecord]) -> None:
        async with self._database.session(write=True) as session:
            await store_usage(session, batch)


async def store_usage(session: AsyncSession, records: list[UsageRecord]) -> None:
    """Insert the events and add them onto their daily aggregates, in the caller's transaction."""
    if not records:
        return
    await session.execute(
        insert(UsageEvent.__table__),  # Core, not the ORM's bulk path: several times cheaper
        [
            asdict(record) | {"outcome": record.outcome or outcome_of(record.status_code)}
            for record in records
        ],
    )
    await upsert_adding(
        session, UsageDaily.__table__, _daily_rows(records), keys=list(_BUCKET), add=list(_SUMS)
    )


_BUCKET = ("account_id", "day", "key_id", "endpoint", "voice", "language", "status_code")
_SUMS = ("requests", "characters", "audio_ms", "audio_bytes", "cache_hits")


def _daily_rows(batch: list[UsageRecord]) -> list[dict[str, object]]:
    sums: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for record in batch:
        bucket = (
            record.account_id,
            record.created_at.date(),
            record.key_id,
            record.endpoint,
            record.voice or "",
            record.language or "",
            record.status_code,
        )
        total = sums[bucket]
        total[0] += 1
        total[1] += record.characters
        total[2] += record.audio_ms
        total[3] += record.audio_bytes
        total[4] += int(record.cache_hit)
    return [
        dict(zip(_BUCKET, bucket, strict=True)) | dict(zip(_SUMS, total, strict=True))
        for bucket, total in sums.items()
    ]
