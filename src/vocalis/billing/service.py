"""Paying for a plan: Checkout for a new subscription, the Customer Portal for everything after.

An account has at most one subscription: asking for Checkout while one is live gets the portal
instead (plan changes, payment methods, invoices and cancellation all happen there). The
account's Stripe customer is made once, with an idempotency key of the account's id, so two
Checkouts at once still share one customer. No database transaction is held open across a call
to Stripe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from vocalis.accounts.models import Account
from vocalis.billing.plans import Catalogue, Plan
from vocalis.billing.stripe_api import StripeGateway, StripeUnavailable
from vocalis.kit.audit import audit
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.errors import Forbidden, InvalidInput, NotFound, ServiceUnavailable, VocalisError

log = logging.getLogger(__name__)

LIVE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid"})  # a subscription to keep


class BillingDisabled(NotFound):
    code = "billing_disabled"


class StripeFailed(VocalisError):
    status_code = 502
    code = "stripe_unavailable"


@dataclass(frozen=True)
class Redirect:
    """Where to send the person: Stripe Checkout, or the Customer Portal."""

    url: str
    kind: str  # "checkout" | "portal"


@dataclass(frozen=True)
class BillingState:
    plan: str
    subscribed_plan: str | None
    subscription_status: str | None
    period_start: datetime | None
    period_end: datetime | None
    payment_overdue_since: datetime | None
    plan_ends_at: datetime | None
    spend_cap_cents: int | None
    has_customer: bool
    grace_ends_at: datetime | None


class Billing:
    def __init__(
        self,
        gateway: StripeGateway | None,
        database: Database,
        clock: Clock,
        catalogue: Catalogue,
        *,
        base_url: str,
        grace: timedelta = timedelta(days=7),
        changed: Callable[[str], None] | None = None,
    ) -> None:
        """`changed(account_id)`: an account's limits just changed (this process's key cache
        forgets it)."""
        self._changed = changed or (lambda account_id: None)
        self._grace = grace
        self._gateway = gateway
        self._database = database
        self._clock = clock
        self._catalogue = catalogue
        self._base_url = base_url.rstrip("/")

    @property
    def enabled(self) -> bool:
        return self._gateway is not None

    def _stripe(self) -> StripeGateway:
        if self._gateway is None:
            raise BillingDisabled(
                "billing is not enabled on this server (no Stripe key is configured)"
            )
        return self._gateway

    async def state(self, account_id: str) -> BillingState:
        async with self._database.session() as session:
            account = await _account(session, account_id)
            return BillingState(
                plan=account.plan,
                subscribed_plan=account.subscribed_plan,
                subscription_status=account.subscription_status,
                period_start=account.billing_period_start,
                period_end=account.billing_period_end,
                payment_overdue_since=account.payment_overdue_since,
                plan_ends_at=account.plan_ends_at,
                spend_cap_cents=account.spend_cap_cents,
                has_customer=account.stripe_customer_id is not None,
                grace_ends_at=(
                    account.payment_overdue_since + self._grace
                    if account.payment_overdue_since is not None
                    else None
                ),
            )

    async def checkout(self, account_id: str, plan_id: str) -> Redirect:
        """A Checkout Session for `plan_id`, or the portal for an account already subscribed."""
        gateway = self._stripe()
        plan = self._catalogue.get(plan_id)
        if plan.price_cents == 0 and not plan.metered:
            raise InvalidInput(
                "the Free plan needs no checkout; to leave a paid plan, cancel it in the "
                "billing portal (POST /billing/portal)",
                code="plan_is_free",
            )
        async with self._database.session() as session:
            account = await _account(session, account_id)
            email, verified = account.email, account.email_verified_at is not None
            customer_id = account.stripe_customer_id
            subscribed = (
                account.stripe_subscription_id is not None
                and account.subscription_status in LIVE_STATUSES
            )
        if not verified:
            raise Forbidden(
                "confirm your email address before subscribing (the link is in your inbox)",
                code="email_not_verified",
            )
        if subscribed and customer_id is not None:
            return Redirect(await self._portal_url(gateway, customer_id), "portal")
        price_id = await self._price_id(gateway, plan)
        if customer_id is None:
            customer_id = await self._customer(gateway, account_id, email)
        try:
            url = await gateway.checkout_url(
                account_id=account_id,
                customer_id=customer_id,
                plan_id=plan.id,
                price_id=price_id,
                metered=plan.metered,
                success_url=f"{self._base_url}/billing?checkout=success",
                cancel_url=f"{self._base_url}/billing?checkout=cancelled",
                # A second click within ten minutes gets the same session back, not a second
                # one that could end in a second subscription.
                attempt=f"{account_id}-{plan.id}-{int(self._clock.now().timestamp()) // 600}",
            )
        except StripeUnavailable as error:
            raise _failed(error) from None
        async with self._database.session(write=True) as session:
            await audit(
                session,
                actor=f"account:{account_id}",
                action="checkout_started",
                target_type="account",
                target_id=account_id,
                now=self._clock.now(),
                details={"plan": plan.id},
            )
        return Redirect(url, "checkout")

    async def portal(self, account_id: str) -> Redirect:
        gateway = self._stripe()
        async with self._database.session() as session:
            account = await _account(session, account_id)
            customer_id = account.stripe_customer_id
        if customer_id is None:
            raise NotFound(
                "this account has no billing history yet; choose a plan first "
                "(POST /billing/checkout)",
                code="no_billing_account",
            )
        return Redirect(await self._portal_url(gateway, customer_id), "portal")

    async def set_spend_cap(self, account_id: str, cap_cents: int | None) -> BillingState:
        """Pay-as-you-go's monthly spend cap (None: no cap); it becomes a character limit."""
        async with self._database.session(write=True) as session:
            account = await _account(session, account_id)
            plan = self._catalogue.get(account.plan)
            if not plan.metered:
                raise InvalidInput(
                    "a spend cap is for the pay-as-you-go plan; this account is on "
                    f"'{account.plan}'",
                    code="not_metered",
                )
            account.spend_cap_cents = cap_cents
            account.updated_at = self._clock.now()
            await audit(
                session,
                actor=f"account:{account_id}",
                action="spend_cap_set",
                target_type="account",
                target_id=account_id,
                now=self._clock.now(),
                details={"spend_cap_cents": cap_cents},
            )
        self._changed(account_id)
        return await self.state(account_id)

    async def _portal_url(self, gateway: StripeGateway, customer_id: str) -> str:
        try:
            return await gateway.portal_url(
                customer_id=customer_id, return_url=f"{self._base_url}/billing"
            )
        except StripeUnavailable as error:
            raise _failed(error) from None

    async def _price_id(self, gateway: StripeGateway, plan: Plan) -> str:
        try:
            price_id = await gateway.price_id(plan.lookup_key)
        except StripeUnavailable as error:
            raise _failed(error) from None
        if price_id is None:
            log.error(
                "no Stripe price has lookup key %s: run `vocalis billing sync`", plan.lookup_key
            )
            raise ServiceUnavailable(
                f"the plan '{plan.id}' cannot be bought yet: its price is not in Stripe",
                code="plan_not_in_stripe",
            )
        return price_id

    async def _customer(self, gateway: StripeGateway, account_id: str, email: str) -> str:
        try:
            customer_id = await gateway.create_customer(account_id=account_id, email=email)
        except StripeUnavailable as error:
            raise _failed(error) from None
        async with self._database.session(write=True) as session:
            await session.execute(
                update(Account)
                .where(Account.id == account_id)
                .where(Account.stripe_customer_id.is_(None))
                .values(stripe_customer_id=customer_id)
            )
        return customer_id


async def _account(session, account_id: str) -> Account:  # type: ignore[no-untyped-def]
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("no such account", code="account_not_found")
    return account


def _failed(error: StripeUnavailable) -> StripeFailed:
    log.warning("a call to Stripe failed: %s", error)
    return StripeFailed("Stripe could not be reached; try again in a moment")
