"""Quota alerts: a mail when an account has used 80 % of an allowance this period, and another
at 100 %, each once per period and allowance.

Found by a periodic look at the period's counters rather than on every request: the hot path
pays nothing, and an alert goes out within a minute. "Once" is the mail outbox's dedupe key
(account, period, allowance, threshold), so several processes looking at once send one mail.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select

from vocalis.accounts.models import Account
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.mail.outbox import enqueue
from vocalis.usage.meter import Meter
from vocalis.usage.models import UsagePeriod
from vocalis.usage.periods import UNLIMITED, WHOLE_ACCOUNT

log = logging.getLogger(__name__)

THRESHOLDS = (80, 100)
INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class _Crossed:
    account_id: str
    email: str
    allowance: str  # "characters" or "audio seconds"
    percent: int
    used: str
    limit: str


class QuotaAlerts:
    def __init__(self, database: Database, clock: Clock, meter: Meter, *, base_url: str) -> None:
        self._database = database
        self._clock = clock
        self._meter = meter
        self._base_url = base_url
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="quota-alerts")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def run_once(self) -> int:
        """Queue the alerts due now; returns how many mails were queued."""
        now = self._clock.now()
        queued = 0
        async with self._database.session(write=True) as session:
            rows = await session.execute(
                select(
                    Account.id,
                    Account.email,
                    Account.plan,
                    Account.char_limit,
                    Account.seconds_limit,
                    Account.spend_cap_cents,
                    UsagePeriod.period_start,
                    UsagePeriod.period_end,
                    UsagePeriod.chars_used,
                    UsagePeriod.audio_ms_used,
                )
                .join(UsagePeriod, UsagePeriod.account_id == Account.id)
                .where(UsagePeriod.key_id == WHOLE_ACCOUNT)
                # The period holding `now`, however the account's periods are cut.
                .where(UsagePeriod.period_start <= now)
                .where(UsagePeriod.period_end > now)
                .where(or_(UsagePeriod.chars_used > 0, UsagePeriod.audio_ms_used > 0))
            )
            for row in rows.all():
                allowance = self._meter.allowance_of(
                    row.plan, row.char_limit, row.seconds_limit, spend_cap_cents=row.spend_cap_cents
                )
                for crossed in _crossed(
                    row.id,
                    row.email,
                    {"characters": row.chars_used, "audio seconds": row.audio_ms_used},
                    {"characters": allowance.characters, "audio seconds": allowance.audio_ms},
                ):
                    key = (
                        f"quota:{crossed.account_id}:{row.period_start:%Y-%m-%d}:"
                        f"{crossed.allowance}:{crossed.percent}"
                    )
                    queued += await enqueue(
                        session,
                        to=crossed.email,
                        template="quota_alert",
                        context={
                            "percent": str(crossed.percent),
                            "allowance": crossed.allowance,
                            "used": crossed.used,
                            "limit": crossed.limit,
                            "resets_at": f"{row.period_end:%Y-%m-%d %H:%M} UTC",
                        },
                        base_url=self._base_url,
                        now=now,
                        dedupe_key=key,
                    )
        return queued

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.warning("quota alerts failed; will retry", exc_info=True)
            await asyncio.sleep(INTERVAL_SECONDS)


def _crossed(
    account_id: str,
    email: str,
    used: dict[str, int],
    limits: dict[str, int],
) -> list[_Crossed]:
    """The thresholds reached, the highest only per allowance (someone who jumps from 50 % to
    100 % gets one mail, not two)."""
    found = []
    for allowance, figure in used.items():
        limit = limits[allowance]
        if limit <= 0 or limit >= UNLIMITED:
            continue
        reached = [percent for percent in THRESHOLDS if figure * 100 >= limit * percent]
        if reached:
            scale = 1000 if allowance == "audio seconds" else 1  # counted in milliseconds
            found.append(
                _Crossed(
                    account_id,
                    email,
                    allowance,
                    reached[-1],
                    f"{figure // scale:,}",
                    f"{limit // scale:,}",
                )
            )
    return found
