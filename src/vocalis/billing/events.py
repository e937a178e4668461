"""Stripe's webhook events: verified and stored once on arrival, applied later by the worker.

Events can come twice and out of order, so none is applied from its own contents: the worker
asks Stripe for the subscription it concerns as it is now, and sets the account from that. Two
deliveries of one event, or `updated` before `created`, end in the same state.

What a subscription's state does to its account:
- active / trialing: the subscribed plan applies, and the quota period is the subscription's;
- past_due / unpaid: the plan still applies for `grace`, then the account falls back to Free
  (its keys keep working within Free) until a payment goes through;
- canceled: the plan applies until the end of the period paid for, then Free.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.models import Account
from vocalis.billing.models import BillingEvent
from vocalis.billing.plans import Catalogue
from vocalis.billing.service import BillingDisabled
from vocalis.billing.stripe_api import StripeGateway, SubscriptionState
from vocalis.kit.audit import audit
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database, inserting_missing
from vocalis.kit.errors import VocalisError
from vocalis.mail.outbox import enqueue

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300  # Stripe's own default: older signatures are refused
PAID = frozenset({"active", "trialing"})
OVERDUE = frozenset({"past_due", "unpaid"})
ENDED = frozenset({"canceled", "incomplete_expired"})
LIVE = PAID | OVERDUE
HANDLED = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }
)


class InvalidStripeEvent(VocalisError):
    status_code = 400
    code = "invalid_signature"


def verify(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event in `payload` if Stripe signed it (recently) with `secret`; else 400."""
    if not signature:
        raise InvalidStripeEvent("missing Stripe-Signature header")
    try:
        stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        raise InvalidStripeEvent(
            "the Stripe-Signature header does not match this body, or is too old"
        ) from None
    except ValueError:
        raise InvalidStripeEvent(
            "the body is not a JSON Stripe event", code="invalid_payload"
        ) from None
    event = json.loads(payload)
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event.get("type")):
        raise InvalidStripeEvent("the body is not a Stripe event", code="invalid_payload")
    return event


async def store(
    session: AsyncSession, event: dict[str, Any], payload: bytes, now: datetime
) -> bool:
    """Keep the event for the worker; False when it was already kept (a redelivery)."""
    table = BillingEvent.__table__
    values = {
        "id": event["id"],
        "type": str(event["type"])[:100],
        "stripe_created_at": datetime.fromtimestamp(int(event.get("created") or 0), UTC),
        "payload": payload.decode(),
        "received_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
    }
    dialect = session.get_bind().dialect.name
    statement = inserting_missing(dialect, table, values, keys=["id"])  # type: ignore[arg-type]
    return await session.scalar(statement.returning(table.c.id)) is not None


@dataclass(frozen=True)
class Applied:
    account_id: str | None
    outcome: str


@dataclass(frozen=True)
class BillingRules:
    catalogue: Catalogue
    free_plan: str
    grace: timedelta
    base_url: str


def subscription_of(event: dict[str, Any]) -> str | None:
    """The id of the subscription an event concerns, if any."""
    obj = event.get("data", {}).get("object", {})
    kind = event["type"]
    if kind.startswith("customer.subscription."):
        return obj.get("id")
    if kind == "checkout.session.completed":
        found = obj.get("subscription")
        return found if isinstance(found, str) or found is None else found.get("id")
    if kind.startswith("invoice."):
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        found = obj.get("subscription") or details.get("subscription")
        return found if isinstance(found, str) or found is None else found.get("id")
    return None


async def fetch_state(gateway: StripeGateway, event: dict[str, Any]) -> SubscriptionState | None:
    """The current state of the event's subscription, from Stripe (outside any transaction)."""
    if event["type"] not in HANDLED:
        return None
    subscription_id = subscription_of(event)
    return await gateway.subscription(subscription_id) if subscription_id else None


