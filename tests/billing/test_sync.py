"""`vocalis billing sync`: the plans become Stripe Products, Prices and a Billing Meter, through
the real SDK, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.billing.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from vocalis.billing.plans import Catalogue
from vocalis.billing.stripe_api import METER_EVENT_NAME, StripeGateway
from vocalis.billing.sync import sync_catalogue, unit_amount_decimal


async def sync_cli(stripe_api: FakeStripe, tmp_path: Path, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vocalis", "billing", "sync",
        env={
            **os.environ,
            "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}",
            "VOCALIS_STRIPE_SECRET_KEY": SECRET_KEY,
            "VOCALIS_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "VOCALIS_STRIPE_API_BASE": stripe_api.url,
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_sync_creates_the_catalogue_once(stripe_api: FakeStripe, tmp_path: Path) -> None:
    code, output = await sync_cli(stripe_api, tmp_path)
    assert code == 0, output
    assert "price vocalis_pro: created" in output
    assert "plan free: free, nothing in Stripe" in output
    assert sorted(stripe_api.products) == [
        "vocalis_payg", "vocalis_pro", "vocalis_scale", "vocalis_starter"
    ]  # fmt: skip
    prices = {p["lookup_key"]: p for p in stripe_api.prices.values() if p["active"]}
    assert {key: p["unit_amount"] for key, p in prices.items()} == {
        "vocalis_starter": 400, "vocalis_pro": 1200, "vocalis_scale": 3000, "vocalis_payg": None,
    }  # fmt: skip
    assert prices["vocalis_pro"]["currency"] == "eur"
    assert prices["vocalis_pro"]["recurring"]["usage_type"] == "licensed"
    [meter] = stripe_api.meters.values()
    assert meter["event_name"] == METER_EVENT_NAME
    payg = prices["vocalis_payg"]
    assert payg["recurring"] == {"interval": "month", "usage_type": "metered", "meter": meter["id"]}
    assert payg["unit_amount_decimal"] == "0.0003"  # €3 per million characters, in cents each

    created = (len(stripe_api.products), len(stripe_api.prices), len(stripe_api.meters))
    code, again = await sync_cli(stripe_api, tmp_path)
    assert code == 0, again
    assert "created" not in again and "replaced" not in again
    assert again.count("unchanged") == 9  # meter, and a product and a price for four plans
    assert (len(stripe_api.products), len(stripe_api.prices), len(stripe_api.meters)) == created


async def test_a_changed_price_replaces_the_old_one(stripe_api: FakeStripe) -> None:
    gateway = StripeGateway(SECRET_KEY, stripe_api.url)
    await sync_catalogue(gateway, Catalogue(chars_per_second=15))
    old = stripe_api.price_by_lookup_key("vocalis_pro")
    assert old is not None

    dearer = Catalogue({"pro": {"price_cents": 1500}}, chars_per_second=15)
    lines = await sync_catalogue(gateway, dearer)

    new = stripe_api.price_by_lookup_key("vocalis_pro")
    assert new is not None and new["unit_amount"] == 1500
    assert f"price vocalis_pro: replaced {old['id']} by {new['id']}" in lines
    assert stripe_api.prices[old["id"]]["active"] is False  # archived, the lookup key moved on
    assert await gateway.price_id("vocalis_pro") == new["id"]


async def test_sync_without_a_key_says_what_to_set(stripe_api: FakeStripe, tmp_path: Path) -> None:
    code, output = await sync_cli(
        stripe_api, tmp_path, VOCALIS_STRIPE_SECRET_KEY="", VOCALIS_STRIPE_WEBHOOK_SECRET=""
    )
    assert code != 0
    assert "VOCALIS_STRIPE_SECRET_KEY" in output
    assert stripe_api.calls == []


def test_metered_prices_are_exact_decimals() -> None:
    catalogue = Catalogue({"payg": {"price_cents": 7}}, chars_per_second=15)
    assert unit_amount_decimal(catalogue.get("payg")) == "0.000007"
    assert catalogue.cap_characters("payg", 150) == 150 * 1_000_000 // 7
