"""Quota alerts: one mail at 80 % of an allowance and one at 100 %, each once per period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from vocalis.kit.clock import ManualClock
from vocalis.mail.models import OutboundMail
from vocalis.usage.alerts import QuotaAlerts

TEN_CHARACTERS = "Hello you."


async def alerts_for(app: Any) -> list[tuple[str, str]]:
    async with app.state.runtime.database.session() as session:
        rows = await session.execute(
            select(OutboundMail.to_address, OutboundMail.subject).where(
                OutboundMail.template == "quota_alert"
            )
        )
        return sorted(tuple(row) for row in rows)


async def test_an_alert_at_80_and_at_100_percent_once_each_per_period(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any], clock: ManualClock
) -> None:
    runtime = app.state.runtime
    alerts = QuotaAlerts(runtime.database, clock, runtime.meter, base_url="http://vocalis.test")
    headers = {"X-API-Key": await make_key("quota@example.com", char_limit=100)}

    async def speak(times: int) -> None:
        for _ in range(times):
            response = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
            assert response.status_code == 200

    await speak(7)  # 70 %
    assert await alerts.run_once() == 0
    await speak(1)  # 80 %
    assert await alerts.run_once() == 1
    assert await alerts.run_once() == 0  # once
    await speak(2)  # 100 %
    assert await alerts.run_once() == 1
    assert await alerts_for(app) == [
        ("quota@example.com", "You have used 100% of your characters"),
        ("quota@example.com", "You have used 80% of your characters"),
    ]
    clock.advance(timedelta(days=40))  # a new period: alerts may come again
    await speak(10)
    assert await alerts.run_once() == 1  # the highest reached only
    assert len(await alerts_for(app)) == 3