async def apply(
    session: AsyncSession,
    event: dict[str, Any],
    state: SubscriptionState | None,
    rules: BillingRules,
    now: datetime,
) -> Applied:
    """Set the account from the subscription's current state, and queue the event's mail."""
    kind = event["type"]
    obj = event.get("data", {}).get("object", {})
    if kind not in HANDLED:
        return Applied(None, f"ignored: Vocalis does not act on {kind}")
    account = await _account_for(session, event, state)
    if account is None:
        return Applied(None, "ignored: no account has this customer or subscription")
    if kind == "checkout.session.completed" and account.stripe_customer_id is None:
        account.stripe_customer_id = obj.get("customer")
    if state is None:
        return Applied(account.id, "no subscription to follow")
    outcome = await follow(session, account, state, rules, now)
    if kind == "invoice.paid" and obj.get("billing_reason") == "subscription_create":
        await _mail_welcome(session, account, rules, now, invoice_id=str(obj.get("id")))
    if kind == "invoice.payment_failed":
        await _mail_payment_failed(session, account, rules, now, obj)
    return Applied(account.id, outcome)


async def follow(
    session: AsyncSession,
    account: Account,
    state: SubscriptionState,
    rules: BillingRules,
    now: datetime,
) -> str:
    """Make `account` follow `state`; what changed, in words."""
    current = account.stripe_subscription_id
    if current not in (None, state.id) and account.subscription_status in LIVE:
        if state.status not in LIVE:
            return f"ignored: {state.id} ended, but {current} is the account's live subscription"
    plan = rules.catalogue.by_lookup_key(state.lookup_key) if state.lookup_key else None
    if plan is None and state.status in LIVE:
        raise UnknownPrice(f"no plan sells the price with lookup key {state.lookup_key!r}")
    before = (account.plan, account.subscription_status)
    account.stripe_subscription_id = state.id
    account.stripe_customer_id = account.stripe_customer_id or state.customer_id
    account.subscription_status = state.status
    if state.period_start and state.period_end:
        account.billing_period_start = datetime.fromtimestamp(state.period_start, UTC)
        account.billing_period_end = datetime.fromtimestamp(state.period_end, UTC)
    if state.status in PAID and plan is not None:
        account.subscribed_plan = plan.id
        account.plan = plan.id
        account.payment_overdue_since = None
        account.plan_ends_at = None
    elif state.status in OVERDUE and plan is not None:
        account.subscribed_plan = plan.id
        if account.payment_overdue_since is None:
            account.payment_overdue_since = now
            if account.plan == rules.free_plan and account.plan_ends_at is None:
                account.plan = plan.id  # e.g. first seen overdue: the grace starts now
        await end_overdue(session, account, rules, now)
    elif state.status in ENDED:
        end = account.billing_period_end
        overdue = account.payment_overdue_since is not None
        account.plan_ends_at = now if overdue or end is None or end <= now else end
        await end_plan(session, account, rules, now)
    account.updated_at = now
    after = (account.plan, account.subscription_status)
    if before != after:
        await audit(
            session,
            actor="stripe",
            action="subscription_changed",
            target_type="account",
            target_id=account.id,
            now=now,
            details={"subscription": state.id, "status": state.status, "plan": account.plan},
        )
    return f"{state.id} {state.status}: plan {before[0]} → {account.plan}"


class UnknownPrice(Exception):
    """A subscription to a price no configured plan has: the event is retried (after a fix to
    the plans) rather than guessing."""


async def end_overdue(
    session: AsyncSession, account: Account, rules: BillingRules, now: datetime
) -> bool:
    """Fall back to Free once an unpaid subscription's grace has passed; True if it did."""
    since = account.payment_overdue_since
    if since is None or account.plan == rules.free_plan or since + rules.grace > now:
        return False
    account.plan = rules.free_plan
    account.updated_at = now
    await _mail_downgraded(
        session, account, rules, now, "the subscription stayed unpaid past the grace period."
    )
    return True


async def end_plan(
    session: AsyncSession, account: Account, rules: BillingRules, now: datetime
) -> bool:
    """Fall back to Free once an ended subscription's paid period is over; True if it did."""
    if account.plan_ends_at is None or account.plan_ends_at > now:
        return False
    account.plan_ends_at = None
    account.subscribed_plan = None
    account.payment_overdue_since = None
    if account.plan == rules.free_plan:
        return False
    account.plan = rules.free_plan
    account.updated_at = now
    await _mail_downgraded(session, account, rules, now, "the subscription has ended.")
    return True


async def lapsed_accounts(
    session: AsyncSession, rules: BillingRules, now: datetime
) -> list[Account]:
    """Accounts whose paid plan should end now: grace over, or paid period over."""
    rows = await session.scalars(
        select(Account)
        .where(
            or_(
                Account.payment_overdue_since <= now - rules.grace,
                Account.plan_ends_at <= now,
            )
        )
        .where(or_(Account.plan != rules.free_plan, Account.plan_ends_at.is_not(None)))
        .limit(100)
    )
    return list(rows)


