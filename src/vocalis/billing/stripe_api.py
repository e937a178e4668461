"""The calls Vocalis makes to Stripe, through the official SDK's async methods.

One `StripeClient` per process, its addresses all pointed at `VOCALIS_STRIPE_API_BASE` (Stripe's
own by default; tests and local fakes point it elsewhere, the meter-events host included). Every
call that creates something carries an idempotency key derived from what it stands for, so a
retry after a lost answer never makes a second customer, session or meter event.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import stripe

log = logging.getLogger(__name__)

STRIPE_API_BASE = "https://api.stripe.com"
REQUEST_TIMEOUT_SECONDS = 20.0
PRICE_MEMORY_SECONDS = 300.0  # a price's id by lookup key, kept this long
METER_EVENT_NAME = "vocalis_characters"  # the Billing Meter that pay-as-you-go reports to


class StripeUnavailable(Exception):
    """Stripe did not answer, or answered with an error; the message says which, briefly."""


@dataclass(frozen=True)
class SubscriptionState:
    """What Vocalis needs of a subscription, as Stripe has it now."""

    id: str
    customer_id: str
    status: str  # active | trialing | past_due | unpaid | canceled | incomplete | …
    lookup_key: str | None  # of its first item's price: which plan
    period_start: int | None  # Unix seconds
    period_end: int | None
    cancel_at_period_end: bool
    account_id: str | None  # from the metadata Checkout gave it


class StripeGateway:
    def __init__(
        self,
        secret_key: str,
        api_base: str = STRIPE_API_BASE,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_network_retries: int = 2,
    ) -> None:
        base = api_base.rstrip("/")
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": base, "meter_events": base, "files": base, "connect": base},
            http_client=stripe.HTTPXClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )
        self._prices: dict[str, tuple[float, str]] = {}

    @property
    def v1(self) -> Any:
        """The SDK's services, for `vocalis billing sync` (see `billing.sync`)."""
        return self._client.v1

    async def create_customer(self, *, account_id: str, email: str) -> str:
        customer = await self._call(
            self._client.v1.customers.create_async(
                params={"email": email, "metadata": {"account_id": account_id}},
                options={"idempotency_key": f"vocalis-customer-{account_id}"},
            )
        )
        return str(customer.id)

    async def price_id(self, lookup_key: str) -> str | None:
        """The id of the active price with `lookup_key` (None: not in Stripe; run `vocalis
        billing sync`), remembered for a few minutes."""
        known = self._prices.get(lookup_key)
        if known is not None and known[0] > time.monotonic():
            return known[1]
        found = await self._call(
            self._client.v1.prices.list_async(
                params={"lookup_keys": [lookup_key], "active": True, "limit": 1}
            )
        )
        if not found.data:
            return None
        price_id = str(found.data[0].id)
        self._prices[lookup_key] = (time.monotonic() + PRICE_MEMORY_SECONDS, price_id)
        return price_id

    async def checkout_url(
        self,
        *,
        account_id: str,
        customer_id: str,
        plan_id: str,
        price_id: str,
        metered: bool,
        success_url: str,
        cancel_url: str,
        attempt: str,
    ) -> str:
        item: dict[str, Any] = (
            {"price": price_id} if metered else {"price": price_id, "quantity": 1}
        )
        metadata = {"account_id": account_id, "plan": plan_id}
        session = await self._call(
            self._client.v1.checkout.sessions.create_async(
                params={
                    "mode": "subscription",
                    "customer": customer_id,
                    "client_reference_id": account_id,
                    "line_items": [item],
                    "metadata": metadata,
                    "subscription_data": {"metadata": metadata},
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                },
                options={"idempotency_key": f"vocalis-checkout-{attempt}"},
            )
        )
        return str(session.url)

    async def portal_url(self, *, customer_id: str, return_url: str) -> str:
        session = await self._call(
            self._client.v1.billing_portal.sessions.create_async(
                params={"customer": customer_id, "return_url": return_url}
            )
        )
        return str(session.url)

    async def subscription(self, subscription_id: str) -> SubscriptionState:
        found = await self._call(self._client.v1.subscriptions.retrieve_async(subscription_id))
        return subscription_state(found.to_dict())

    async def report_usage(
        self, *, customer_id: str, characters: int, identifier: str, timestamp: int
    ) -> None:
        """One Billing Meter event; Stripe counts an `identifier` once, so a retry is safe."""
        await self._call(
            self._client.v1.billing.meter_events.create_async(
                params={
                    "event_name": METER_EVENT_NAME,
                    "identifier": identifier,
                    "timestamp": timestamp,
                    "payload": {"stripe_customer_id": customer_id, "value": str(characters)},
                },
                options={"idempotency_key": identifier},
            )
        )

    @staticmethod
    async def _call(pending: Any) -> Any:
        try:
            return await pending
        except stripe.StripeError as error:
            status = getattr(error, "http_status", None)
            message = getattr(error, "user_message", None) or type(error).__name__
            raise StripeUnavailable(f"Stripe answered {status or 'nothing'}: {message}") from error


def subscription_state(subscription: dict[str, Any]) -> SubscriptionState:
    """A subscription (a plain dict) as the values we use. The billing period is on the
    subscription's items in current API versions, on the subscription in older ones."""
    items = subscription.get("items") or {}
    first = (items.get("data") or [None])[0] or {}
    price = first.get("price") or {}
    metadata = subscription.get("metadata") or {}
    customer = subscription.get("customer")
    if not isinstance(customer, str) and customer is not None:
        customer = customer.get("id")
    return SubscriptionState(
        id=str(subscription["id"]),
        customer_id=str(customer or ""),
        status=str(subscription.get("status") or ""),
        lookup_key=price.get("lookup_key"),
        period_start=first.get("current_period_start") or subscription.get("current_period_start"),
        period_end=first.get("current_period_end") or subscription.get("current_period_end"),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        account_id=metadata.get("account_id"),
    )
