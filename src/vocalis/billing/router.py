"""Billing over HTTP: the public price list, Checkout and the Customer Portal for a logged-in
person, and the endpoint Stripe sends its events to."""

from __future__ import annotations

from fastapi import APIRouter, Header, Request, Response

from vocalis.accounts.deps import WebUser
from vocalis.billing.deps import BillingDep, PlansDep, StripeInboxDep
from vocalis.billing.plans import Catalogue
from vocalis.billing.schemas import (
    BillingOut,
    CheckoutIn,
    PlanList,
    PlanOut,
    RedirectOut,
    SpendCapIn,
    StripeWebhookOut,
)
from vocalis.billing.service import BillingState

router = APIRouter(prefix="/v1", tags=["plans"])
account_router = APIRouter(prefix="/billing", tags=["billing"])
# The state lives with the account's other pages' data: /billing itself is the dashboard's page.
state_router = APIRouter(prefix="/account", tags=["billing"])
stripe_router = APIRouter(prefix="/webhooks", tags=["billing"])


@router.get("/plans", response_model=PlanList, summary="Plans, prices and allowances")
async def list_plans(plans: PlansDep, response: Response) -> PlanList:
    response.headers["Cache-Control"] = "public, max-age=300"
    return PlanList(
        plans=[
            PlanOut(
                id=plan.id,
                name=plan.name,
                price_cents=plan.price_cents,
                currency=plan.currency.lower(),
                characters=plan.characters,
                audio_seconds=plans.seconds_for(plan),
                metered=plan.metered,
            )
            for plan in plans
        ]
    )


@state_router.get("/billing", response_model=BillingOut, summary="Your plan and subscription")
async def get_billing(caller: WebUser, billing: BillingDep, plans: PlansDep) -> BillingOut:
    return _billing_out(await billing.state(caller.principal.account_id), billing.enabled, plans)


@account_router.post(
    "/checkout", response_model=RedirectOut, summary="Pay for a plan with Stripe Checkout"
)
async def start_checkout(body: CheckoutIn, caller: WebUser, billing: BillingDep) -> RedirectOut:
    """A Checkout URL for the plan; an account that already has a subscription gets the
    Customer Portal's URL instead (`kind: portal`), never a second subscription."""
    redirect = await billing.checkout(caller.principal.account_id, body.plan)
    return RedirectOut(url=redirect.url, kind=redirect.kind)  # type: ignore[arg-type]


@account_router.post("/portal", response_model=RedirectOut, summary="Open Stripe's Customer Portal")
async def open_portal(caller: WebUser, billing: BillingDep) -> RedirectOut:
    """Plan changes, payment methods, invoices and cancellation, on Stripe's own page."""
    redirect = await billing.portal(caller.principal.account_id)
    return RedirectOut(url=redirect.url, kind="portal")


@account_router.put(
    "/spend-cap", response_model=BillingOut, summary="Pay-as-you-go's monthly spend cap"
)
async def set_spend_cap(
    body: SpendCapIn, caller: WebUser, billing: BillingDep, plans: PlansDep
) -> BillingOut:
    """Past the cap, synthesis is refused (429 quota_exceeded) until the next period."""
    state = await billing.set_spend_cap(caller.principal.account_id, body.spend_cap_cents)
    return _billing_out(state, billing.enabled, plans)


@stripe_router.post(
    "/stripe",
    response_model=StripeWebhookOut,
    summary="Stripe's events (signed; no API key)",
    responses={400: {"description": "Bad signature, old timestamp or not an event"}},
)
async def receive_stripe_event(
    request: Request,
    inbox: StripeInboxDep,
    stripe_signature: str | None = Header(None, alias="Stripe-Signature"),
) -> StripeWebhookOut:
    """Verified against VOCALIS_STRIPE_WEBHOOK_SECRET, kept once by its id, answered at once;
    the worker applies it."""
    payload = await request.body()
    new = await inbox.receive(payload, stripe_signature)
    return StripeWebhookOut(duplicate=not new)


def _billing_out(state: BillingState, enabled: bool, plans: Catalogue) -> BillingOut:
    return BillingOut(
        enabled=enabled,
        plan=state.plan,
        subscribed_plan=state.subscribed_plan,
        subscription_status=state.subscription_status,
        period_start=state.period_start,
        period_end=state.period_end,
        payment_overdue_since=state.payment_overdue_since,
        plan_ends_at=state.plan_ends_at,
        spend_cap_cents=state.spend_cap_cents,
        spend_cap_characters=plans.cap_characters(state.plan, state.spend_cap_cents),
        grace_ends_at=state.grace_ends_at,
        portal_available=enabled and state.has_customer,
    )
