"""`GET /metrics`: this process's Prometheus metrics, for the operator's scraper only.

Answered to the addresses in VOCALIS_METRICS_ALLOW (loopback by default) — the client address
the request middleware resolved, so a trusted proxy's X-Forwarded-For counts, not the proxy's
own address — or, from anywhere, to `Authorization: Bearer <VOCALIS_METRICS_TOKEN>`. Not in the
OpenAPI schema: it is the operator's, not the API's.

The figures the database holds (active jobs, the oldest due job's wait, failures, the outboxes)
are read here, at scrape time, and are the same in every process: they count what workers
elsewhere did too. Each is a count over a range of a status index (`ix_jobs_status_run_after`,
`ix_webhook_deliveries_due`) that only active or failed rows fall in, or an index seek — never
the succeeded history, which grows without end. The mail outbox has no status index; it holds
a few rows per account.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from vocalis.config import Settings
from vocalis.jobs.models import Job
from vocalis.jobs.queue import ACTIVE
from vocalis.kit.db import Database
from vocalis.kit.deps import ClockDep, DatabaseDep, SettingsDep, provided
from vocalis.kit.errors import Forbidden, Unauthorized
from vocalis.kit.metrics import CONTENT_TYPE, Metrics, QueueFigures
from vocalis.kit.networks import networks, within
from vocalis.mail.models import OutboundMail
from vocalis.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

MetricsDep = Annotated[Metrics, Depends(provided(Metrics))]
DATABASE_SECONDS = 2.0  # a scrape answers without the database's figures rather than hang
UNSETTLED_WEBHOOKS = ("pending", "delivering")
GIVEN_UP_WEBHOOKS = ("failed", "abandoned")


class MetricsForbidden(Forbidden):
    code = "metrics_forbidden"


class WrongMetricsToken(Unauthorized):
    def __init__(self) -> None:
        super().__init__("the metrics token is not right", code="invalid_metrics_token")


@router.get("/metrics")
async def metrics(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    clock: ClockDep,
    metrics: MetricsDep,
) -> Response:
    authorize(request, settings)
    queues = await queue_figures(database, clock.now())
    return Response(metrics.render(queues), media_type=CONTENT_TYPE)


def authorize(request: Request, settings: Settings) -> None:
    """An allowed address needs nothing more; from elsewhere the token must be presented and
    right (401 when it is wrong, 403 when there is none, or none is configured)."""
    address = getattr(request.state, "client_ip", None)
    if within(address, networks(tuple(settings.metrics_allow))):
        return
    token = settings.metrics_token
    presented = _bearer(request.headers.get("authorization"))
    if token is not None and presented is not None:
        if _same(presented, token.get_secret_value()):
            return
        raise WrongMetricsToken()
    raise MetricsForbidden(
        "metrics are served to the addresses in VOCALIS_METRICS_ALLOW, or with the metrics token"
    )


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _same(presented: str, expected: str) -> bool:
    """Compared in constant time, by digests, so not even the token's length shows."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


async def queue_figures(database: Database, now: datetime) -> QueueFigures | None:
    """What the queues in the database hold now; None when it cannot be read (then the scrape
    still answers, with `vocalis_database_up 0`)."""
    try:
        async with asyncio.timeout(DATABASE_SECONDS), database.session() as session:
            jobs = await _by_status(session, Job.status, ACTIVE)
            jobs_failed = await _count(session, Job.status == "failed")
            oldest = await session.scalar(
                select(func.min(Job.run_after)).where(Job.status == "queued", Job.run_after <= now)
            )
            webhooks = WebhookDelivery.status
            pending = await _count(session, webhooks.in_(UNSETTLED_WEBHOOKS))
            given_up = await _by_status(session, webhooks, GIVEN_UP_WEBHOOKS)
            mail = await _count(session, OutboundMail.status == "pending")
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("metrics: the database could not be read: %s", exc)
        return None
    waited = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return QueueFigures(
        jobs=jobs,
        oldest_queued_seconds=waited,
        jobs_failed=jobs_failed,
        webhooks_pending=pending,
        webhooks_given_up=given_up,
        mail_pending=mail,
    )


async def _by_status(
    session: AsyncSession, status: InstrumentedAttribute[str], states: tuple[str, ...]
) -> dict[str, int]:
    rows = await session.execute(
        select(status, func.count()).where(status.in_(states)).group_by(status)
    )
    return dict.fromkeys(states, 0) | {state: count for state, count in rows}


async def _count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Rows matching `where`, of the table it names."""
    return await session.scalar(select(func.count()).where(where)) or 0
