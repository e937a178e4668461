"""Sending webhooks (Standard Webhooks): every event is a row, retried until delivered.

Each delivery is POSTed with `webhook-id` (the same on every attempt), `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256>` computed by the `standardwebhooks` library with the
account's `whsec_…` secret — and with the previous secret too while a rotation overlaps. Attempts
follow the configured schedule with jitter, honour `Retry-After`, never follow redirects, stop
for good on `410 Gone`, and each one is recorded. An attempt has one deadline from connecting to
the last byte of the answer, and deliveries go out concurrently, only a few at a time to any one
receiver, so a slow receiver delays nobody else's events. What an event says is its domain's
business (see `outbox`); the dispatcher sends whatever rows are due.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import ColumnElement, Select, and_, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis import __version__
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.wakeup import Wakeup
from vocalis.webhooks.models import WebhookAttempt, WebhookDelivery
from vocalis.webhooks.signing import secrets_in_use, sign, signing_secret
from vocalis.webhooks.urls import (
    Resolver,
    UnsafeWebhookUrl,
    WebhookTarget,
    check_webhook_url,
    destination_of,
)

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = timedelta(hours=24)
MAX_IN_FLIGHT = 32  # deliveries one worker sends at once
MAX_PER_DESTINATION = 4  # of those, to any one scheme://host:port
MAX_PER_ACCOUNT = 8  # of those, for any one account (which may have many hosts)
LEASE_MARGIN = timedelta(seconds=30)  # beyond the attempt's deadline, for the bookkeeping
MAX_RESPONSE_BYTES = 64 * 1024  # of a receiver's answer that is read (and thrown away)
CLAIM_PAGE = 100
MAX_CLAIM_PAGES = 5  # read per claim: a huge backlog is worked through claim by claim


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after: float | None = None
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


class WebhookDispatcher:
    """Sends due deliveries concurrently: up to `max_in_flight` at once, `per_destination` to
    any one receiver's server and `per_account` for any one account, claiming more as soon as a
    slot frees, so one tenant's slow endpoints (however many hosts they span) cannot hold up
    anyone else's events. Claims are leased, so any number of workers can share the table (the
    limits are per worker)."""

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
        max_in_flight: int = MAX_IN_FLIGHT,
        per_destination: int = MAX_PER_DESTINATION,
        per_account: int = MAX_PER_ACCOUNT,
    ) -> None:
        self._database = database
        self._clock = clock
        self._resolver = resolver
        self._schedule = schedule
        self._timeout = timeout
        self._allow_private = allow_private
        self._poll = poll_seconds
        self._max_in_flight = max_in_flight
        self._per_destination = per_destination
        self._per_account = per_account
        self._wakeup = Wakeup()
        self._http: httpx.AsyncClient | None = None
        self._in_flight: dict[asyncio.Task[None], WebhookDelivery] = {}
        self._busy: Counter[str] = Counter()  # deliveries in flight, by destination
        self._busy_accounts: Counter[str] = Counter()  # and by account
        # Attempts by how they ended, since start (read by metrics): delivered, retrying,
        # failed (the schedule is used up), abandoned (the receiver answered 410).
        self.outcomes: Counter[str] = Counter()

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made on first use: most processes never send a webhook
            self._http = webhook_client(self._timeout)
        return self._http

    def wake(self) -> None:
        self._wakeup.set()

    async def close(self) -> None:
        """Stop sending: what is in flight is cancelled (its lease runs out and it is sent
        again, at least once), then the connections close."""
        tasks = list(self._in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    async def run(self) -> None:
        """Claim what is due whenever a slot is free, new work is announced, or a poll is due."""
        while True:
            self._wakeup.arm()
            for delivery in await self._claim():
                self._start(delivery)
            await self._wakeup.wait(self._poll)

    def _start(self, delivery: WebhookDelivery) -> None:
        destination = destination_of(delivery.url)
        self._busy[destination] += 1
        self._busy_accounts[delivery.account_id] += 1
        task = asyncio.create_task(self._deliver(delivery), name=f"webhook {delivery.id}")
        self._in_flight[task] = delivery
        task.add_done_callback(lambda done: self._finished(done, destination))

    def _finished(self, task: asyncio.Task[None], destination: str) -> None:
        delivery = self._in_flight.pop(task)
        for counter, name in (
            (self._busy, destination),
            (self._busy_accounts, delivery.account_id),
        ):
            counter[name] -= 1
            if counter[name] <= 0:
                del counter[name]
        if not task.cancelled() and task.exception() is not None:
            # The others carry on; this one is sent again once its lease runs out.
            log.error("webhook delivery crashed", exc_info=task.exception())
        self._wakeup.set()  # a slot is free

    async def _claim(self) -> list[WebhookDelivery]:
        """Lease due deliveries for the free slots, oldest first, leaving out destinations that
        already have their share in flight."""
        free = self._max_in_flight - len(self._in_flight)
        if free <= 0:
            return []
        now = self._clock.now()
        # Mostly nothing is due: a read says so without a write transaction (a poll a second).
        if not await self._database.has_rows(select(WebhookDelivery.id).where(_due(now))):
            return []
        lease = timedelta(seconds=self._timeout) + LEASE_MARGIN
        async with self._database.session(write=True) as session:
            chosen = await self._choose(session, now, free)
            if not chosen:
                return []
            claimed = await session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(chosen), _due(now))  # not taken meanwhile
                .values(
                    status="delivering",
                    lease_expires_at=now + lease,
                    attempts=WebhookDelivery.attempts + 1,
                )
                .returning(WebhookDelivery),
                execution_options={"synchronize_session": False},
            )
            return list(claimed)

    async def _choose(self, session: AsyncSession, now: datetime, free: int) -> list[str]:
        """Ids of up to `free` due deliveries whose destination and account have room, oldest
        first. A destination or account that fills up is left out of the next pages' query, so
        a backlog for one busy receiver is not read again and again."""
        room = Counter({d: self._per_destination - n for d, n in self._busy.items()})
        account_room = Counter({a: self._per_account - n for a, n in self._busy_accounts.items()})
        full = {
            _origin(d.url) for d in self._in_flight.values() if room[destination_of(d.url)] <= 0
        }
        full_accounts = {account for account, left in account_room.items() if left <= 0}
        chosen: list[str] = []
        after: tuple[datetime, str] | None = None
        for _ in range(MAX_CLAIM_PAGES):
            page = (await session.execute(_due_page(now, full, full_accounts, after))).all()
            for delivery_id, url, account_id, _ in page:
                destination = destination_of(url)
                room.setdefault(destination, self._per_destination)
                account_room.setdefault(account_id, self._per_account)
                if room[destination] > 0 and account_room[account_id] > 0:
                    room[destination] -= 1
                    account_room[account_id] -= 1
                    chosen.append(delivery_id)
                    if len(chosen) == free:
                        return chosen
                if room[destination] <= 0:
                    full.add(_origin(url))
                if account_room[account_id] <= 0:
                    full_accounts.add(account_id)
            if len(page) < CLAIM_PAGE:
                break
            after = (page[-1][3], page[-1][0])
        return chosen

    async def _deliver(self, delivery: WebhookDelivery) -> None:
        now = self._clock.now()
        async with self._database.session(write=True) as session:
            secret = await signing_secret(session, delivery.account_id, now)
            keys = secrets_in_use(secret, now)
        outcome = await self._send(delivery, keys)
        await self._record(delivery, outcome)

    async def _send(self, delivery: WebhookDelivery, keys: list[str]) -> Outcome:
        return await post_signed(
            self._client,
            self._resolver,
            url=delivery.url,
            message_id=delivery.id,
            payload=delivery.payload,
            keys=keys,
            allow_private=self._allow_private,
            timeout=self._timeout,
        )

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
                ended = "delivered"
                values |= {"status": "succeeded", "finished_at": now}
            elif outcome.gone:
                ended = "abandoned"
                values |= {"status": "abandoned", "finished_at": now}
                await _abandon_others(session, delivery, now)
            elif delivery.attempts >= len(self._schedule):
                ended = "failed"
                values |= {"status": "failed", "finished_at": now}
            else:
                ended = "retrying"
                delay = _jittered(self._schedule[delivery.attempts])
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                values |= {"status": "pending", "next_attempt_at": now + timedelta(seconds=delay)}
            # A 410 elsewhere may have abandoned this one while it was in flight: that stands,
            # unless this attempt got through after all.
            settled = ("delivering", "abandoned") if outcome.delivered else ("delivering",)
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id)
                .where(WebhookDelivery.status.in_(settled))
                .values(**values)
            )
        self.outcomes[ended] += 1
        if not outcome.delivered:
            log.info(
                "webhook %s attempt %d to %s: %s",
                delivery.id,
                delivery.attempts,
                delivery.url,
                outcome.error or f"HTTP {outcome.status_code}",
            )


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
        and_(  # a worker died while sending: try again (at-least-once)
            WebhookDelivery.status == "delivering", WebhookDelivery.lease_expires_at < now
        ),
    )


def _due_page(
    now: datetime, full: set[str], full_accounts: set[str], after: tuple[datetime, str] | None
) -> Select[Any]:
    """One page of due deliveries (id, url, account, due time) in due order, leaving out URLs
    under a full origin and accounts that have their share in flight."""
    query = select(
        WebhookDelivery.id,
        WebhookDelivery.url,
        WebhookDelivery.account_id,
        WebhookDelivery.next_attempt_at,
    ).where(_due(now))
    for origin in sorted(full):
        query = query.where(not_(WebhookDelivery.url.startswith(origin, autoescape=True)))
    if full_accounts:
        query = query.where(WebhookDelivery.account_id.not_in(sorted(full_accounts)))
    if after is not None:
        due, delivery_id = after
        query = query.where(
            or_(
                WebhookDelivery.next_attempt_at > due,
                and_(WebhookDelivery.next_attempt_at == due, WebhookDelivery.id > delivery_id),
            )
        )
    return query.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(CLAIM_PAGE)


def _origin(url: str) -> str:
    """`scheme://netloc/` exactly as written in `url`: a prefix its siblings share."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return f"{parts.scheme}://{parts.netloc}/"


