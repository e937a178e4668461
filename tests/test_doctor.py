"""`vocalis doctor`: the effective configuration with its secrets masked, then one line per part
(ok, FAIL or skipped), and exit code 1 when anything failed — against a real SQLite, the real
PostgreSQL and Redis, local stand-ins for Stripe and Resend, and closed ports."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from tests.conftest import POSTGRES_URL, TEST_PEPPER
from tests.servers import LiveServer, free_port
from vocalis.cli import app

runner = CliRunner()

REDIS_URL = "redis://127.0.0.1:6379"
STRIPE_KEY = "sk_test_Doc7" + "s" * 20
RESEND_FULL_KEY = "re_Full9" + "f" * 20
RESEND_SENDING_KEY = "re_Send8" + "e" * 20
SENDER_DOMAIN = "tts.example.com"
SECRETS = ("Doc7", "Full9", "Send8", "s3cret-pw", "hunter2", TEST_PEPPER)


def _closed_port() -> int:
    return free_port()  # bound a moment ago and released: nothing listens there


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def stand_in(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Stripe's GET /v1/balance and Resend's GET /domains, each checking its bearer key."""
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    bearer = headers.get("authorization", "").removeprefix("Bearer ")
    if scope["path"] == "/v1/balance":
        if bearer != STRIPE_KEY:
            error = {"type": "invalid_request_error", "message": "Invalid API Key provided"}
            await _answer(send, 401, {"error": error})
            return
        await _answer(send, 200, {"object": "balance", "livemode": False, "available": []})
    elif scope["path"] == "/domains":
        if bearer == RESEND_SENDING_KEY:
            body = {"statusCode": 401, "name": "restricted_api_key", "message": "send only"}
            await _answer(send, 401, body)
            return
        if bearer != RESEND_FULL_KEY:
            body = {"statusCode": 403, "name": "validation_error", "message": "API key is invalid"}
            await _answer(send, 403, body)
            return
        domains = [
            {"id": "d_1", "name": SENDER_DOMAIN, "status": "verified"},
            {"id": "d_2", "name": "pending.example.com", "status": "pending"},
        ]
        await _answer(send, 200, {"object": "list", "data": domains})
    else:
        await _answer(send, 404, {"error": "not found"})


@pytest.fixture
async def services() -> AsyncIterator[str]:
    async with LiveServer(stand_in) as server:
        yield server.url


def _environment(tmp_path: Path, database_url: str, **settings: str) -> dict[str, str]:
    return {
        "VOCALIS_DATABASE_URL": database_url,
        "VOCALIS_STORAGE_PATH": str(tmp_path / "storage"),
        "VOCALIS_VOICES_DIR": str(tmp_path / "voices"),
        "VOCALIS_KEY_PEPPER": TEST_PEPPER,
        "VOCALIS_DEVICE": "cpu",
        **{f"VOCALIS_{name.upper()}": value for name, value in settings.items()},
    }


async def _doctor(env: dict[str, str]) -> Result:
    """`vocalis doctor`, in a thread: the stand-ins answer from this test's event loop."""
    return await asyncio.to_thread(runner.invoke, app, ["doctor"], env=env)


def _checks(result: Result) -> dict[str, list[str]]:
    """`{"database": ["ok", "SQLite reachable, …"], …}` (configuration: its first line)."""
    found: dict[str, list[str]] = {}
    section = result.stdout.split("Checks:\n", 1)[1]
    for line in section.splitlines():
        if not line.startswith("  "):
            continue
        outcome, rest = line.strip().split(None, 1)
        name, detail = rest.split(": ", 1)
        found.setdefault(name, [outcome, detail])
    return found


def _no_secret_in(result: Result) -> None:
    for secret in SECRETS:
        assert secret not in result.output
    assert "Traceback" not in result.output


