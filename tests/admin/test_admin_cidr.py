"""VOCALIS_ADMIN_ALLOW: the admin API answers only the operator's networks, and refuses any
other address before it looks at a key or a login, so that from elsewhere it gives nothing
away, not even whether a key is valid."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.accounts.test_web_accounts import log_in, sign_up_and_verify
from tests.admin.test_operator_sessions import make_operator
from tests.conftest import client_for, create_key, running_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

INSIDE = "10.20.30.40"
OUTSIDE = "192.0.2.7"
PROXY = "127.0.0.1"


@pytest.fixture
async def guarded(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> AsyncIterator[Any]:
    settings = make_settings(
        database_url=database_url,
        admin_allow=["10.0.0.0/8", "2001:db8::/32"],
        trusted_proxies=[f"{PROXY}/32"],
    )
    async with running_app(settings, voices) as app:
        yield app


def _refused(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["code"] == "admin_address_forbidden"


async def test_an_address_outside_the_list_is_refused_whatever_it_presents(guarded: Any) -> None:
    admin_key = await create_key(guarded, "ops@example.com", scopes=("admin",))
    async with client_for(guarded, OUTSIDE) as outside, client_for(guarded, INSIDE) as inside:
        for headers in (
            {"X-API-Key": admin_key},  # a good key
            {"Authorization": "Bearer sk_live_" + "x" * 40},  # a wrong one: no 401 to learn from
            {},  # none
        ):
            answer = await outside.get("/admin/api/stats", headers=headers)
            assert _refused(answer), answer.text
            assert OUTSIDE in answer.json()["detail"]
        changed = await outside.post(
            "/admin/api/accounts", json={"email": "x@example.com"}, headers={"X-API-Key": admin_key}
        )
        assert _refused(changed)

        assert (await inside.get("/admin/api/stats", headers={"X-API-Key": admin_key})).is_success
        unauthenticated = await inside.get("/admin/api/stats")
        assert (unauthenticated.status_code, unauthenticated.json()["code"]) == (
            401, "missing_api_key",
        )  # fmt: skip
        listed = await inside.get("/admin/api/accounts", headers={"X-API-Key": admin_key})
        assert [row["email"] for row in listed.json()["data"]] == ["ops@example.com"]  # no x@


async def test_ipv6_and_ipv4_mapped_clients_are_judged_by_their_address(guarded: Any) -> None:
    admin_key = {"X-API-Key": await create_key(guarded, "ops@example.com", scopes=("admin",))}
    for address, allowed in (
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        (f"::ffff:{INSIDE}", True),  # an IPv4 client of a dual-stack socket
        (f"::ffff:{OUTSIDE}", False),
    ):
        async with client_for(guarded, address) as client:
            answer = await client.get("/admin/api/stats", headers=admin_key)
            assert answer.is_success is allowed and _refused(answer) is not allowed, address


async def test_the_address_behind_a_trusted_proxy_is_the_one_judged(guarded: Any) -> None:
    admin_key = {"X-API-Key": await create_key(guarded, "ops@example.com", scopes=("admin",))}
    async with client_for(guarded, PROXY) as proxy, client_for(guarded, OUTSIDE) as stranger:
        forwarded_inside = await proxy.get(
            "/admin/api/stats", headers={**admin_key, "X-Forwarded-For": INSIDE}
        )
        assert forwarded_inside.is_success
        forwarded_outside = await proxy.get(
            "/admin/api/stats", headers={**admin_key, "X-Forwarded-For": f"{INSIDE}, {OUTSIDE}"}
        )
        assert _refused(forwarded_outside)  # the proxy saw OUTSIDE connect: that one counts
        spoofed = await stranger.get(
            "/admin/api/stats", headers={**admin_key, "X-Forwarded-For": INSIDE}
        )
        assert _refused(spoofed)  # an untrusted peer's header is not believed


async def test_an_operators_login_works_only_from_inside(guarded: Any) -> None:
    async with client_for(guarded, INSIDE) as inside:
        await sign_up_and_verify(guarded, inside)
        await make_operator(guarded)
        await log_in(inside)
        assert (await inside.get("/admin/api/stats")).is_success
        async with client_for(guarded, OUTSIDE) as outside:
            outside.cookies = inside.cookies  # the same login, from elsewhere
            assert (await outside.get("/auth/me")).is_success  # the login itself is fine
            assert _refused(await outside.get("/admin/api/stats"))
            assert _refused(await outside.get("/admin/api/accounts"))


async def test_the_rest_of_the_api_is_not_affected(
    guarded: Any, make_settings: Callable[..., Settings], sqlite_url: str, voices: VoiceRegistry
) -> None:
    key = {"X-API-Key": await create_key(guarded)}
    async with client_for(guarded, OUTSIDE) as outside:
        assert (await outside.get("/v1/usage/quota", headers=key)).is_success
        assert (await outside.get("/health")).is_success

    anywhere = make_settings(database_url=sqlite_url)  # the default: no list, any address
    assert anywhere.admin_allow == []
    async with running_app(anywhere, voices) as app, client_for(app, OUTSIDE) as client:
        admin_key = {"X-API-Key": await create_key(app, "ops@example.com", scopes=("admin",))}
        assert (await client.get("/admin/api/stats", headers=admin_key)).is_success
