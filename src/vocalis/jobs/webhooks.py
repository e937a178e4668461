"""Signed, durable webhooks (Standard Webhooks): every event is a row, retried until delivered.

Each delivery is POSTed with `webhook-id` (the same on every attempt), `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256>` computed by the `standardwebhooks` library with the
account's `whsec_…` secret — and with the previous secret too while a rotation overlaps. Attempts
follow the configured schedule with jitter, honour `Retry-After`, never follow redirects, stop
for good on `410 Gone`, and each one is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from vocalis import __version__
from vocalis.jobs.models import Job, WebhookAttempt, WebhookDelivery, WebhookSecret
from vocalis.jobs.schemas import JobOut
from vocalis.jobs.urls import Resolver, UnsafeWebhookUrl, WebhookTarget, check_webhook_url
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database, insert_missing
from vocalis.kit.wakeup import Wakeup

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
EVENT_FOR_STATUS = {
    "succeeded": "job.succeeded",
    "failed": "job.failed",
    "canceled": "job.canceled",
}
MAX_RETRY_AFTER = timedelta(hours=24)
CLAIM_BATCH = 10


# --- signing secrets ----------------------------------------------------------------------------


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


async def signing_secret(session: AsyncSession, account_id: str, now: datetime) -> WebhookSecret:
    """The account's secret, created on first use (safe when two requests race to create it)."""
    await insert_missing(
        session,
        WebhookSecret.__table__,
        {"account_id": account_id, "secret": new_signing_secret(), "created_at": now},
        keys=["account_id"],
    )
    record = await session.scalar(
        select(WebhookSecret)
        .where(WebhookSecret.account_id == account_id)
        .execution_options(populate_existing=True)
    )
    assert record is not None
    return record


async def rotate_signing_secret(
    session: AsyncSession, account_id: str, now: datetime, overlap: timedelta
) -> WebhookSecret:
    """A new secret at once; the old one keeps signing (alongside) until the overlap ends."""
    record = await signing_secret(session, account_id, now)
    record.previous_secret = record.secret
    record.previous_expires_at = now + overlap
    record.secret = new_signing_secret()
    record.rotated_at = now
    await session.flush()
    return record


def secrets_in_use(record: WebhookSecret, now: datetime) -> list[str]:
    previous = record.previous_secret
    if previous and record.previous_expires_at and now < record.previous_expires_at:
        return [record.secret, previous]
    return [record.secret]


