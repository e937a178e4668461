"""The operator's API: accounts, keys, stats — every change leaves an audit row."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest


@pytest.fixture
async def admin(make_key: Callable[..., Any]) -> dict[str, str]:
    return {"X-API-Key": await make_key("ops@example.com", scopes=("admin",))}


async def test_operator_runs_a_customer_from_signup_to_suspension(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/admin/api/accounts",
        json={
            "email": "Customer@Example.com",
            "plan": "starter",
            "char_limit": 500,
            "seconds_limit": 60,
        },
        headers=admin,
    )
    assert created.status_code == 201
    account = created.json()
    assert (account["email"], account["plan"], account["char_limit"], account["seconds_limit"]) == (
        "customer@example.com", "starter", 500, 60,
    )  # fmt: skip
    assert account["status"] == "active" and account["chars_used"] == 0

    issued = await client.post(
        "/admin/api/keys",
        json={
            "account_id": account["id"],
            "name": "prod",
            "scopes": ["tts", "usage:read"],
            "rate_limit_rpm": 30,
        },
        headers=admin,
    )
    assert issued.status_code == 201
    secret, key = issued.json()["secret"], issued.json()["key"]
    assert secret.startswith("sk_live_") and key["prefix"] == secret[:12]
    assert (key["name"], key["scopes"], key["rate_limit_rpm"], key["state"]) == (
        "prod", ["tts", "usage:read"], 30, "active",
    )  # fmt: skip
    customer = {"X-API-Key": secret}

    spoken = await client.post("/v1/tts", json={"text": "Hello there."}, headers=customer)
    assert spoken.status_code == 200
    assert spoken.headers["x-ratelimit-limit"] == "30"

    raised = await client.patch(
        f"/admin/api/accounts/{account['id']}",
        json={"char_limit": 1000, "plan": "pro"},
        headers=admin,
    )
    assert (raised.json()["char_limit"], raised.json()["plan"], raised.json()["chars_used"]) == (
        1000,
        "pro",
        12,
    )
    quota = (await client.get("/v1/usage/quota", headers=customer)).json()
    assert quota["characters"] == {"limit": 1000, "used": 12, "remaining": 988}
    assert quota["plan"] == "pro"

    usage = (await client.get(f"/admin/api/keys/{key['id']}/usage?days=1", headers=admin)).json()
    assert usage["totals"]["characters"] == 12 and usage["totals"]["requests"] >= 2

    suspended = await client.patch(
        f"/admin/api/accounts/{account['id']}", json={"status": "suspended"}, headers=admin
    )
    assert suspended.json()["status"] == "suspended"
    refused = await client.post("/v1/tts", json={"text": "Hello."}, headers=customer)
    assert (refused.status_code, refused.json()["code"]) == (401, "account_suspended")

    await client.patch(
        f"/admin/api/accounts/{account['id']}", json={"status": "active"}, headers=admin
    )
    revoked = await client.delete(f"/admin/api/keys/{key['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = await client.post("/v1/tts", json={"text": "Hello."}, headers=customer)
    assert (refused.status_code, refused.json()["code"]) == (401, "revoked_api_key")

    listed = (await client.get(f"/admin/api/keys?account_id={account['id']}", headers=admin)).json()
    assert [item["state"] for item in listed["data"]] == ["revoked"]  # kept for audit

    trail = (await client.get("/admin/api/audit", headers=admin)).json()
    actions = [entry["action"] for entry in reversed(trail["data"])]
    updates = ["account.update"] * 3
    assert actions == ["account.create", "key.create", *updates, "key.revoke"]
    assert all(entry["actor"].startswith("key_") for entry in trail["data"])
    assert trail["data"][0]["client_ip"] == "127.0.0.1"
    assert secret not in str(trail)
    suspension = next(e for e in trail["data"] if e["details"] == {"status": "suspended"})
    assert suspension["target_id"] == account["id"]


async def test_platform_stats_rank_accounts_and_voices(
    client: httpx.AsyncClient, admin: dict[str, str], make_key: Callable[..., Any]
) -> None:
    busy = await make_key("busy@example.com")
    quiet = await make_key("quiet@example.com")
    for text in ("The first longer sentence.", "The second longer sentence."):
        await client.post("/v1/tts", json={"text": text}, headers={"X-API-Key": busy})
    await client.post("/v1/tts", json={"text": "Hi."}, headers={"X-API-Key": quiet})

    stats = (await client.get("/admin/api/stats?days=3", headers=admin)).json()
    assert stats["accounts"] == 3
    assert stats["totals"]["characters"] == 26 + 27 + 3
    assert [row["email"] for row in stats["top_accounts"][:2]] == [
        "busy@example.com",
        "quiet@example.com",
    ]
    assert stats["top_voices"][0]["voice"] == "en_US-joe-medium"
    assert len(stats["daily"]) == 3 and stats["daily"][-1]["characters"] == 56


async def test_admin_mistakes_get_clear_errors(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"email": "dup@example.com"}
    assert (await client.post("/admin/api/accounts", json=body, headers=admin)).status_code == 201
    duplicate = await client.post("/admin/api/accounts", json=body, headers=admin)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "account_exists")
    bad_email = await client.post("/admin/api/accounts", json={"email": "nope"}, headers=admin)
    assert (bad_email.status_code, bad_email.json()["code"]) == (422, "invalid_email")
    negative = await client.post(
        "/admin/api/accounts", json={"email": "n@example.com", "char_limit": -1}, headers=admin
    )
    assert negative.status_code == 422
    missing = await client.patch(
        "/admin/api/accounts/acc_nothere", json={"plan": "pro"}, headers=admin
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")
    bad_status = await client.patch(
        "/admin/api/accounts/acc_nothere", json={"status": "deleted"}, headers=admin
    )
    assert bad_status.status_code == 422
    orphan_key = await client.post(
        "/admin/api/keys", json={"account_id": "acc_nothere"}, headers=admin
    )
    assert orphan_key.status_code == 404
    accounts = (await client.get("/admin/api/accounts", headers=admin)).json()
    bad_cidr = await client.post(
        "/admin/api/keys",
        json={"account_id": accounts["data"][0]["id"], "allowed_cidrs": ["10.0.0.0/33"]},
        headers=admin,
    )
    assert (bad_cidr.status_code, bad_cidr.json()["code"]) == (422, "invalid_cidr")
    bad_scope = await client.post(
        "/admin/api/keys",
        json={"account_id": accounts["data"][0]["id"], "scopes": ["root"]},
        headers=admin,
    )
    assert bad_scope.status_code == 422
    gone = await client.delete("/admin/api/keys/key_nothere", headers=admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "key_not_found")
    trail = (await client.get("/admin/api/audit", headers=admin)).json()
    assert [entry["action"] for entry in trail["data"]] == [
        "account.create"
    ]  # failures change nothing


async def test_accounts_list_filters_and_pages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for name in ("ann", "bea", "cat"):
        await client.post(
            "/admin/api/accounts", json={"email": f"{name}@example.com"}, headers=admin
        )
    page = (await client.get("/admin/api/accounts?limit=2&offset=1", headers=admin)).json()
    assert (page["total"], len(page["data"])) == (4, 2)
    found = (await client.get("/admin/api/accounts?email=bea", headers=admin)).json()
    assert [row["email"] for row in found["data"]] == ["bea@example.com"]


async def test_limits_and_expiry_must_fit_what_the_database_stores(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    largest_quota, largest_key_limit = 2**53 - 1, 2**31 - 1
    created = await client.post(
        "/admin/api/accounts",
        json={"email": "big@example.com", "char_limit": largest_quota, "seconds_limit": 10**12},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert (account["char_limit"], account["seconds_limit"]) == (largest_quota, 10**12)

    too_big = [
        ("POST", "/admin/api/accounts", {"email": "n@example.com", "char_limit": 2**63}),
        ("POST", "/admin/api/accounts", {"email": "n@example.com", "seconds_limit": 2**53}),
        ("PATCH", f"/admin/api/accounts/{account['id']}", {"char_limit": 2**63}),
        ("POST", "/admin/api/keys", {"account_id": account["id"], "rate_limit_rpm": 2**63}),
        ("POST", "/admin/api/keys", {"account_id": account["id"], "monthly_char_cap": 2**31}),
    ]
    for method, path, body in too_big:
        refused = await client.request(method, path, json=body, headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_limit"), body
        field = next(name for name in body if name not in ("email", "account_id"))
        assert refused.json()["detail"].startswith(f"{field}: ")

    naive = await client.post(
        "/admin/api/keys",
        json={"account_id": account["id"], "expires_at": "2030-01-01T00:00:00"},
        headers=admin,
    )
    assert (naive.status_code, naive.json()["code"]) == (422, "invalid_expiry")
    assert "timezone" in naive.json()["detail"]
    beyond = await client.post(  # year 9999 in UTC-14 is year 10000 in UTC
        "/admin/api/keys",
        json={"account_id": account["id"], "expires_at": "9999-12-31T23:59:59-14:00"},
        headers=admin,
    )
    assert (beyond.status_code, beyond.json()["code"]) == (422, "invalid_expiry")

    issued = await client.post(
        "/admin/api/keys",
        json={
            "account_id": account["id"],
            "rate_limit_rpm": largest_key_limit,
            "monthly_char_cap": largest_key_limit,
            "expires_at": "2030-01-01T02:00:00+02:00",
        },
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert (key["rate_limit_rpm"], key["monthly_char_cap"]) == (largest_key_limit,) * 2
    assert datetime.fromisoformat(key["expires_at"]) == datetime(2030, 1, 1, tzinfo=UTC)
    # a key at the bounds still works: its counters have room to grow
    customer = {"X-API-Key": issued.json()["secret"]}
    spoken = await client.post("/v1/tts", json={"text": "Hello there."}, headers=customer)
    assert spoken.status_code == 200, spoken.text
