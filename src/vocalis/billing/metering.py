"""Pay-as-you-go: what metered accounts were charged, reported to Stripe's Billing Meter.

Once an hour has ended, each metered account's usage period gets one report: the characters its
counter has charged so far, less what earlier reports of the period said. The counter is the
same one that quota refusals read, so the reports of a period add up to exactly what was charged
— no event is counted twice, and none is missed. A report is a row before it is a call: written
once (unique per account, period and hour), then sent with its id as the meter event's
`identifier` and idempotency key, and retried on the billing schedule until Stripe has it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.models import Account
from vocalis.billing.models import UsageReport
from vocalis.billing.stripe_api import StripeGateway, StripeUnavailable
from vocalis.kit.db import inserting_missing
from vocalis.usage.models import UsagePeriod
from vocalis.usage.periods import WHOLE_ACCOUNT

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
METER_WINDOW = timedelta(days=35)  # Stripe takes meter events this old at most
SEND_BATCH = 50


def last_full_hour(now: datetime) -> datetime:
    """The start of the most recent hour that has ended."""
    return now.replace(minute=0, second=0, microsecond=0) - HOUR


def report_id(account_id: str, period_start: datetime, hour_start: datetime) -> str:
    return f"vocalis-{account_id}-{period_start:%Y%m%d%H%M%S}-{hour_start:%Y%m%d%H}"


async def write_reports(session: AsyncSession, metered_plans: list[str], now: datetime) -> int:
    """One report per metered account and usage period with characters not yet reported, for
    the last hour that has ended (none if that hour has one already); how many were written."""
    if not metered_plans:
        return 0
    hour = last_full_hour(now)
    reported = (
        select(func.coalesce(func.sum(UsageReport.characters), 0))
        .where(UsageReport.account_id == UsagePeriod.account_id)
        .where(UsageReport.period_start == UsagePeriod.period_start)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            UsagePeriod.account_id,
            UsagePeriod.period_start,
            UsagePeriod.period_end,
            Account.stripe_customer_id,
            UsagePeriod.chars_used - reported,
        )
        .join(Account, Account.id == UsagePeriod.account_id)
        .where(Account.plan.in_(metered_plans))
        .where(Account.stripe_customer_id.is_not(None))
        .where(UsagePeriod.key_id == WHOLE_ACCOUNT)
        .where(UsagePeriod.period_start <= hour)
        .where(UsagePeriod.period_end > now - METER_WINDOW)
        .where(UsagePeriod.chars_used > reported)
    )
    written = 0
    dialect = session.get_bind().dialect.name
    for account_id, period_start, period_end, customer_id, unreported in rows.all():
        # Stamped inside both the hour and the period, so Stripe bills it in that period.
        stamp = min(hour + HOUR, period_end) - timedelta(seconds=1)
        values = {
            "id": report_id(account_id, period_start, hour),
            "account_id": account_id,
            "stripe_customer_id": customer_id,
            "period_start": period_start,
            "hour_start": hour,
            "timestamp": int(stamp.timestamp()),
            "characters": unreported,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        statement = inserting_missing(
            dialect,
            UsageReport.__table__,  # type: ignore[arg-type]
            values,
            keys=["account_id", "period_start", "hour_start"],
        )
        written += (await session.execute(statement)).rowcount or 0
    return written


async def due_reports(session: AsyncSession, now: datetime) -> list[UsageReport]:
    rows = await session.scalars(
        select(UsageReport)
        .where(and_(UsageReport.status == "pending", UsageReport.next_attempt_at <= now))
        .order_by(UsageReport.hour_start)
        .limit(SEND_BATCH)
    )
    return list(rows)


async def send(gateway: StripeGateway, report: UsageReport) -> str | None:
    """Report one row to Stripe; None when it went through, else why not."""
    try:
        await gateway.report_usage(
            customer_id=report.stripe_customer_id,
            characters=report.characters,
            identifier=report.id,
            timestamp=report.timestamp,
        )
    except StripeUnavailable as error:
        return str(error)
    return None


async def record_outcome(
    session: AsyncSession,
    report: UsageReport,
    error: str | None,
    now: datetime,
    schedule: list[float],
) -> None:
    attempts = report.attempts + 1
    values: dict[str, object] = {"attempts": attempts}
    if error is None:
        values |= {"status": "reported", "reported_at": now, "last_error": None}
    elif attempts < len(schedule):
        values |= {
            "last_error": error[:500],
            "next_attempt_at": now + timedelta(seconds=schedule[attempts]),
        }
        log.info("usage report %s failed (%s); retrying", report.id, error)
    else:
        values |= {"status": "failed", "last_error": error[:500]}
        log.error("usage report %s failed for good: %s", report.id, error)
    await session.execute(
        update(UsageReport)
        .where(UsageReport.id == report.id, UsageReport.attempts == report.attempts)
        .values(**values)
    )
