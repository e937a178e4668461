"""Web accounts through HTTP: sign-up, verification, login sessions, CSRF, passwords, and the
logged-in person's own keys — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import client_for, running_app
from tests.mail.conftest import eventually
from tests.mail.fake_resend import FakeResend
from tests.servers import LiveServer
from vocalis.accounts.models import Account, WebSession
from vocalis.kit.audit import AuditEntry
from vocalis.mail.models import OutboundMail

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
JSON = {"Content-Type": "application/json"}


async def mails_to(app: Any, address: str) -> list[OutboundMail]:
    async with app.state.runtime.database.session() as session:
        rows = await session.scalars(
            select(OutboundMail)
            .where(OutboundMail.to_address == address)
            .order_by(OutboundMail.created_at, OutboundMail.id)
        )
        return list(rows)


def token_in(mail: OutboundMail, path: str) -> str:
    found = re.search(rf"{re.escape(path)}\?token=([A-Za-z0-9_\-]+)", mail.text_body)
    assert found, mail.text_body
    return found.group(1)


async def sign_up_and_verify(app: Any, client: httpx.AsyncClient, email: str = EMAIL) -> None:
    signed = await client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 202
    [mail] = await mails_to(app, email)
    assert mail.template == "verify_email"
    verified = await client.post("/auth/verify", json={"token": token_in(mail, "/verify")})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True


async def log_in(client: httpx.AsyncClient, email: str = EMAIL, password: str = PASSWORD) -> str:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


async def test_sign_up_to_a_working_key_and_log_out(app: Any, client: httpx.AsyncClient) -> None:
    await sign_up_and_verify(app, client)
    csrf = await log_in(client)
    assert (await client.get("/auth/me")).json()["email"] == EMAIL
    assert (await client.get("/auth/csrf")).json()["csrf_token"] == csrf

    created = await client.post(
        "/account/keys", json={"name": "my app"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert sorted(created.json()["key"]["scopes"]) == ["jobs", "tts", "usage:read"]

    spoken = await client.post(
        "/v1/tts",
        json={"text": "Hello from a new account."},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert spoken.status_code == 200 and spoken.content[:4] == b"RIFF"
    logs = (await client.get("/account/usage/logs")).json()
    assert [event["endpoint"] for event in logs["data"]] == ["/v1/tts"]
    quota = (await client.get("/account/quota")).json()
    assert quota["plan"] == "free" and quota["characters"]["used"] == 25
    assert [key["name"] for key in (await client.get("/account/keys")).json()] == ["my app"]

    cookie = client.cookies.get("vocalis_session")
    assert (await client.post("/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 204
    async with client_for(app) as stranger:
        stranger.cookies.set("vocalis_session", cookie or "")
        refused = await stranger.get("/auth/me")
    assert refused.status_code == 401 and refused.json()["code"] == "session_expired"


async def test_signing_up_with_a_taken_address_answers_the_same_and_tells_its_owner(
    app: Any, client: httpx.AsyncClient
) -> None:
    first = await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
    again = await client.post(
        "/auth/signup", json={"email": EMAIL.upper(), "password": "another long secret"}
    )
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert sorted(mail.template for mail in await mails_to(app, EMAIL)) == [
        "signup_existing",
        "verify_email",
    ]
    async with app.state.runtime.database.session() as session:
        accounts = list(await session.scalars(select(Account).where(Account.email == EMAIL)))
    assert len(accounts) == 1 and accounts[0].password_hash.startswith("$2b$")


async def test_an_unverified_account_can_log_in_but_not_make_keys(
    app: Any, client: httpx.AsyncClient
) -> None:
    await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
    csrf = await log_in(client)
    assert (await client.get("/auth/me")).json()["email_verified"] is False
    refused = await client.post("/account/keys", json={}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403 and refused.json()["code"] == "email_not_verified"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short1", "password_too_short"),
        ("é" * 37, "password_too_long"),  # 37 characters, 74 bytes: bcrypt would cut it
        ("Password123", "password_too_common"),
    ],
)
async def test_weak_passwords_are_refused_and_nothing_is_created(
    app: Any, client: httpx.AsyncClient, password: str, code: str
) -> None:
    response = await client.post("/auth/signup", json={"email": EMAIL, "password": password})
    assert response.status_code == 422 and response.json()["code"] == code
    assert await mails_to(app, EMAIL) == []


async def test_a_wrong_password_and_an_unknown_address_get_the_same_answer_and_an_audit_row(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    wrong = await client.post("/auth/login", json={"email": EMAIL, "password": "not the one!"})
    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    await log_in(client)
    async with app.state.runtime.database.session() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-3:] == ["login_failed", "login_failed", "login"]


async def test_the_sixth_failed_login_from_one_client_is_refused(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    for attempt in range(5):
        failed = await client.post(
            "/auth/login", json={"email": f"guess{attempt}@example.com", "password": PASSWORD}
        )
        assert failed.status_code == 401
    refused = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_login_attempts"
    assert int(refused.headers["retry-after"]) >= 1
    async with client_for(app, address="10.0.0.9") as elsewhere:  # another client still may
        assert (
            await elsewhere.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
        ).status_code == 200


async def test_state_changes_need_the_csrf_token_and_a_same_site_origin(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    csrf = await log_in(client)
    missing = await client.post("/account/keys", json={})
    wrong = await client.post("/account/keys", json={}, headers={"X-CSRF-Token": "x" * 43})
    cross_site = await client.post(
        "/account/keys",
        json={},
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    )
    for refused in (missing, wrong, cross_site):
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    same_site = await client.post(
        "/account/keys",
        json={},
        headers={"X-CSRF-Token": csrf, "Origin": "http://vocalis.test"},
    )
    assert same_site.status_code == 201
    assert (await client.get("/account/keys")).status_code == 200  # reads need no token


async def test_the_session_cookie_is_http_only_same_site_and_secure_behind_https(
    make_settings: Any, database_url: str, voices: Any
) -> None:
    for public_url, secure in ((None, False), ("https://tts.example.com", True)):
        settings = make_settings(database_url=database_url, public_url=public_url)
        async with running_app(settings, voices) as app, client_for(app) as client:
            await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
            response = await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
            cookie = response.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
            assert ("secure" in cookie) is secure


async def test_a_password_reset_is_single_use_and_ends_every_session(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    await log_in(client)
    unknown = await client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    known = await client.post("/auth/password/forgot", json={"email": EMAIL})
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert known.status_code == 202
    [mail] = [mail for mail in await mails_to(app, EMAIL) if mail.template == "reset_password"]
    token = token_in(mail, "/reset-password")
    new_password = "a brand new passphrase"
    reset = await client.post(
        "/auth/password/reset", json={"token": token, "password": new_password}
    )
    assert reset.status_code == 200
    assert (await client.get("/auth/me")).status_code == 401  # the old session ended
    again = await client.post("/auth/password/reset", json={"token": token, "password": PASSWORD})
    assert again.status_code == 422 and again.json()["code"] == "invalid_token"
    assert (
        await client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    ).status_code == 401
    await log_in(client, password=new_password)


async def test_changing_the_password_ends_the_other_sessions_only(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    async with client_for(app) as other_device:
        await log_in(other_device)
        csrf = await log_in(client)
        wrong = await client.post(
            "/account/password",
            json={"current_password": "not it at all", "new_password": "another passphrase"},
            headers={"X-CSRF-Token": csrf},
        )
        assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
        changed = await client.post(
            "/account/password",
            json={"current_password": PASSWORD, "new_password": "another passphrase"},
            headers={"X-CSRF-Token": csrf},
        )
        assert changed.status_code == 204
        assert (await client.get("/auth/me")).status_code == 200
        assert (await other_device.get("/auth/me")).status_code == 401
    async with app.state.runtime.database.session() as session:
        sessions = list(await session.scalars(select(WebSession)))
    assert len(sessions) == 1


async def test_keys_are_ones_own_and_never_admin(app: Any, client: httpx.AsyncClient) -> None:
    await sign_up_and_verify(app, client)
    await sign_up_and_verify(app, client, "grace@example.com")
    async with client_for(app) as grace:
        grace_csrf = await log_in(grace, "grace@example.com")
        graces = await grace.post("/account/keys", json={}, headers={"X-CSRF-Token": grace_csrf})
        grace_key = graces.json()["key"]["id"]
    csrf = await log_in(client)
    admin = await client.post(
        "/account/keys", json={"scopes": ["tts", "admin"]}, headers={"X-CSRF-Token": csrf}
    )
    assert admin.status_code == 403 and admin.json()["code"] == "scope_not_allowed"
    for response in (
        await client.patch(
            f"/account/keys/{grace_key}", json={"name": "mine"}, headers={"X-CSRF-Token": csrf}
        ),
        await client.delete(f"/account/keys/{grace_key}", headers={"X-CSRF-Token": csrf}),
    ):
        assert response.status_code == 404
    assert (await client.get("/account/keys")).json() == []

    own = await client.post("/account/keys", json={}, headers={"X-CSRF-Token": csrf})
    key_id, secret = own.json()["key"]["id"], own.json()["secret"]
    renamed = await client.patch(
        f"/account/keys/{key_id}", json={"name": "renamed"}, headers={"X-CSRF-Token": csrf}
    )
    assert renamed.json()["name"] == "renamed"
    revoked = await client.delete(f"/account/keys/{key_id}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 204
    refused = await client.post(
        "/v1/tts", json={"text": "Hi."}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert refused.status_code == 401 and refused.json()["code"] == "revoked_api_key"


async def test_sign_up_can_be_closed(make_settings: Any, database_url: str, voices: Any) -> None:
    settings = make_settings(database_url=database_url, signup="closed")
    async with running_app(settings, voices) as app, client_for(app) as client:
        response = await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
        assert response.status_code == 403 and response.json()["code"] == "signup_closed"
        assert await mails_to(app, EMAIL) == []


async def test_the_whole_flow_with_the_link_from_a_mail_resend_delivered(
    make_settings: Any, database_url: str, voices: Any
) -> None:
    """Through the real Resend SDK and a stand-in for Resend's API, which is down at first:
    the mail is retried, and arrives once."""
    fake = FakeResend()
    async with LiveServer(fake) as resend:
        fake.url = resend.url
        settings = make_settings(
            database_url=database_url,
            public_url="https://tts.example.com",
            resend_api_key=fake.api_key,
            resend_api_base=resend.url,
            mail_retry_schedule=[0, 0.3],
        )
        fake.fail_next(1)
        async with running_app(settings, voices) as app, https_client(app) as client:
            signed = await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
            assert signed.status_code == 202
            [mail] = await eventually(lambda: _delivered(fake), timeout=10)
            assert mail.body["to"] == [EMAIL] or mail.body["to"] == EMAIL
            link = re.search(r"https://tts\.example\.com/verify\?token=(\S+)", mail.body["text"])
            assert link, mail.body["text"]
            assert (
                await client.post("/auth/verify", json={"token": link.group(1)})
            ).status_code == 200

            csrf = await log_in(client)
            created = await client.post("/account/keys", json={}, headers={"X-CSRF-Token": csrf})
            secret = created.json()["secret"]
            spoken = await client.post(
                "/v1/tts",
                json={"text": "Mail works."},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert spoken.status_code == 200
            assert (await client.get("/account/usage")).json()["totals"]["requests"] == 1
            cookie = client.cookies.get("vocalis_session")
            await client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
            async with https_client(app) as stranger:
                stranger.cookies.set("vocalis_session", cookie or "")
                assert (await stranger.get("/account/keys")).status_code == 401
        verification = [d for d in fake.delivered if "verify?token=" in d.body.get("text", "")]
        assert len(verification) == 1  # the failed try delivered nothing; the retry, once


def https_client(app: Any) -> httpx.AsyncClient:
    """As a browser on the server's https address: it sends `Secure` cookies back."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://tts.example.com")


