"""The `vocalis` command line, as an operator uses it."""

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.servers import free_port
from vocalis.accounts.keys import generate_api_key, is_well_formed
from vocalis.accounts.models import Account, ApiKey
from vocalis.cli import app
from vocalis.kit.audit import AuditEntry
from vocalis.kit.db import Database

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "VOCALIS_DEV_KEY_FILE": str(tmp_path / "dev-api-key"),
        "VOCALIS_KEY_PEPPER": "cli-test-pepper",
    }


def _ok(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_operator_flow_migrate_account_key_list_revoke(env: dict[str, str]) -> None:
    _, migrated = _ok(["db", "upgrade"], env)
    assert "database at revision" in migrated

    account_id, _ = _ok(["accounts", "create", "--email", "Ops@Example.com"], env)
    assert account_id.strip().startswith("acc_")

    out, info = _ok(
        ["keys", "create", "--account", "ops@example.com", "--name", "ci", "--scopes", "tts,jobs"],
        env,
    )
    key = out.strip().splitlines()[-1]
    assert is_well_formed(key)
    assert "not shown again" in info

    listing, _ = _ok(["keys", "list", "--account", "ops@example.com"], env)
    (row,) = listing.strip().splitlines()
    key_id, prefix, name, scopes, rpm, state = row.split("\t")
    assert (prefix, name, scopes, rpm, state) == (
        key[:12] + "…",
        "ci",
        "jobs,tts",
        "600/min",
        "active",
    )
    assert key not in listing

    _ok(["keys", "revoke", key_id], env)
    listing, _ = _ok(["keys", "list", "--account", "ops@example.com"], env)
    assert listing.strip().endswith("revoked")


def test_mistakes_are_reported_without_a_traceback(env: dict[str, str]) -> None:
    _ok(["db", "upgrade"], env)
    _ok(["accounts", "create", "--email", "a@example.com"], env)
    for args in (
        ["accounts", "create", "--email", "a@example.com"],
        ["accounts", "create", "--email", "not-an-email"],
        ["keys", "create", "--account", "nobody@example.com"],
        ["keys", "create", "--account", "a@example.com", "--scopes", "tts,superuser"],
        ["keys", "revoke", "key_doesnotexist"],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.output


def test_bad_configuration_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "db", "upgrade"], env=env)
    assert result.exit_code == 2
    assert "configuration file not found" in result.stderr


def test_configuration_errors_do_not_print_secrets(env: dict[str, str]) -> None:
    pepper = "short-pepper"
    production = {
        **env,
        "VOCALIS_ENV": "production",
        "VOCALIS_KEY_PEPPER": pepper,
        "VOCALIS_DATABASE_URL": "postgresql+asyncpg://vocalis:s3cret-pw@db.internal/vocalis",
    }
    result = runner.invoke(app, ["db", "upgrade"], env=production)
    assert result.exit_code == 2
    assert "VOCALIS_KEY_PEPPER must be at least 32 bytes" in result.stderr
    assert pepper not in result.output and "s3cret-pw" not in result.output

    production["VOCALIS_KEY_PEPPER"] = "vocalis-development-pepper-change-me"
    production["VOCALIS_PORT"] = "eighty"  # two problems: pydantic would quote every setting
    result = runner.invoke(app, ["db", "upgrade"], env=production)
    assert result.exit_code == 2 and "port" in result.stderr
    assert "s3cret-pw" not in result.output


