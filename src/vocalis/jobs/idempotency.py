"""`Idempotency-Key` for job creation, scoped to the account.

The key is recorded as "processing" in its own committed transaction before any work, so a
concurrent retry sees it (409) instead of creating a second job; it becomes "done" in the same
transaction that creates the job. Same key and same body → the same job; another body → 422.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.jobs.models import IdempotencyRecord
from vocalis.kit.db import Database
from vocalis.kit.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255
STALE_AFTER = timedelta(minutes=5)  # a "processing" record this old belongs to a dead request


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


def request_fingerprint(endpoint: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{endpoint}\0{canonical}".encode()).hexdigest()


def validate_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters",
            code="invalid_idempotency_key",
        )
    return key


async def begin(
    database: Database,
    account_id: str,
    key: str,
    fingerprint: str,
    *,
    now: datetime,
    ttl: timedelta,
) -> str | None:
    """Claim `key` for this request; returns the job id when it already produced one."""
    for _ in range(2):  # one retry: a concurrent insert of the same key may have just won
        try:
            async with database.session(write=True) as session:
                record = await session.get(
                    IdempotencyRecord, (account_id, key), populate_existing=True
                )
                if record is not None and (record.expires_at <= now or _stale(record, now)):
                    await session.delete(record)
                    await session.flush()
                    record = None
                if record is None:
                    session.add(
                        IdempotencyRecord(
                            account_id=account_id,
                            key=key,
                            request_hash=fingerprint,
                            state="processing",
                            created_at=now,
                            expires_at=now + ttl,
                        )
                    )
                    await session.flush()
                    return None
                if record.request_hash != fingerprint:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used with a different request body"
                    )
                if record.state == "processing":
                    raise _in_progress()
                return record.job_id
        except IntegrityError:
            continue
    raise _in_progress()


async def finish(session: AsyncSession, account_id: str, key: str, job_id: str) -> None:
    """Bind the key to its job, inside the transaction that creates the job."""
    record = await session.get(IdempotencyRecord, (account_id, key), populate_existing=True)
    if record is not None:
        record.state = "done"
        record.job_id = job_id


async def abandon(database: Database, account_id: str, key: str) -> None:
    """The request failed before creating a job: free the key for a corrected retry."""
    async with database.session(write=True) as session:
        await session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.account_id == account_id)
            .where(IdempotencyRecord.key == key)
            .where(IdempotencyRecord.state == "processing")
        )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
    )
    return result.rowcount or 0


def _in_progress() -> IdempotencyInProgress:
    return IdempotencyInProgress(
        "a request with this Idempotency-Key is still being processed; retry shortly",
        headers={"Retry-After": "1"},
    )


def _stale(record: IdempotencyRecord, now: datetime) -> bool:
    return record.state == "processing" and now - record.created_at > STALE_AFTER
