"""Stripe's events, signed with Stripe's scheme and verified by the real library: kept once,
applied from the subscription's current state (so duplicates and disorder do no harm), and the
whole life of a subscription from Checkout to cancellation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.accounts.test_web_accounts import EMAIL, mails_to
from tests.billing.conftest import priced
from tests.billing.fake_stripe import FakeStripe
from tests.billing.test_checkout import account_row
from tests.conftest import client_for, create_key
from vocalis.billing.models import BillingEvent
from vocalis.kit.audit import AuditEntry
from vocalis.kit.clock import ManualClock

SPOKEN = "Hello from a paying customer."


async def deliver(
    client: httpx.AsyncClient, stripe_api: FakeStripe, payload: bytes
) -> httpx.Response:
    return await client.post(
        "/webhooks/stripe", content=payload, headers=stripe_api.signed(payload)
    )


async def templates(app: Any) -> list[str]:
    """The mails queued for the test's person, by template, sorted."""
    return sorted(mail.template for mail in await mails_to(app, EMAIL))


async def process(app: Any) -> None:
    """What the worker does next: apply the stored events, end lapsed plans."""
    await app.state.runtime.billing_worker.run_once()


async def subscribe_through_checkout(
    app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock, plan: str = "pro"
) -> dict[str, Any]:
    """Checkout, then Stripe's side of a paid subscription, then its first two events."""
    priced(stripe_api)
    assert (await web.post("/billing/checkout", json={"plan": plan})).status_code == 200
    account = await account_row(app)
    assert account.stripe_customer_id is not None
    start = int(clock.now().timestamp()) - 3600
    subscription = stripe_api.subscribe(
        account.stripe_customer_id, f"vocalis_{plan}", account_id=account.id, period_start=start
    )
    [checkout] = stripe_api.checkout_sessions[-1:]
    completed = {
        "id": checkout["id"], "object": "checkout.session", "mode": "subscription",
        "client_reference_id": account.id, "customer": account.stripe_customer_id,
        "subscription": subscription["id"], "payment_status": "paid",
        "metadata": checkout["metadata"],
    }  # fmt: skip
    for payload in (
        stripe_api.event("checkout.session.completed", completed),
        stripe_api.event("customer.subscription.created", subscription),
    ):
        answer = await deliver(web, stripe_api, payload)
        assert answer.status_code == 200 and answer.json() == {"received": True, "duplicate": False}
    await process(app)
    return subscription


def invoice(
    subscription: dict[str, Any], *, reason: str = "subscription_cycle", attempt: int = 1
) -> dict[str, Any]:
    return {
        "id": f"in_{subscription['id']}_{reason}_{attempt}", "object": "invoice",
        "customer": subscription["customer"], "billing_reason": reason, "attempt_count": attempt,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription["id"]},
        },
    }  # fmt: skip


