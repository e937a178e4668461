"""Billing tests: a fake Stripe on loopback that the real `stripe` SDK talks to, and an app
configured with it (external worker: a test applies Stripe's events when it chooses)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.accounts.test_web_accounts import log_in, sign_up_and_verify
from tests.billing.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from tests.conftest import client_for, running_app
from tests.servers import LiveServer
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import ManualClock

BASE_URL = "https://tts.example.com"


@pytest.fixture
async def stripe_api() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    async with LiveServer(fake) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def billing_settings(
    make_settings: Callable[..., Settings], database_url: str, stripe_api: FakeStripe
) -> Settings:
    return make_settings(
        database_url=database_url,
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_api.url,
        public_url=BASE_URL,
        worker="external",
        billing_grace_days=3,
    )


@pytest.fixture
async def billing_app(
    billing_settings: Settings, voices: VoiceRegistry, clock: ManualClock
) -> AsyncIterator[Any]:
    async with running_app(billing_settings, voices, clock) as application:
        yield application


def browser(app: Any) -> httpx.AsyncClient:
    """A client at the public (https) address, so the session cookie (Secure) is sent back."""
    http = client_for(app)
    http.base_url = httpx.URL(BASE_URL)
    return http


@pytest.fixture
async def web(billing_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A person signed up, verified and logged in; their CSRF token is on every request."""
    async with browser(billing_app) as http:
        await sign_up_and_verify(billing_app, http)
        http.headers["X-CSRF-Token"] = await log_in(http)
        yield http


def priced(stripe_api: FakeStripe) -> None:
    """The plans' prices in Stripe, as `vocalis billing sync` leaves them."""
    for lookup_key, cents in (
        ("vocalis_starter", 400),
        ("vocalis_pro", 1200),
        ("vocalis_scale", 3000),
    ):
        stripe_api.add_price(lookup_key, cents)
    stripe_api.add_price("vocalis_payg", 300, metered=True)