async def _abandon_others(session: AsyncSession, delivery: WebhookDelivery, now: datetime) -> None:
    """410: the receiver asks us to stop sending to this URL, so nothing queued for it (or in
    flight to it) is sent again."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.account_id == delivery.account_id)
        .where(WebhookDelivery.url == delivery.url)
        .where(WebhookDelivery.id != delivery.id)
        .where(WebhookDelivery.status.in_(("pending", "delivering")))
        .values(
            status="abandoned",
            finished_at=now,
            lease_expires_at=None,
            last_error="receiver answered 410",
        )
    )


def webhook_client(timeout: float) -> httpx.AsyncClient:
    """What deliveries are sent with: no redirects followed, no proxy from the environment."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": f"Vocalis-Webhooks/{__version__}"},
        trust_env=False,
    )


async def post_signed(
    client: httpx.AsyncClient,
    resolver: Resolver,
    *,
    url: str,
    message_id: str,
    payload: dict[str, Any],
    keys: list[str],
    allow_private: bool,
    timeout: float,
) -> Outcome:
    """One signed attempt under one deadline for all of it (resolving, connecting, sending,
    reading the answer): a receiver that drips bytes must not hold a delivery for minutes."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            outcome = await _attempt(
                client, resolver, url, message_id, payload, keys, allow_private
            )
    except (TimeoutError, httpx.TimeoutException):
        outcome = Outcome(None, f"no answer within {timeout:g} s")
    return replace(outcome, duration_ms=round((time.perf_counter() - started) * 1000))


async def _attempt(
    client: httpx.AsyncClient,
    resolver: Resolver,
    url: str,
    message_id: str,
    payload: dict[str, Any],
    keys: list[str],
    allow_private: bool,
) -> Outcome:
    try:  # the address may have changed since submission: check it again
        target = await check_webhook_url(url, resolver, allow_private=allow_private)
    except UnsafeWebhookUrl as refused:
        return Outcome(None, refused.detail)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    timestamp = datetime.now(UTC)  # the receiver's clock, not a simulated one
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": sign(keys, message_id, timestamp, body),
    }
    try:
        response = await _post_pinned(client, target, body.encode(), headers)
    except httpx.TimeoutException:
        raise  # the deadline's business
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    error = None
    if 300 <= response.status_code < 400:
        error = "redirects are not followed"
    retry_after = _retry_after(response.headers.get("retry-after"), datetime.now(UTC))
    return Outcome(response.status_code, error, retry_after)


async def _post_pinned(
    client: httpx.AsyncClient, target: WebhookTarget, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST to the address that was checked, not to whatever DNS says a moment later, and read
    the answer (up to a limit, not kept)."""
    url = httpx.URL(target.url)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = (
            f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
        )
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request(
        "POST",
        url.copy_with(host=target.address),
        content=body,
        headers={**headers, "host": host_header},
        extensions=extensions,
    )
    response = await client.send(request, stream=True)
    try:
        await _drain(response)
    finally:
        await response.aclose()
    return response


async def _drain(response: httpx.Response) -> None:
    """Read the answer's body so that it, too, falls under the attempt's deadline."""
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received >= MAX_RESPONSE_BYTES:
            return


def _retry_after(value: str | None, now: datetime) -> float | None:
    """The seconds a `Retry-After` header asks for, at most a day; None when it is missing or
    unreadable, for a receiver's malformed header must never stop the dispatcher."""
    value = (value or "").strip()
    if not value:
        return None
    cap = MAX_RETRY_AFTER.total_seconds()
    if value.isascii() and value.isdigit():  # delta-seconds: ASCII digits only (not "²")
        return min(float(value), cap)  # a thousand digits make inf, which the cap takes
    moment = _http_date(value)
    if moment is None:
        return None
    return min(max(0.0, (moment - now).total_seconds()), cap)


def _http_date(value: str) -> datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # always GMT


def _jittered(delay: float) -> float:
    return delay * random.uniform(0.9, 1.1) if delay else 0.0
