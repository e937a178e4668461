"""`vocalis db backup`: a consistent copy of a SQLite database, taken while the server runs;
for PostgreSQL, the `pg_dump` command that does the same.

SQLite's online backup API copies the database as one snapshot (a read transaction), so the
copy holds exactly the rows of one moment even while other processes write. The copy is made
beside the target under a temporary name and moved into place only once complete and checked:
an interrupted backup never leaves a half-written file where the last good one was. Blocking:
from async code, run it in a thread.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

SQLITE_BUSY_TIMEOUT_S = 30


class BackupError(Exception):
    """The backup cannot be made; the message says why and names no password."""


@dataclass(frozen=True)
class BackupResult:
    source: Path
    target: Path
    size: int


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL; None for another database. Raises `BackupError` for an
    in-memory database, which has nothing to copy."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError("an in-memory or URI-named SQLite database cannot be backed up here")
    return Path(database).expanduser()


def backup_sqlite(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the SQLite database at `source` into a new file at `target` (replaced only with
    `force`), readable by its owner alone. The copy is checked before it takes `target`'s place."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give the backup's file name")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; give --force to replace it")
    if target.exists() and not target.is_file():
        raise BackupError(f"{target} is not a regular file; a backup replaces only a file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError("the backup cannot replace the database itself")
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        # An empty file is an empty database; made first, so the copy is private from the start.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise BackupError(f"cannot write in {target.parent}: {exc.strerror}") from None
    try:
        with (
            closing(sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_S)) as origin,
            closing(sqlite3.connect(partial)) as copy,
        ):
            origin.backup(copy)  # all pages in one step: one snapshot, whatever others write
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {source}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(source, target, target.stat().st_size)


def pg_dump_command(database_url: str, target: Path) -> str:
    """The `pg_dump` command that backs up the PostgreSQL database at `database_url` into
    `target`, without its password (give that through PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url)
    query = dict(url.query)
    ssl = query.pop("ssl", None)  # asyncpg's name for what libpq calls sslmode
    if ssl is not None and "sslmode" not in query:
        query["sslmode"] = ssl
    plain = URL.create(  # `set(password=None)` would keep the password
        "postgresql", url.username, None, url.host, url.port, url.database, query
    )
    address = plain.render_as_string(hide_password=False)
    return f"pg_dump --format=custom --file={shlex.quote(str(target))} {shlex.quote(address)}"