async def _delivered(fake: FakeResend) -> list[Any]:
    return [d for d in fake.delivered if "verify?token=" in d.body.get("text", "")]


async def test_a_new_address_is_confirmed_from_itself_and_the_old_one_is_told(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up_and_verify(app, client)
    await sign_up_and_verify(app, client, "taken@example.com")
    csrf = await log_in(client)
    headers = {"X-CSRF-Token": csrf}
    wrong = await client.post(
        "/account/email",
        json={"new_email": "ada@new.example", "password": "not it at all"},
        headers=headers,
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    taken = await client.post(
        "/account/email",
        json={"new_email": "taken@example.com", "password": PASSWORD},
        headers=headers,
    )
    asked = await client.post(
        "/account/email",
        json={"new_email": "Ada@New.example", "password": PASSWORD},
        headers=headers,
    )
    assert (taken.status_code, taken.json()) == (asked.status_code, asked.json())
    assert [m.template for m in await mails_to(app, "taken@example.com")] == ["verify_email"]
    [confirm] = await mails_to(app, "ada@new.example")
    token = token_in(confirm, "/confirm-email")
    assert (await client.get("/auth/me")).json()["email"] == EMAIL  # not until confirmed
    moved = await client.post("/auth/email/confirm", json={"token": token})
    assert moved.status_code == 200 and moved.json()["email"] == "ada@new.example"
    assert (await client.get("/auth/me")).json()["email"] == "ada@new.example"
    assert "email_changed" in [m.template for m in await mails_to(app, EMAIL)]
    await log_in(client, "ada@new.example")
    again = await client.post("/auth/email/confirm", json={"token": token})
    assert again.status_code == 422 and again.json()["code"] == "invalid_token"


async def test_known_and_unknown_addresses_cost_the_same_bcrypt_work(
    app: Any, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No enumeration by timing: the same answer after the same kind of work, counted at
    bcrypt's boundary (a third-party library), not timed."""
    import bcrypt

    await sign_up_and_verify(app, client)
    # The stand-in hash for unknown addresses is made once per process, on first need.
    await client.post("/auth/login", json={"email": "warm@example.com", "password": PASSWORD})
    calls: list[str] = []
    for name in ("hashpw", "checkpw"):
        real = getattr(bcrypt, name)
        monkeypatch.setattr(
            bcrypt, name, lambda *args, _real=real, _name=name: calls.append(_name) or _real(*args)
        )

    async def work(method: str, path: str, body: dict[str, str]) -> tuple[Any, list[str]]:
        calls.clear()
        response = await client.request(method, path, json=body)
        return (response.status_code, response.json()), list(calls)

    for path, known, unknown in (
        ("/auth/login", {"email": EMAIL, "password": "wrong password!"},
         {"email": "who@example.com", "password": "wrong password!"}),
        ("/auth/signup", {"email": EMAIL, "password": "fresh long secret"},
         {"email": "new@example.com", "password": "fresh long secret"}),
        ("/auth/password/forgot", {"email": EMAIL}, {"email": "who@example.com"}),
    ):  # fmt: skip
        assert await work("POST", path, known) == await work("POST", path, unknown), path


async def test_a_session_lasts_its_lifetime_after_its_last_use(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    from datetime import timedelta

    lifetime = app.state.runtime.web.session_lifetime
    await sign_up_and_verify(app, client)
    await log_in(client)
    clock.advance(lifetime - timedelta(hours=1))
    assert (await client.get("/auth/me")).status_code == 200  # used: pushed forward
    clock.advance(lifetime - timedelta(hours=1))
    assert (await client.get("/auth/me")).status_code == 200
    clock.advance(lifetime + timedelta(minutes=1))
    expired = await client.get("/auth/me")
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"


async def test_logging_in_finds_the_address_as_sign_up_stored_it(
    app: Any, client: httpx.AsyncClient
) -> None:
    """Sign-up normalizes addresses (case, Unicode forms, punycode); login must too."""
    typed = "Pc@xn--exmple-cua.com"  # stored as pc@exämple.com
    signed = await client.post("/auth/signup", json={"email": typed, "password": PASSWORD})
    assert signed.status_code == 202
    assert (
        await client.post("/auth/login", json={"email": typed, "password": PASSWORD})
    ).status_code == 200
    bad = await client.post("/auth/login", json={"email": "not an address", "password": PASSWORD})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_credentials"


async def test_a_stolen_session_cannot_guess_the_password(
    app: Any, client: httpx.AsyncClient
) -> None:
    """Re-asking the password (change it, change the address, delete) is throttled per account
    like logins: after 5 wrong answers even the right one waits."""
    await sign_up_and_verify(app, client)
    headers = {"X-CSRF-Token": await log_in(client)}
    for guess in range(5):
        wrong = await client.post(
            "/account/password",
            json={"current_password": f"guess number {guess}", "new_password": "a new passphrase"},
            headers=headers,
        )
        assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    for path, body in (
        ("/account/password", {"current_password": PASSWORD, "new_password": "a new passphrase"}),
        ("/account/delete", {"password": PASSWORD}),
    ):
        refused = await client.post(path, json=body, headers=headers)
        assert refused.status_code == 429 and "retry-after" in refused.headers
    assert (await client.get("/auth/me")).status_code == 200  # nothing changed


async def test_repeated_requests_do_not_flood_an_inbox(app: Any, client: httpx.AsyncClient) -> None:
    await sign_up_and_verify(app, client)
    for _ in range(5):
        assert (
            await client.post("/auth/password/forgot", json={"email": EMAIL})
        ).status_code == 202
        assert (
            await client.post("/auth/signup", json={"email": EMAIL, "password": PASSWORD})
        ).status_code == 202
    templates = [mail.template for mail in await mails_to(app, EMAIL)]
    assert templates.count("reset_password") == 1 and templates.count("signup_existing") == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"scopes": []},
        {"allowed_voices": []},
        {"allowed_cidrs": []},
        {"allowed_voices": ["v" * 101]},
        {"allowed_cidrs": ["10.0.0.0/8"] * 101},
    ],
)
async def test_a_key_that_could_do_nothing_or_is_unbounded_is_refused(
    app: Any, client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    await sign_up_and_verify(app, client)
    refused = await client.post(
        "/account/keys", json=fields, headers={"X-CSRF-Token": await log_in(client)}
    )
    assert refused.status_code == 422
    assert (await client.get("/account/keys")).json() == []
