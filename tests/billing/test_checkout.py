"""Checkout and the Customer Portal for a logged-in person, through the real SDK against a fake
Stripe; and the billing routes on a server without Stripe."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.accounts.test_web_accounts import EMAIL, PASSWORD, log_in
from tests.billing.conftest import BASE_URL, browser, priced
from tests.billing.fake_stripe import FakeStripe
from vocalis.accounts.models import Account


async def account_row(app: Any, email: str = EMAIL) -> Account:
    async with app.state.runtime.database.session() as session:
        return (await session.scalars(select(Account).where(Account.email == email))).one()


async def test_checkout_for_pro_ties_the_session_to_the_account(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    priced(stripe_api)
    answer = await web.post("/billing/checkout", json={"plan": "pro"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "checkout"
    [session] = stripe_api.checkout_sessions
    assert answer.json()["url"] == session["url"]

    account = await account_row(billing_app)
    assert session["mode"] == "subscription"
    assert session["client_reference_id"] == account.id
    assert session["metadata"] == {"account_id": account.id, "plan": "pro"}
    assert session["subscription_data"]["metadata"]["account_id"] == account.id
    assert session["line_items"] == [
        {"price": stripe_api.price_by_lookup_key("vocalis_pro")["id"], "quantity": "1"}  # type: ignore[index]
    ]
    assert session["success_url"].startswith(f"{BASE_URL}/billing?checkout=success")
    assert session["cancel_url"] == f"{BASE_URL}/billing?checkout=cancelled"
    # The customer was made once, for this account, and is kept.
    [customer] = stripe_api.customers.values()
    assert session["customer"] == customer["id"] == account.stripe_customer_id
    assert customer["email"] == EMAIL and customer["metadata"] == {"account_id": account.id}

    # A double click gets the same session back; another plan gets its own, same customer.
    twice = await web.post("/billing/checkout", json={"plan": "pro"})
    assert twice.json() == answer.json() and len(stripe_api.checkout_sessions) == 1
    again = await web.post("/billing/checkout", json={"plan": "starter"})
    assert again.status_code == 200
    assert len(stripe_api.customers) == 1
    assert stripe_api.checkout_sessions[1]["customer"] == customer["id"]
    assert (await web.get("/account/billing")).json()["portal_available"] is True


async def test_metered_checkout_has_no_quantity(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    priced(stripe_api)
    assert (await web.post("/billing/checkout", json={"plan": "payg"})).status_code == 200
    [session] = stripe_api.checkout_sessions
    assert session["line_items"] == [
        {"price": stripe_api.price_by_lookup_key("vocalis_payg")["id"]}
    ]  # type: ignore[index]


async def test_a_subscriber_asking_for_checkout_gets_the_portal(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    priced(stripe_api)
    await web.post("/billing/checkout", json={"plan": "pro"})
    account = await account_row(billing_app)
    async with billing_app.state.runtime.database.session(write=True) as session:
        row = await session.get(Account, account.id)
        assert row is not None
        row.stripe_subscription_id, row.subscription_status = "sub_000123", "active"

    answer = await web.post("/billing/checkout", json={"plan": "scale"})
    assert answer.status_code == 200
    assert answer.json()["kind"] == "portal"
    assert len(stripe_api.checkout_sessions) == 1  # never a second subscription
    [portal] = stripe_api.portal_sessions
    assert answer.json()["url"] == portal["url"]
    assert portal["customer"] == account.stripe_customer_id
    assert portal["return_url"] == f"{BASE_URL}/billing"

    opened = await web.post("/billing/portal")
    assert opened.status_code == 200 and opened.json()["kind"] == "portal"


async def test_refusals_change_nothing(
    billing_app: Any, web: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    # No price in Stripe yet: the operator has not run `vocalis billing sync`.
    missing = await web.post("/billing/checkout", json={"plan": "pro"})
    assert missing.status_code == 503 and missing.json()["code"] == "plan_not_in_stripe"
    priced(stripe_api)
    unknown = await web.post("/billing/checkout", json={"plan": "platinum"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_plan"
    free = await web.post("/billing/checkout", json={"plan": "free"})
    assert free.status_code == 422 and free.json()["code"] == "plan_is_free"
    no_customer = await web.post("/billing/portal")
    assert no_customer.status_code == 404 and no_customer.json()["code"] == "no_billing_account"

    stripe_api.fail_next("/v1/customers", count=5)  # the SDK retries; Stripe stays down
    down = await web.post("/billing/checkout", json={"plan": "pro"})
    assert down.status_code == 502 and down.json()["code"] == "stripe_unavailable"
    assert stripe_api.checkout_sessions == [] and stripe_api.customers == {}
    assert (await account_row(billing_app)).stripe_customer_id is None

    async with browser(billing_app) as stranger:
        anonymous = await stranger.post("/billing/checkout", json={"plan": "pro"})
        assert anonymous.status_code == 401
    no_csrf = await web.post(
        "/billing/checkout", json={"plan": "pro"}, headers={"X-CSRF-Token": ""}
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_failed"
    assert stripe_api.checkout_sessions == []


async def test_an_unverified_address_cannot_subscribe(
    billing_app: Any, stripe_api: FakeStripe
) -> None:
    priced(stripe_api)
    async with browser(billing_app) as http:
        signed = await http.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
        assert signed.status_code == 202
        http.headers["X-CSRF-Token"] = await log_in(http)
        answer = await http.post("/billing/checkout", json={"plan": "pro"})
    assert answer.status_code == 403 and answer.json()["code"] == "email_not_verified"
    assert stripe_api.customers == {}


async def test_without_stripe_billing_routes_say_so(app: Any, client: httpx.AsyncClient) -> None:
    from tests.accounts.test_web_accounts import sign_up_and_verify

    await sign_up_and_verify(app, client)
    client.headers["X-CSRF-Token"] = await log_in(client)
    for path in ("/billing/checkout", "/billing/portal"):
        answer = await client.post(path, json={"plan": "pro"})
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "billing_disabled"
    state = await client.get("/account/billing")
    assert state.status_code == 200
    assert state.json()["enabled"] is False and state.json()["plan"] == "free"
    event = await client.post(
        "/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"}
    )
    assert event.status_code == 404 and event.json()["code"] == "billing_disabled"
    # Everything else works as before.
    assert (await client.get("/v1/plans")).status_code == 200