def sign(secrets_to_use: list[str], webhook_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret, space-separated."""
    return " ".join(Webhook(secret).sign(webhook_id, timestamp, body) for secret in secrets_to_use)


# --- creating deliveries ------------------------------------------------------------------------


async def enqueue_job_event(
    session: AsyncSession, job: Job, *, now: datetime, base_url: str, retention_hours: float
) -> None:
    """Queue the webhook announcing `job`'s final status, if the job asked for one."""
    if not job.webhook_url:
        return
    event_type = EVENT_FOR_STATUS[job.status]
    data = JobOut.from_job(job, base_url=base_url, retention_hours=retention_hours)
    session.add(
        WebhookDelivery(
            account_id=job.account_id,
            job_id=job.id,
            event_type=event_type,
            url=job.webhook_url,
            payload={
                "type": event_type,
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "data": data.model_dump(mode="json"),
            },
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    await session.flush()


# --- delivering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after: float | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


class WebhookDispatcher:
    """Claims due deliveries (leased, so any number of workers can share the table) and sends."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        resolver: Resolver,
        *,
        schedule: list[float],
        timeout: float,
        allow_private: bool,
        poll_seconds: float,
    ) -> None:
        self._database = database
        self._clock = clock
        self._resolver = resolver
        self._schedule = schedule
        self._timeout = timeout
        self._allow_private = allow_private
        self._poll = poll_seconds
        self._wakeup = Wakeup()
        self._http: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made on first use: most processes never send a webhook
            self._http = httpx.AsyncClient(
                follow_redirects=False,
                timeout=httpx.Timeout(self._timeout),
                headers={"User-Agent": f"Vocalis-Webhooks/{__version__}"},
                trust_env=False,
            )
        return self._http

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def run(self) -> None:
        while True:
            self._wakeup.arm()
            if not await self.deliver_due():
                await self._wakeup.wait(self._poll)

    async def deliver_due(self) -> int:
        """One round: claim what is due, send it all concurrently, record the outcomes."""
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(delivery) for delivery in claimed))
        return len(claimed)

    async def _claim(self) -> list[WebhookDelivery]:
        now = self._clock.now()
        lease = timedelta(seconds=self._timeout + 30)
        async with self._database.session(write=True) as session:
            due = list(
                await session.scalars(
                    select(WebhookDelivery)
                    .where(
                        or_(
                            and_(
                                WebhookDelivery.status == "pending",
                                WebhookDelivery.next_attempt_at <= now,
                            ),
                            and_(  # a worker died while sending: try again (at-least-once)
                                WebhookDelivery.status == "delivering",
                                WebhookDelivery.lease_expires_at < now,
                            ),
                        )
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(CLAIM_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for delivery in due:
                delivery.status = "delivering"
                delivery.lease_expires_at = now + lease
                delivery.attempts += 1
        return due

    async def _deliver(self, delivery: WebhookDelivery) -> None:
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            secret = await signing_secret(session, delivery.account_id, now)
            keys = secrets_in_use(secret, now)
        outcome = await self._send(delivery, keys)
        await self._record(delivery, outcome)

    async def _send(self, delivery: WebhookDelivery, keys: list[str]) -> Outcome:
        started = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:  # the address may have changed since submission: check it again
            target = await check_webhook_url(
                delivery.url, self._resolver, allow_private=self._allow_private
            )
        except UnsafeWebhookUrl as refused:
            return Outcome(None, refused.detail, None, took())
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        timestamp = datetime.now(UTC)  # the receiver's clock, not a simulated one
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": sign(keys, delivery.id, timestamp, body),
        }
        try:
            response = await _post_pinned(self._client, target, body.encode(), headers)
        except httpx.TimeoutException:
            return Outcome(None, f"no answer within {self._timeout:g} s", None, took())
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], None, took())
        error = None
        if 300 <= response.status_code < 400:
            error = "redirects are not followed"
        return Outcome(response.status_code, error, _retry_after(response), took())

    async def _record(self, delivery: WebhookDelivery, outcome: Outcome) -> None:
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            values: dict[str, Any] = {
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "lease_expires_at": None,
            }
            if outcome.delivered:
                values |= {"status": "succeeded", "finished_at": now}
            elif outcome.gone:
                values |= {"status": "abandoned", "finished_at": now}
                await session.execute(  # 410: the receiver asks us to stop sending to this URL
                    update(WebhookDelivery)
                    .where(WebhookDelivery.account_id == delivery.account_id)
                    .where(WebhookDelivery.url == delivery.url)
                    .where(WebhookDelivery.status == "pending")
                    .values(status="abandoned", finished_at=now, last_error="receiver answered 410")
                )
            elif delivery.attempts >= len(self._schedule):
                values |= {"status": "failed", "finished_at": now}
            else:
                delay = _jittered(self._schedule[delivery.attempts])
                if outcome.retry_after is not None:
                    delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER.total_seconds()))
                values |= {"status": "pending", "next_attempt_at": now + timedelta(seconds=delay)}
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id)
                .where(WebhookDelivery.status == "delivering")
                .values(**values)
            )
        if not outcome.delivered:
            log.info(
                "webhook %s attempt %d to %s: %s",
                delivery.id,
                delivery.attempts,
                delivery.url,
                outcome.error or f"HTTP {outcome.status_code}",
            )


async def _post_pinned(
    client: httpx.AsyncClient, target: WebhookTarget, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST to the address that was checked, not to whatever DNS says a moment later."""
    url = httpx.URL(target.url)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = (
            f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
        )
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return await client.post(
        url.copy_with(host=target.address),
        content=body,
        headers={**headers, "host": host_header},
        extensions=extensions,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _jittered(delay: float) -> float:
    return delay * random.uniform(0.9, 1.1) if delay else 0.0
