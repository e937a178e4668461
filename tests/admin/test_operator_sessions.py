"""An operator's web login uses the admin API (the dashboard's admin pages) exactly as an admin
key does; anyone else's login is refused, and state changes need the session's CSRF token."""

from __future__ import annotations

from typing import Any

import httpx

from tests.accounts.test_web_accounts import EMAIL, log_in, sign_up_and_verify
from tests.conftest import create_key
from vocalis.accounts.models import Account
from vocalis.admin.service import Actor, set_operator


async def make_operator(app: Any, email: str = EMAIL) -> None:
    runtime = app.state.runtime
    async with runtime.database.session(write=True) as session:
        account = (
            await session.execute(Account.__table__.select().where(Account.email == email))
        ).one()
        await set_operator(session, Actor("cli", None), account.id, True, now=runtime.clock.now())


async def test_an_operators_login_works_the_admin_api(app: Any, client: httpx.AsyncClient) -> None:
    await sign_up_and_verify(app, client)
    await make_operator(app)
    csrf = await log_in(client)
    state = (await client.get("/auth/session")).json()
    assert state["account"]["is_admin"] is True

    customer = await create_key(app, "customer@example.com")
    listed = await client.get("/admin/api/accounts", params={"email": "customer"})
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["data"]
    assert row["email"] == "customer@example.com"

    no_csrf = await client.patch(f"/admin/api/accounts/{row['id']}", json={"status": "suspended"})
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_failed"
    suspended = await client.patch(
        f"/admin/api/accounts/{row['id']}",
        json={"status": "suspended"},
        headers={"X-CSRF-Token": csrf},
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    refused = await client.post(
        "/v1/tts", json={"text": "hello"}, headers={"Authorization": f"Bearer {customer}"}
    )
    assert refused.status_code == 401 and refused.json()["code"] == "account_suspended"
    audit = (await client.get("/admin/api/audit")).json()["data"]
    assert audit[0]["action"] == "account.update" and audit[0]["target_id"] == row["id"]
    operator_id = state["account"]["id"]
    assert audit[0]["actor"] == f"account:{operator_id}"  # the operator, not their session
    assert (await client.get("/admin/api/stats")).status_code == 200


async def test_anyone_elses_login_is_refused(app: Any, client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/admin/api/accounts")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_api_key"
    await sign_up_and_verify(app, client)
    await log_in(client)
    assert (await client.get("/auth/session")).json()["account"]["is_admin"] is False
    refused = await client.get("/admin/api/accounts")
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


async def test_a_key_sent_along_is_judged_alone(app: Any, client: httpx.AsyncClient) -> None:
    await sign_up_and_verify(app, client)
    await make_operator(app)
    await log_in(client)
    plain_key = await create_key(app, "someone@example.com")
    with_key = await client.get(
        "/admin/api/accounts", headers={"Authorization": f"Bearer {plain_key}"}
    )
    assert with_key.status_code == 403 and with_key.json()["code"] == "insufficient_scope"


async def test_own_limits_go_back_to_the_plans_and_a_deleted_account_stays_deleted(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    await make_operator(app)
    csrf = {"X-CSRF-Token": await log_in(client)}
    await create_key(app, "customer@example.com", char_limit=123)
    [row] = (await client.get("/admin/api/accounts", params={"email": "customer"})).json()["data"]
    assert row["char_limit"] == 123 and row["char_limit_override"] == 123
    kept = await client.patch(
        f"/admin/api/accounts/{row['id']}", json={"plan": "pro"}, headers=csrf
    )
    assert kept.json()["char_limit_override"] == 123  # not named: left alone
    cleared = await client.patch(
        f"/admin/api/accounts/{row['id']}", json={"char_limit": None}, headers=csrf
    )
    assert cleared.status_code == 200
    assert cleared.json()["char_limit_override"] is None
    assert cleared.json()["char_limit"] == 500_000  # Pro's

    runtime = app.state.runtime
    async with runtime.database.session(write=True) as session:
        account = await session.get(Account, row["id"])
        assert account is not None
        account.status = "deleted"
    revived = await client.patch(
        f"/admin/api/accounts/{row['id']}", json={"status": "active"}, headers=csrf
    )
    assert revived.status_code == 409 and revived.json()["code"] == "account_deleted"