async def test_a_healthy_setup_passes_every_check(
    tmp_path: Path, sqlite_url: str, services: str
) -> None:
    if not _redis_reachable():
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    env = _environment(
        tmp_path,
        sqlite_url,
        rate_limit_storage=REDIS_URL,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret="whsec_" + "w" * 32,
        stripe_api_base=services,
        resend_api_key=RESEND_FULL_KEY,
        resend_api_base=services,
        mail_from=f"Vocalis <no-reply@{SENDER_DOMAIN}>",
    )
    result = await _doctor(env)
    assert result.exit_code == 0, result.output
    config = result.stdout.split("Checks:\n", 1)[0]
    assert f"  VOCALIS_DATABASE_URL = {sqlite_url}\n" in config
    assert "  VOCALIS_STRIPE_SECRET_KEY = **** (set)\n" in config
    assert "  VOCALIS_RESEND_API_KEY = **** (set)\n" in config
    assert "  VOCALIS_KEY_PEPPER = **** (set)\n" in config
    assert "  VOCALIS_METRICS_TOKEN = (unset)  (default)\n" in config
    assert "  VOCALIS_PORT = 8000  (default)\n" in config
    checks = _checks(result)
    assert {name: outcome for name, (outcome, _) in checks.items()} == {
        "configuration": "ok",
        "database": "ok",
        "storage": "ok",
        "voices": "ok",
        "rate-limit storage": "ok",
        "stripe": "ok",
        "resend": "ok",
    }
    assert checks["database"][1].startswith("SQLite reachable, at the newest revision")
    assert checks["voices"][1].endswith("default en_US-joe-medium (en_US, 22050 Hz)")
    assert checks["stripe"][1] == f"{services} accepted the secret key (test mode)"
    assert checks["resend"][1].endswith(f"the sender's domain {SENDER_DOMAIN} is verified")
    assert result.stdout.endswith("All checks passed.\n")
    _no_secret_in(result)


async def test_the_optional_services_are_skipped_when_not_configured(
    tmp_path: Path, sqlite_url: str
) -> None:
    result = await _doctor(_environment(tmp_path, sqlite_url))
    assert result.exit_code == 0, result.output
    checks = _checks(result)
    assert checks["rate-limit storage"] == ["skipped", "kept in this process's memory (memory://)"]
    assert checks["stripe"][0] == checks["resend"][0] == "skipped"


async def test_the_real_postgresql_with_its_password_masked(
    tmp_path: Path, postgres_database: str | None
) -> None:
    if postgres_database is None:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    # trust authentication: the password is never asked for, only shown (masked)
    url = make_url(postgres_database).set(password="s3cret-pw").render_as_string(False)
    result = await _doctor(_environment(tmp_path, url))
    assert result.exit_code == 0, result.output
    assert _checks(result)["database"][1].startswith("PostgreSQL reachable, at the newest")
    assert ":***@" in result.stdout
    _no_secret_in(result)


async def test_what_cannot_be_reached_fails_with_exit_code_1(tmp_path: Path) -> None:
    closed = _closed_port()
    env = _environment(
        tmp_path,
        f"postgresql+asyncpg://vocalis:s3cret-pw@127.0.0.1:{closed}/vocalis",
        rate_limit_storage=f"redis://:hunter2@127.0.0.1:{closed}",
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret="whsec_" + "w" * 32,
        stripe_api_base=f"http://127.0.0.1:{closed}",
        resend_api_key=RESEND_FULL_KEY,
        resend_api_base=f"http://127.0.0.1:{closed}",
    )
    result = await _doctor(env)
    assert result.exit_code == 1
    checks = _checks(result)
    assert checks["database"][0] == "FAIL" and checks["database"][1].startswith("unreachable")
    assert checks["rate-limit storage"] == [
        "FAIL", f"no answer from redis://:***@127.0.0.1:{closed}",
    ]  # fmt: skip
    assert checks["stripe"] == ["FAIL", f"no answer from http://127.0.0.1:{closed}"]
    assert checks["resend"][0] == "FAIL" and "no answer" in checks["resend"][1]
    assert (checks["configuration"][0], checks["storage"][0], checks["voices"][0]) == (
        "ok", "ok", "ok",
    )  # fmt: skip
    assert result.stdout.endswith("4 check(s) failed\n")
    _no_secret_in(result)