@pytest.mark.slow  # a real server process
def test_served_access_log_hides_keys_sent_in_the_query(
    env: dict[str, str], tmp_path: Path
) -> None:
    _ok(["db", "upgrade"], env)
    key = generate_api_key()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "vocalis", "serve", "--port", str(port)],
        env={
            **os.environ,
            **env,
            "VOCALIS_STORAGE_PATH": str(tmp_path / "storage"),
            "VOCALIS_VOICES_DIR": str(tmp_path / "voices"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/health?lang=en&api_key={key}&token={key}"
        assert _get_when_up(server, url).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        log, _ = server.communicate(timeout=30)
    assert "vocalis.access: GET /health 200 " in log  # logged by route: no query string
    assert key not in log and key[len("sk_live_") :] not in log


def _get_when_up(server: subprocess.Popen[str], url: str) -> httpx.Response:
    """GET `url` as soon as the server listens (it is polled, not waited for)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("the server never started listening")


def test_dev_key_is_created_once_and_printed_every_time(env: dict[str, str]) -> None:
    _ok(["db", "upgrade"], env)
    first, _ = _ok(["dev-key"], env)
    again, _ = _ok(["dev-key"], env)
    key = first.strip().splitlines()[-1]
    assert is_well_formed(key)
    assert again.strip().splitlines()[-1] == key
    assert oct(Path(env["VOCALIS_DEV_KEY_FILE"]).stat().st_mode & 0o777) == "0o600"

    listing, _ = _ok(["keys", "list", "--account", "dev@example.com"], env)
    (key_id, *_rest) = listing.strip().split("\t")
    _ok(["keys", "revoke", key_id], env)
    replaced, _ = _ok(["dev-key"], env)  # a revoked dev key is replaced, not reprinted
    assert replaced.strip() != key and is_well_formed(replaced.strip())


def test_voices_list_shows_the_default_voice(env: dict[str, str]) -> None:
    out, _ = _ok(["voices", "list"], env)
    assert out.startswith("* en_US-joe-medium\ten_US\tmale\t22050 Hz\tpiper")


def test_limits_and_key_restrictions_from_the_command_line(env: dict[str, str]) -> None:
    _ok(["db", "upgrade"], env)
    _ok(["accounts", "create", "--email", "lim@example.com", "--plan", "starter",
         "--char-limit", "500", "--seconds-limit", "60"], env)  # fmt: skip
    changed, _ = _ok(
        ["accounts", "set-limits", "--email", "lim@example.com", "--char-limit", "900"], env
    )
    assert changed.strip() == "lim@example.com: plan starter, 900 characters and 60 seconds a month"
    nothing = runner.invoke(app, ["accounts", "set-limits", "--email", "lim@example.com"], env=env)
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr

    _ok(["keys", "create", "--account", "lim@example.com", "--rpm", "5", "--char-cap", "100",
         "--voices", "en_US-joe-medium", "--cidrs", "10.0.0.0/8, 192.0.2.1"], env)  # fmt: skip
    listing, _ = _ok(["keys", "list", "--account", "lim@example.com"], env)
    assert listing.split("\t")[4] == "5/min"
    bad = runner.invoke(
        app, ["keys", "create", "--account", "lim@example.com", "--cidrs", "not-an-ip"], env=env
    )
    assert bad.exit_code == 1 and "not an IP address" in bad.stderr

    async def stored() -> tuple[Account, ApiKey, list[AuditEntry]]:
        database = Database(env["VOCALIS_DATABASE_URL"])
        async with database.session() as session:
            account = await session.scalar(select(Account))
            key = await session.scalar(select(ApiKey))
            trail = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        await database.dispose()
        return account, key, trail

    account, key, trail = asyncio.run(stored())
    assert (account.plan, account.char_limit, account.seconds_limit) == ("starter", 900, 60)
    assert (key.rate_limit_rpm, key.monthly_char_cap) == (5, 100)
    assert (key.allowed_voices, key.allowed_cidrs) == (
        ["en_US-joe-medium"],
        ["10.0.0.0/8", "192.0.2.1/32"],
    )
    assert [(entry.actor, entry.action) for entry in trail] == [
        ("cli", "account.create"), ("cli", "account.update"), ("cli", "key.create"),
    ]  # fmt: skip


def test_a_bad_plan_setting_is_named_at_start_not_a_trace(env: dict[str, str]) -> None:
    """VOCALIS_PLANS is read by billing, not the settings model: still a clean refusal."""
    for name, value in (("VOCALIS_PLANS", '{"free": {"characters": -5}}'),
                        ("VOCALIS_DEFAULT_PLAN", "gold")):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "vocalis", "keys", "list", "--account", "a@example.com"],
            env={**env, name: value}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2
        assert "configuration error" in result.stderr and "Traceback" not in result.stderr


def test_an_operator_sets_a_password_that_logs_in_on_the_web(env: dict[str, str]) -> None:
    env = {**env, "VOCALIS_BCRYPT_COST": "4"}
    _ok(["db", "upgrade"], env)
    _ok(["accounts", "create", "--email", "web@example.com"], env)
    weak = runner.invoke(
        app, ["accounts", "set-password", "--email", "web@example.com"], input="short\nshort\n",
        env=env,
    )  # fmt: skip
    assert weak.exit_code == 1 and "at least 10 characters" in weak.stderr
    done = runner.invoke(
        app, ["accounts", "set-password", "--email", "web@example.com"],
        input="a sturdy passphrase\na sturdy passphrase\n", env=env,
    )  # fmt: skip
    assert done.exit_code == 0 and "password set for web@example.com" in done.stdout
    assert "sturdy" not in done.output  # never echoed

    async def stored() -> tuple[str | None, list[str]]:
        database = Database(env["VOCALIS_DATABASE_URL"])
        async with database.session() as session:
            account = await session.scalar(select(Account))
            actions = list(await session.scalars(select(AuditEntry.action)))
        await database.dispose()
        return account.password_hash if account else None, actions

    password_hash, actions = asyncio.run(stored())
    assert password_hash is not None and password_hash.startswith("$2b$04$")
    assert actions[-1] == "account.set_password"


def test_an_account_becomes_an_operator_and_back(env: dict[str, str]) -> None:
    _ok(["db", "upgrade"], env)
    _ok(["accounts", "create", "--email", "ops@example.com"], env)
    made, _ = _ok(["accounts", "set-admin", "--email", "ops@example.com"], env)
    assert made.strip() == "ops@example.com: operator"
    undone, _ = _ok(["accounts", "set-admin", "--email", "ops@example.com", "--remove"], env)
    assert undone.strip() == "ops@example.com: no longer an operator"
    unknown = runner.invoke(
        app, ["accounts", "set-admin", "--email", "nobody@example.com"], env=env
    )
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output

    async def stored() -> tuple[bool, list[str]]:
        database = Database(env["VOCALIS_DATABASE_URL"])
        async with database.session() as session:
            account = await session.scalar(select(Account))
            actions = list(await session.scalars(select(AuditEntry.action)))
        await database.dispose()
        assert account is not None
        return account.is_admin, actions

    is_admin, actions = asyncio.run(stored())
    assert is_admin is False
    assert actions[-2:] == ["account.operator_granted", "account.operator_revoked"]


# --- db backup ----------------------------------------------------------------------------------


def _rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(query).fetchall()


def test_backup_copies_the_sqlite_database_and_never_overwrites_by_accident(
    env: dict[str, str], tmp_path: Path
) -> None:
    _ok(["db", "upgrade"], env)
    for email in ("a@example.com", "b@example.com"):
        _ok(["accounts", "create", "--email", email], env)
    _ok(["keys", "create", "--account", "a@example.com"], env)
    source = Path(env["VOCALIS_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    target = tmp_path / "backups" / "vocalis-1.db"
    target.parent.mkdir()

    _, said = _ok(["db", "backup", str(target)], env)
    assert said.startswith(f"backed up {source} to {target} (")
    query = "SELECT id, email, plan FROM accounts ORDER BY id"
    assert _rows(target, query) == _rows(source, query) and len(_rows(target, query)) == 2
    keys = "SELECT id, key_hash FROM api_keys"
    assert _rows(target, keys) == _rows(source, keys)
    assert _rows(target, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(target, "PRAGMA journal_mode") == [("delete",)]  # one file, no -wal beside it
    assert target.stat().st_mode & 0o777 == 0o600  # accounts and key hashes: the owner's only
    assert sorted(p.name for p in target.parent.iterdir()) == ["vocalis-1.db"]  # no leftovers

    _ok(["accounts", "create", "--email", "c@example.com"], env)
    again = runner.invoke(app, ["db", "backup", str(target)], env=env)
    assert again.exit_code == 1 and "exists; give --force" in again.stderr
    assert len(_rows(target, query)) == 2  # untouched
    _ok(["db", "backup", str(target), "--force"], env)
    assert len(_rows(target, query)) == 3

    missing = runner.invoke(
        app, ["db", "backup", str(tmp_path / "x.db")],
        env={**env, "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"},
    )  # fmt: skip
    assert missing.exit_code == 1 and "there is no database at" in missing.stderr


def test_backup_refuses_a_target_it_cannot_or_must_not_write(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A clear message and exit 1, never a traceback; and --force replaces only a file (not a
    pipe or a device someone pointed it at)."""
    _ok(["db", "upgrade"], env)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    forced = runner.invoke(app, ["db", "backup", str(pipe), "--force"], env=env)
    assert forced.exit_code == 1 and "not a regular file" in forced.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still a pipe
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root may write anywhere: use a place nobody can
        locked = Path("/proc")
    refused = runner.invoke(app, ["db", "backup", str(locked / "copy.db")], env=env)
    assert refused.exit_code == 1 and "cannot write" in refused.stderr
    assert "Traceback" not in refused.output


def test_backup_is_one_consistent_snapshot_while_another_process_writes(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A writer commits batches of 50 rows as fast as it can; every copy holds whole batches
    only, and a readable, intact database."""
    _ok(["db", "upgrade"], env)
    source = Path(env["VOCALIS_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with closing(sqlite3.connect(source)) as db:
        db.execute("CREATE TABLE probe (batch INTEGER, item INTEGER, filler TEXT)")
        db.commit()
    stop = threading.Event()
    committed = [0]

    def write() -> None:
        with closing(sqlite3.connect(source, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # as the server keeps it
            while not stop.is_set():
                batch = committed[0] + 1
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO probe VALUES (?, ?, ?)",
                    [(batch, item, "x" * 500) for item in range(50)],
                )
                db.execute("COMMIT")
                committed[0] = batch

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen = []
        for index in range(6):
            while committed[0] <= (seen[-1] if seen else 0):
                time.sleep(0.01)  # the writer has moved on since the last copy
            target = tmp_path / f"copy-{index}.db"
            _ok(["db", "backup", str(target)], env)
            assert _rows(target, "PRAGMA integrity_check") == [("ok",)]
            sizes = _rows(target, "SELECT batch, count(*) FROM probe GROUP BY batch")
            assert sizes and all(count == 50 for _, count in sizes)  # whole batches only
            batches = [batch for batch, _ in sizes]
            assert batches == list(range(1, len(batches) + 1))  # and none missing
            seen.append(len(batches))
    finally:
        stop.set()
        writer.join()
    assert seen == sorted(seen) and seen[-1] > seen[0]  # copies of a database being written


def test_backup_of_postgresql_says_how_without_the_password(
    env: dict[str, str], tmp_path: Path
) -> None:
    postgres = {
        **env,
        "VOCALIS_DATABASE_URL": "postgresql+asyncpg://vocalis:s3cret-pw@db.internal:5432/tts"
        "?ssl=require",
    }
    result = runner.invoke(app, ["db", "backup", str(tmp_path / "tts.dump")], env=postgres)
    assert result.exit_code == 1
    assert "back it up with pg_dump" in result.stderr and "PGPASSWORD" in result.stderr
    command = result.stderr.strip().splitlines()[-1].strip()
    assert command == (
        f"pg_dump --format=custom --file={tmp_path / 'tts.dump'} "
        "'postgresql://vocalis@db.internal:5432/tts?sslmode=require'"
    )
    assert "s3cret-pw" not in result.output
