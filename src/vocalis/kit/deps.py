"""Request dependencies on the parts of the running process, asked for by type.

The runtime registers its parts on the app (`app.state.provided`); a domain declares what it
needs beside its own code (`accounts/deps.py`, `jobs/deps.py`, …) as
`Annotated[Part, Depends(provided(Part))]`, so routers never import the wiring, and tests
override one part with `app.dependency_overrides[provided(Part)]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.config import Settings
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database

T = TypeVar("T")


def part(request: Request, kind: type[T]) -> T:
    """The running process's `kind`, for code that is not solved by FastAPI (a lean route)."""
    return request.app.state.provided[kind]  # type: ignore[no-any-return]


@cache  # one function per type: FastAPI resolves it once per request and overrides match it
def provided(kind: type[T]) -> Callable[[Request], T]:
    async def dependency(request: Request) -> Any:  # async: a sync one would cost a thread hop
        return part(request, kind)

    dependency.__name__ = f"provided_{kind.__name__}"
    return dependency


SettingsDep = Annotated[Settings, Depends(provided(Settings))]
DatabaseDep = Annotated[Database, Depends(provided(Database))]
ClockDep = Annotated[Clock, Depends(provided(Clock))]


async def _session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed before the response is sent, or rolled back."""
    async with database.session() as session:
        yield session


async def _write_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """A unit of work that writes: takes SQLite's write lock up front (BEGIN IMMEDIATE)."""
    async with database.session(write=True) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
WriteSessionDep = Annotated[AsyncSession, Depends(_write_session, scope="function")]