async def test_refused_keys_and_an_unverified_sender_fail(
    tmp_path: Path, sqlite_url: str, services: str
) -> None:
    env = _environment(
        tmp_path,
        sqlite_url,
        stripe_secret_key="sk_test_Doc7wrong",
        stripe_webhook_secret="whsec_" + "w" * 32,
        stripe_api_base=services,
        resend_api_key="re_Full9wrong",
        resend_api_base=services,
    )
    result = await _doctor(env)
    assert result.exit_code == 1
    checks = _checks(result)
    assert checks["stripe"] == ["FAIL", f"{services} refused the secret key (401)"]
    assert checks["resend"] == ["FAIL", f"{services} refused the key (403)"]
    _no_secret_in(result)

    env["VOCALIS_RESEND_API_KEY"] = RESEND_FULL_KEY  # right key, development sender
    env["VOCALIS_STRIPE_SECRET_KEY"] = STRIPE_KEY
    checks = _checks(await _doctor(env))
    assert checks["stripe"][0] == "ok"
    assert checks["resend"][0] == "FAIL"
    assert checks["resend"][1].startswith(
        "the sender's domain vocalis.local is not in this account"
    )
    assert "pending.example.com (pending)" in checks["resend"][1]

    env["VOCALIS_MAIL_FROM"] = "Vocalis <no-reply@pending.example.com>"
    checks = _checks(await _doctor(env))
    assert checks["resend"][1].startswith("the sender's domain pending.example.com is not verified")

    env["VOCALIS_RESEND_API_KEY"] = RESEND_SENDING_KEY  # may send, may not list domains
    result = await _doctor(env)
    assert result.exit_code == 0, result.output
    assert _checks(result)["resend"] == [
        "ok", f"{services} accepted the key (sending only: domains not checked)",
    ]  # fmt: skip


async def test_an_unmigrated_or_foreign_database_fails(tmp_path: Path, sqlite_url: str) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    checks = _checks(await _doctor(_environment(tmp_path, empty)))
    assert checks["database"] == [
        "FAIL", "SQLite reachable but not migrated: run 'vocalis db upgrade'",
    ]  # fmt: skip

    with sqlite3.connect(make_url(sqlite_url).database) as db:
        db.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    result = await _doctor(_environment(tmp_path, sqlite_url))
    assert result.exit_code == 1
    assert _checks(result)["database"][1] == (
        "SQLite at revision from_the_future, which this version does not know (a newer Vocalis "
        "migrated it?)"
    )


async def test_production_problems_are_listed_all_at_once_not_a_crash(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = _environment(
        tmp_path,
        sqlite_url,
        env="production",
        key_pepper="short",
        public_url="http://tts.example.com",
        metrics_token="hunter2",
    )
    result = await _doctor(env)
    assert result.exit_code == 1
    assert "  VOCALIS_ENV = production\n" in result.stdout  # the configuration is still shown
    problems = [
        line.split(": ", 1)[1]
        for line in result.stdout.splitlines()
        if line.startswith("  FAIL     configuration: ")
    ]
    assert [problem.split(" ")[0] for problem in problems] == [
        "VOCALIS_KEY_PEPPER",
        "VOCALIS_METRICS_TOKEN",
        "VOCALIS_PUBLIC_URL",
        "VOCALIS_RESEND_API_KEY",
        "VOCALIS_DATABASE_URL",
    ]
    assert _checks(result)["database"][0] == "ok"  # the other checks ran all the same
    _no_secret_in(result)
    assert "short" not in result.stdout.split("Checks:")[0]


async def test_a_value_wrong_in_itself_is_one_clean_failure(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = _environment(
        tmp_path,
        "postgresql+asyncpg://vocalis:s3cret-pw@db/vocalis",
        port="eighty",
        env="production",
    )
    result = await _doctor(env)
    assert result.exit_code == 1
    assert result.stdout.startswith("FAIL     configuration: invalid settings: port: ")
    _no_secret_in(result)

    env = _environment(tmp_path, sqlite_url, default_plan="platinum")
    result = await _doctor(env)
    assert result.exit_code == 1
    outcome, detail = _checks(result)["configuration"]
    assert outcome == "FAIL" and detail.startswith("VOCALIS_DEFAULT_PLAN 'platinum' is not a plan")
