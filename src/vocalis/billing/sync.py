"""`vocalis billing sync`: make Stripe's Products, Prices and Billing Meter match the plans.

Idempotent: what already matches is left alone, so running it twice changes nothing the second
time. A plan is found in Stripe by its price's `lookup_key` (the same configuration works in
test and live mode); its product's id is the lookup key too. Stripe prices cannot change their
amount, so a changed price is a new one that takes the lookup key over (`transfer_lookup_key`),
and the old one is archived. Amounts are integers in cents; pay-as-you-go's price per character
is an exact decimal (`unit_amount_decimal`), never a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from vocalis.billing.plans import METERED_UNIT, Catalogue, Plan
from vocalis.billing.stripe_api import METER_EVENT_NAME, StripeGateway


def unit_amount_decimal(plan: Plan) -> str:
    """Cents per character of a metered plan, exactly: 300 cents a million → "0.0003"."""
    return format(Decimal(plan.price_cents) / METERED_UNIT, "f")


async def sync_catalogue(gateway: StripeGateway, catalogue: Catalogue) -> list[str]:
    """Bring Stripe in line with `catalogue`; one line per object saying what was done."""
    v1 = gateway.v1
    done: list[str] = []
    meter_id: str | None = None
    if any(plan.metered for plan in catalogue):
        meter_id, line = await _meter(v1)
        done.append(line)
    for plan in catalogue:
        if plan.price_cents == 0 and not plan.metered:
            done.append(f"plan {plan.id}: free, nothing in Stripe")
            continue
        done.append(await _product(v1, plan))
        done.append(await _price(v1, plan, meter_id))
    return done


async def _meter(v1: Any) -> tuple[str, str]:
    meters = await v1.billing.meters.list_async(params={"status": "active", "limit": 100})
    for meter in meters.data:
        if meter.event_name == METER_EVENT_NAME:
            return str(meter.id), f"meter {METER_EVENT_NAME}: unchanged ({meter.id})"
    meter = await v1.billing.meters.create_async(
        params={
            "display_name": "Vocalis characters",
            "event_name": METER_EVENT_NAME,
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
            "value_settings": {"event_payload_key": "value"},
        }
    )
    return str(meter.id), f"meter {METER_EVENT_NAME}: created ({meter.id})"


async def _product(v1: Any, plan: Plan) -> str:
    product_id = plan.lookup_key
    name = f"Vocalis {plan.name}"
    try:
        product = await v1.products.retrieve_async(product_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
        await v1.products.create_async(
            params={"id": product_id, "name": name, "metadata": {"plan": plan.id}}
        )
        return f"product {product_id}: created"
    if product.name != name or not product.active:
        await v1.products.update_async(product_id, params={"name": name, "active": True})
        return f"product {product_id}: updated"
    return f"product {product_id}: unchanged"


def _wanted_price(plan: Plan, meter_id: str | None) -> dict[str, Any]:
    wanted: dict[str, Any] = {
        "product": plan.lookup_key,
        "currency": plan.currency.lower(),
        "lookup_key": plan.lookup_key,
        "nickname": plan.name,
        "metadata": {"plan": plan.id},
    }
    if plan.metered:
        wanted["unit_amount_decimal"] = unit_amount_decimal(plan)
        wanted["recurring"] = {"interval": "month", "usage_type": "metered", "meter": meter_id}
    else:
        wanted["unit_amount"] = plan.price_cents
        wanted["recurring"] = {"interval": "month", "usage_type": "licensed"}
    return wanted


def _matches(price: Any, wanted: dict[str, Any]) -> bool:
    recurring = price.recurring
    same = (
        price.product == wanted["product"]
        and price.currency == wanted["currency"]
        and recurring is not None
        and recurring.interval == "month"
        and recurring.usage_type == wanted["recurring"]["usage_type"]
    )
    if "unit_amount_decimal" in wanted:
        amount = price.unit_amount_decimal
        return (
            same
            and amount is not None
            and Decimal(amount) == Decimal(wanted["unit_amount_decimal"])
        )
    return same and price.unit_amount == wanted["unit_amount"]


async def _price(v1: Any, plan: Plan, meter_id: str | None) -> str:
    wanted = _wanted_price(plan, meter_id)
    found = await v1.prices.list_async(
        params={"lookup_keys": [plan.lookup_key], "active": True, "limit": 1}
    )
    current = found.data[0] if found.data else None
    if current is not None and _matches(current, wanted):
        return f"price {plan.lookup_key}: unchanged ({current.id})"
    created = await v1.prices.create_async(params={**wanted, "transfer_lookup_key": True})
    if current is None:
        return f"price {plan.lookup_key}: created ({created.id})"
    await v1.prices.update_async(current.id, params={"active": False})
    return f"price {plan.lookup_key}: replaced {current.id} by {created.id}"
