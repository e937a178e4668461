"""Alembic, driven from code: the only way the schema changes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def migrations_dir() -> Path:
    """The packaged copy when installed from a wheel, the source tree's otherwise."""
    packaged = Path(str(resources.files("vocalis") / "migrations"))
    if (packaged / "env.py").is_file():
        return packaged
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@cache
def is_known_revision(revision: str) -> bool:
    """Whether this version's migrations include `revision` (False: a newer release made it)."""
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine`, on its own connection: safe in a running loop."""
    async with _migrating(engine) as conn:
        await conn.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with _migrating(engine) as conn:
        await conn.run_sync(_run, "downgrade", revision)


@asynccontextmanager
async def _migrating(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction for the whole migration. On SQLite, foreign keys are off meanwhile:
    changing a table there means copying it, and dropping the old copy would otherwise
    cascade into every row that refers to it (the API keys of every account, say). Whatever
    the migration leaves must still hold together, or nothing of it is kept."""
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = (await conn.get_raw_connection()).driver_connection if sqlite else None
        if raw is not None:  # before BEGIN: inside a transaction SQLite ignores the pragma
            await raw.execute("PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                yield conn
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if raw is not None:
                await raw.execute("PRAGMA foreign_keys=ON")


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


def _run(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)
