"""Deleting one's own account: keys stop at once, personal data is erased, the books stay."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.accounts.test_web_accounts import PASSWORD, log_in, mails_to, sign_up_and_verify
from tests.helpers import wait_for_job
from vocalis.accounts.models import Account
from vocalis.jobs.models import Job
from vocalis.usage.models import UsageEvent, UsagePeriod

EMAIL = "leaving@example.com"


async def test_a_deleted_account_keeps_its_books_and_nothing_personal(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client, EMAIL)
    csrf = await log_in(client, EMAIL)
    account_id = (await client.get("/auth/me")).json()["id"]
    created = await client.post("/account/keys", json={}, headers={"X-CSRF-Token": csrf})
    key = {"X-API-Key": created.json()["secret"]}
    assert (await client.post("/v1/tts", json={"text": "One last word."}, headers=key)).is_success
    job = (await client.post("/v1/tts/jobs", json={"text": "Secret plans."}, headers=key)).json()
    done = await wait_for_job(client, job["job_id"], key, {"succeeded", "failed"})
    assert done["status"] == "succeeded"
    runtime = app.state.runtime
    async with runtime.database.session() as session:
        audio_path = (await session.get(Job, job["job_id"])).result_path
    assert runtime.store.path_of(audio_path).is_file()

    no_token = await client.post("/account/delete", json={"password": PASSWORD})
    wrong = await client.post(
        "/account/delete", json={"password": "not the one!"}, headers={"X-CSRF-Token": csrf}
    )
    assert no_token.json()["code"] == "csrf_failed" and wrong.json()["code"] == "wrong_password"
    assert (await client.get("/auth/me")).status_code == 200  # nothing happened yet

    deleted = await client.post(
        "/account/delete", json={"password": PASSWORD}, headers={"X-CSRF-Token": csrf}
    )
    assert deleted.status_code == 204
    assert (await client.get("/auth/me")).status_code == 401
    refused = await client.post("/v1/tts", json={"text": "Hello?"}, headers=key)
    assert refused.status_code == 401 and refused.json()["code"] == "revoked_api_key"
    relogin = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert relogin.status_code == 401

    async with runtime.database.session() as session:
        account = await session.get(Account, account_id)
        assert account is not None and account.status == "deleted"
        assert EMAIL not in account.email and account.password_hash is None
        stored_job = await session.get(Job, job["job_id"])
        assert stored_job.request is None and stored_job.result_path is None
        assert stored_job.characters > 0  # the figures stay
        events = list(await session.scalars(select(UsageEvent)))
        assert events and all(event.client_ip is None for event in events)
        periods = await session.scalar(select(func.count()).select_from(UsagePeriod))
        assert periods >= 2  # the account's and its key's counters
    assert not runtime.store.path_of(audio_path).exists()
    assert "account_deleted" in [mail.template for mail in await mails_to(app, EMAIL)]

    # The address is free again: a new account, with a new verification mail.
    again = await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
    assert again.status_code == 202
    templates = [mail.template for mail in await mails_to(app, EMAIL)]
    assert "verify_email" in templates and "signup_existing" not in templates
    async with runtime.database.session() as session:
        fresh = await session.scalar(select(Account).where(Account.email == EMAIL))
    assert fresh is not None and fresh.id != account_id and fresh.status == "active"