async def test_a_subscription_from_checkout_to_cancellation(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    subscription = await subscribe_through_checkout(billing_app, web, stripe_api, clock)
    period = subscription["items"]["data"][0]
    account = await account_row(billing_app)
    assert (account.plan, account.subscription_status) == ("pro", "active")
    assert account.stripe_subscription_id == subscription["id"]

    # Pro's limits, and the subscription's period instead of the calendar month.
    quota = (await web.get("/account/quota")).json()
    assert quota["plan"] == "pro" and quota["characters"]["limit"] == 500_000
    assert datetime.fromisoformat(quota["resets_at"]) == datetime.fromtimestamp(
        period["current_period_end"], UTC
    )
    key = (await web.post("/account/keys", json={"name": "app"})).json()["secret"]
    bearer = {"Authorization": f"Bearer {key}"}
    spoken = await web.post("/v1/tts", json={"text": SPOKEN}, headers=bearer)
    assert spoken.status_code == 200
    assert int(spoken.headers["X-Quota-Characters-Remaining"]) == 500_000 - len(SPOKEN)

    # The first invoice is paid: a welcome mail.
    paid = stripe_api.event("invoice.paid", invoice(subscription, reason="subscription_create"))
    assert (await deliver(web, stripe_api, paid)).status_code == 200
    await process(billing_app)
    assert await templates(billing_app) == ["subscription_started", "verify_email"]

    # A renewal fails: a mail, the plan holds through the grace period...
    subscription["status"] = "past_due"
    failed = stripe_api.event("invoice.payment_failed", invoice(subscription))
    assert (await deliver(web, stripe_api, failed)).status_code == 200
    await process(billing_app)
    account = await account_row(billing_app)
    assert (account.plan, account.subscription_status) == ("pro", "past_due")
    shown = (await web.get("/account/billing")).json()
    assert shown["grace_ends_at"] is not None and account.payment_overdue_since is not None
    assert datetime.fromisoformat(
        shown["grace_ends_at"]
    ) == account.payment_overdue_since + timedelta(days=3)
    [failure] = [m for m in await mails_to(billing_app, EMAIL) if m.template == "payment_failed"]
    assert account.payment_overdue_since is not None
    assert f"{account.payment_overdue_since + timedelta(days=3):%d %B %Y}" in failure.text_body
    clock.advance(timedelta(days=2))
    await process(billing_app)
    assert (await account_row(billing_app)).plan == "pro"

    # ...and once it has passed, Free's limits; the key keeps working within them.
    clock.advance(timedelta(days=1, minutes=1))
    await process(billing_app)
    account = await account_row(billing_app)
    assert account.plan == "free" and account.subscribed_plan == "pro"
    assert (await templates(billing_app)).count("plan_downgraded") == 1
    spoken = await web.post("/v1/tts", json={"text": SPOKEN}, headers=bearer)
    assert spoken.status_code == 200
    assert int(spoken.headers["X-Quota-Characters-Remaining"]) == 10_000 - 2 * len(SPOKEN)

    # Stripe gives up and deletes the subscription: Free it stays, and says so.
    subscription["status"] = "canceled"
    deleted = stripe_api.event("customer.subscription.deleted", subscription)
    assert (await deliver(web, stripe_api, deleted)).status_code == 200
    await process(billing_app)
    account = await account_row(billing_app)
    assert (account.plan, account.subscription_status) == ("free", "canceled")
    state = (await web.get("/account/billing")).json()
    assert state["plan"] == "free" and state["subscription_status"] == "canceled"

    # The operator sees the account's billing and every event with what it did.
    operator = await create_key(billing_app, "ops@example.com", scopes=("admin",))
    admin = {"Authorization": f"Bearer {operator}"}
    seen = (await web.get(f"/admin/api/accounts/{account.id}", headers=admin)).json()
    assert seen["stripe_customer_id"] == account.stripe_customer_id
    assert (seen["stripe_subscription_id"], seen["subscription_status"]) == (
        subscription["id"],
        "canceled",
    )
    listed = (await web.get("/admin/api/billing/events", headers=admin)).json()
    assert listed["total"] == 5
    assert {e["type"] for e in listed["data"]} == {
        "checkout.session.completed", "customer.subscription.created", "invoice.paid",
        "invoice.payment_failed", "customer.subscription.deleted",
    }  # fmt: skip
    assert all(e["status"] == "processed" and e["account_id"] == account.id for e in listed["data"])
    assert any("plan free → pro" in e["outcome"] for e in listed["data"])
    failed_only = await web.get("/admin/api/billing/events?status=failed", headers=admin)
    assert failed_only.json()["total"] == 0


async def test_paying_again_within_the_grace_keeps_the_plan(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    subscription = await subscribe_through_checkout(billing_app, web, stripe_api, clock)
    subscription["status"] = "past_due"
    await deliver(
        web, stripe_api, stripe_api.event("invoice.payment_failed", invoice(subscription))
    )
    await process(billing_app)
    clock.advance(timedelta(days=1))
    subscription["status"] = "active"
    await deliver(web, stripe_api, stripe_api.event("invoice.paid", invoice(subscription)))
    await process(billing_app)
    clock.advance(timedelta(days=10))
    await process(billing_app)
    account = await account_row(billing_app)
    assert (account.plan, account.payment_overdue_since) == ("pro", None)


async def test_a_cancelled_plan_lasts_until_the_end_of_its_period(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    subscription = await subscribe_through_checkout(
        billing_app, web, stripe_api, clock, plan="scale"
    )
    subscription["status"] = "canceled"
    await deliver(web, stripe_api, stripe_api.event("customer.subscription.deleted", subscription))
    await process(billing_app)
    account = await account_row(billing_app)
    end = datetime.fromtimestamp(subscription["items"]["data"][0]["current_period_end"], UTC)
    assert account.plan == "scale" and account.plan_ends_at == end
    clock.advance(end - clock.now() + timedelta(seconds=1))
    await process(billing_app)
    account = await account_row(billing_app)
    assert account.plan == "free" and account.plan_ends_at is None
    assert "plan_downgraded" in await templates(billing_app)


async def test_the_same_event_twice_is_processed_once(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    subscription = await subscribe_through_checkout(billing_app, web, stripe_api, clock)
    payload = stripe_api.event("invoice.paid", invoice(subscription, reason="subscription_create"))
    first = await deliver(web, stripe_api, payload)
    second = await deliver(web, stripe_api, payload)
    assert first.json()["duplicate"] is False and second.json() == {
        "received": True,
        "duplicate": True,
    }
    await process(billing_app)
    await deliver(web, stripe_api, payload)  # after processing, too
    await process(billing_app)
    event_id = json.loads(payload)["id"]
    async with billing_app.state.runtime.database.session() as session:
        rows = list(await session.scalars(select(BillingEvent).where(BillingEvent.id == event_id)))
        changes = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "subscription_changed")
        )
    assert [(row.status, row.attempts) for row in rows] == [("processed", 1)]
    assert changes == 1  # free → pro, once
    welcomes = [
        m for m in await mails_to(billing_app, EMAIL) if m.template == "subscription_started"
    ]
    assert len(welcomes) == 1


async def test_events_out_of_order_end_in_stripes_state(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    priced(stripe_api)
    await web.post("/billing/checkout", json={"plan": "pro"})
    account = await account_row(billing_app)
    assert account.stripe_customer_id is not None
    subscription = stripe_api.subscribe(
        account.stripe_customer_id, "vocalis_pro", account_id=account.id
    )
    created = stripe_api.event(
        "customer.subscription.created",
        json.loads(json.dumps(subscription)),
        created=int(time.time()) - 60,
    )
    # The customer upgraded to Scale right away; `updated` overtakes `created` on the way.
    subscription["items"]["data"][0]["price"] = stripe_api.price_by_lookup_key("vocalis_scale")
    updated = stripe_api.event("customer.subscription.updated", subscription)
    await deliver(web, stripe_api, updated)
    await process(billing_app)
    await deliver(web, stripe_api, created)
    await process(billing_app)
    account = await account_row(billing_app)
    assert (account.plan, account.subscription_status) == ("scale", "active")


async def test_unverifiable_events_are_refused_and_change_nothing(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    subscription = stripe_api.subscribe("cus_000999", "vocalis_pro", account_id="acc_unknown")
    payload = stripe_api.event("customer.subscription.created", subscription)
    forged = stripe_api.signed(payload, secret="whsec_" + "x" * 32)
    stale = stripe_api.signed(payload, timestamp=int(time.time()) - 3600)
    not_json = b"this is not json"
    async with client_for(billing_app) as http:
        answers = [
            await http.post("/webhooks/stripe", content=payload, headers=forged),
            await http.post("/webhooks/stripe", content=payload, headers=stale),
            await http.post(
                "/webhooks/stripe", content=not_json, headers=stripe_api.signed(not_json)
            ),
            await http.post(
                "/webhooks/stripe", content=payload, headers={"Content-Type": "application/json"}
            ),
            await http.post(
                "/webhooks/stripe", content=payload + b" ", headers=stripe_api.signed(payload)
            ),
        ]
    assert [a.status_code for a in answers] == [400] * 5
    codes = [a.json()["code"] for a in answers]
    assert codes == ["invalid_signature"] * 2 + ["invalid_payload"] + ["invalid_signature"] * 2
    async with billing_app.state.runtime.database.session() as session:
        assert await session.scalar(select(func.count()).select_from(BillingEvent)) == 0


async def test_an_event_that_cannot_be_applied_yet_is_retried(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe, clock: ManualClock
) -> None:
    priced(stripe_api)
    await web.post("/billing/checkout", json={"plan": "pro"})
    account = await account_row(billing_app)
    subscription = stripe_api.subscribe(
        account.stripe_customer_id, "vocalis_pro", account_id=account.id
    )  # type: ignore[arg-type]
    stripe_api.fail_next(f"/v1/subscriptions/{subscription['id']}", count=3)
    await deliver(web, stripe_api, stripe_api.event("customer.subscription.created", subscription))
    await process(billing_app)
    async with billing_app.state.runtime.database.session() as session:
        [row] = list(await session.scalars(select(BillingEvent)))
    assert (
        row.status == "pending"
        and row.attempts == 1
        and "Stripe answered 500" in (row.last_error or "")
    )
    assert (await account_row(billing_app)).plan == "free"
    clock.advance(timedelta(seconds=10))  # the schedule's second delay
    await process(billing_app)
    assert (await account_row(billing_app)).plan == "pro"
