"""The public price list: the plans this server sells, as a pricing page needs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import client_for, running_app
from vocalis.config import Settings


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_the_plans_are_public_with_prices_and_both_allowances(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/plans")  # no key
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    plans = {plan["id"]: plan for plan in response.json()["plans"]}
    assert list(plans) == ["free", "starter", "pro", "scale", "payg"]
    assert plans["free"] == {
        "id": "free", "name": "Free", "price_cents": 0, "currency": "eur",
        "characters": 10_000, "audio_seconds": 667, "metered": False,
    }  # fmt: skip
    assert (plans["starter"]["price_cents"], plans["starter"]["characters"]) == (400, 100_000)
    assert (plans["pro"]["price_cents"], plans["pro"]["characters"]) == (1200, 500_000)
    assert (plans["scale"]["price_cents"], plans["scale"]["characters"]) == (3000, 2_000_000)
    assert plans["payg"] == {
        "id": "payg", "name": "Pay-as-you-go", "price_cents": 300, "currency": "eur",
        "characters": None, "audio_seconds": None, "metered": True,
    }  # fmt: skip


async def test_the_list_follows_the_configured_plans(
    make_settings: Callable[..., Settings], sqlite_url: str, voices: Any
) -> None:
    settings = make_settings(
        database_url=sqlite_url,
        plans={"pro": {"price_cents": 1500, "audio_seconds": 40_000}, "team": {"characters": 9}},
    )
    async with running_app(settings, voices) as app, client_for(app) as client:
        plans = {plan["id"]: plan for plan in (await client.get("/v1/plans")).json()["plans"]}
    assert (plans["pro"]["price_cents"], plans["pro"]["audio_seconds"]) == (1500, 40_000)
    assert plans["team"]["characters"] == 9 and plans["team"]["name"] == "Team"