async def _account_for(
    session: AsyncSession, event: dict[str, Any], state: SubscriptionState | None
) -> Account | None:
    obj = event.get("data", {}).get("object", {})
    candidates = [
        state.account_id if state else None,
        obj.get("client_reference_id") if event["type"] == "checkout.session.completed" else None,
        (obj.get("metadata") or {}).get("account_id"),
    ]
    for account_id in candidates:
        if account_id:
            account = await session.get(Account, account_id, with_for_update=True)
            if account is not None:
                return account
    customer = (state.customer_id if state else None) or obj.get("customer")
    if not customer:
        return None
    if not isinstance(customer, str):
        customer = customer.get("id")
    return await session.scalar(
        select(Account).where(Account.stripe_customer_id == customer).with_for_update()
    )


def _allowance_words(rules: BillingRules, plan_id: str) -> str:
    plan = rules.catalogue.get(plan_id)
    if plan.characters is None:
        return "pay as you go, for what you use"
    seconds = rules.catalogue.seconds_for(plan) or 0
    return f"{plan.characters:,} characters and {seconds:,} seconds of audio a month"


async def _mail_welcome(
    session: AsyncSession, account: Account, rules: BillingRules, now: datetime, *, invoice_id: str
) -> None:
    plan = rules.catalogue.get(account.subscribed_plan or account.plan)
    renews = account.billing_period_end
    await enqueue(
        session,
        to=account.email,
        template="subscription_started",
        context={
            "plan": plan.name,
            "allowance": _allowance_words(rules, plan.id),
            "renews_at": renews.strftime("%d %B %Y") if renews else "the same day next month",
        },
        base_url=rules.base_url,
        now=now,
        dedupe_key=f"stripe:{invoice_id}:paid",
    )


async def _mail_payment_failed(
    session: AsyncSession,
    account: Account,
    rules: BillingRules,
    now: datetime,
    invoice: dict[str, Any],
) -> None:
    since = account.payment_overdue_since or now
    plan = rules.catalogue.get(account.subscribed_plan or account.plan)
    await enqueue(
        session,
        to=account.email,
        template="payment_failed",
        context={
            "plan": plan.name,
            "grace_ends_at": (since + rules.grace).strftime("%d %B %Y"),
            "link": f"{rules.base_url}/billing",
        },
        base_url=rules.base_url,
        now=now,
        dedupe_key=f"stripe:{invoice.get('id')}:failed:{invoice.get('attempt_count', 0)}",
    )


async def _mail_downgraded(
    session: AsyncSession, account: Account, rules: BillingRules, now: datetime, reason: str
) -> None:
    await enqueue(
        session,
        to=account.email,
        template="plan_downgraded",
        context={"reason": reason, "link": f"{rules.base_url}/pricing"},
        base_url=rules.base_url,
        now=now,
        dedupe_key=f"downgrade:{account.id}:{account.stripe_subscription_id}:{now:%Y%m%d%H%M}",
    )


class StripeInbox:
    """The webhook's side: verify, keep once, wake the worker if it runs in this process."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        secret: str | None,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._secret = secret
        self._on_stored = on_stored

    @property
    def enabled(self) -> bool:
        return self._secret is not None

    async def receive(self, payload: bytes, signature: str | None) -> bool:
        """Keep a signed event; False when it had been received before (nothing more done)."""
        if self._secret is None:
            raise BillingDisabled("billing is not enabled on this server")
        event = verify(payload, signature, self._secret)
        async with self._database.session(write=True) as session:
            new = await store(session, event, payload, self._clock.now())
        if new and self._on_stored is not None:
            self._on_stored()
        return new


async def list_events(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    account_id: str | None = None,
) -> tuple[list[BillingEvent], int]:
    """Received events, newest first (for the admin API)."""
    query = select(BillingEvent)
    if status is not None:
        query = query.where(BillingEvent.status == status)
    if account_id is not None:
        query = query.where(BillingEvent.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(BillingEvent.received_at.desc(), BillingEvent.id).limit(limit).offset(offset)
    )
    return list(rows), total
