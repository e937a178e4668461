"""Pay-as-you-go: the characters charged become Billing Meter events that add up to exactly
what was charged, a failed report is retried under the same identifier, and a spend cap is a
quota limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.billing.fake_stripe import FakeStripe
from tests.billing.test_checkout import account_row
from tests.billing.test_stripe_events import process, subscribe_through_checkout
from vocalis.billing.models import UsageReport
from vocalis.billing.stripe_api import METER_EVENT_NAME
from vocalis.kit.clock import ManualClock

TEXTS = ["Pay as you go.", "Every character counts.", "Pay as you go."]  # the last: a cache hit


async def payg_key(
    app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> dict[str, str]:
    await subscribe_through_checkout(app, web, stripe_api, clock, plan="payg")
    assert (await account_row(app)).plan == "payg"
    secret = (await web.post("/account/keys", json={"name": "metered"})).json()["secret"]
    return {"Authorization": f"Bearer {secret}"}


async def speak(web: httpx.AsyncClient, bearer: dict[str, str], texts: list[str]) -> None:
    for text in texts:
        answer = await web.post("/v1/tts", json={"text": text}, headers=bearer)
        assert answer.status_code == 200, answer.text


async def charged(web: httpx.AsyncClient) -> int:
    return (await web.get("/account/quota")).json()["characters"]["used"]


def next_hour(clock: ManualClock) -> None:
    now = clock.now()
    clock.advance(
        now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, minutes=1) - now
    )


async def test_meter_events_add_up_to_the_characters_charged(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    bearer = await payg_key(billing_app, web, stripe_api, clock)
    quota = (await web.get("/account/quota")).json()
    assert quota["characters"]["limit"] is None  # metered: no monthly allowance
    await speak(web, bearer, TEXTS)
    first = await charged(web)
    assert first == sum(len(text) for text in TEXTS)

    await process(billing_app)
    assert stripe_api.meter_events == []  # the hour has not ended yet
    next_hour(clock)
    await process(billing_app)
    await process(billing_app)  # a second run in the same hour reports nothing more
    account = await account_row(billing_app)
    [event] = stripe_api.meter_events
    assert event["event_name"] == METER_EVENT_NAME
    assert event["payload"] == {
        "stripe_customer_id": account.stripe_customer_id,
        "value": str(first),
    }
    stamp = datetime.fromtimestamp(int(event["timestamp"]), UTC)
    assert clock.now() - timedelta(hours=1, minutes=1) <= stamp < clock.now()

    await speak(web, bearer, ["And a little more."])
    next_hour(clock)
    await process(billing_app)
    values = [int(e["payload"]["value"]) for e in stripe_api.meter_events]
    assert values == [first, len("And a little more.")]
    assert sum(values) == await charged(web)
    assert len({e["identifier"] for e in stripe_api.meter_events}) == 2


async def test_a_failed_report_is_retried_with_the_same_identifier(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    bearer = await payg_key(billing_app, web, stripe_api, clock)
    await speak(web, bearer, TEXTS[:1])
    next_hour(clock)
    stripe_api.fail_next("/v1/billing/meter_events", count=3)  # the SDK's own retries too
    await process(billing_app)
    assert stripe_api.meter_events == []
    async with billing_app.state.runtime.database.session() as session:
        [report] = list(await session.scalars(select(UsageReport)))
    assert (report.status, report.attempts) == ("pending", 1)

    clock.advance(timedelta(seconds=10))
    await process(billing_app)
    [event] = stripe_api.meter_events
    assert event["identifier"] == report.id and event["payload"]["value"] == str(len(TEXTS[0]))
    tries = [call for call in stripe_api.calls if call[1] == "/v1/billing/meter_events"]
    assert len(tries) == 4
    async with billing_app.state.runtime.database.session() as session:
        assert (await session.get(UsageReport, report.id)).status == "reported"  # type: ignore[union-attr]


async def test_the_spend_cap_is_a_quota_limit(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    bearer = await payg_key(billing_app, web, stripe_api, clock)
    capped = await web.put("/billing/spend-cap", json={"spend_cap_cents": 0})
    assert capped.status_code == 200 and capped.json()["spend_cap_characters"] == 0
    refused = await web.post("/v1/tts", json={"text": TEXTS[0]}, headers=bearer)
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"

    raised = await web.put("/billing/spend-cap", json={"spend_cap_cents": 1})
    assert raised.json()["spend_cap_characters"] == 3333  # 1 cent at €3 a million characters
    await speak(web, bearer, TEXTS[:1])
    quota = (await web.get("/account/quota")).json()["characters"]
    assert quota == {"limit": 3333, "used": len(TEXTS[0]), "remaining": 3333 - len(TEXTS[0])}

    lifted = await web.put("/billing/spend-cap", json={"spend_cap_cents": None})
    assert lifted.json()["spend_cap_characters"] is None
    assert (await web.get("/account/quota")).json()["characters"]["limit"] is None
    bad = await web.put("/billing/spend-cap", json={"spend_cap_cents": -5})
    assert bad.status_code == 422


async def test_a_spend_cap_needs_the_metered_plan(billing_app: Any, web: httpx.AsyncClient) -> None:
    answer = await web.put("/billing/spend-cap", json={"spend_cap_cents": 500})
    assert answer.status_code == 422 and answer.json()["code"] == "not_metered"
    assert (await web.get("/account/billing")).json()["spend_cap_cents"] is None
