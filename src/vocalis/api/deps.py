"""FastAPI dependencies for the process-wide services built by `create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.audio.marking import Marker
from vocalis.config import Settings
from vocalis.engine import SpeechEngine
from vocalis.jobs.storage import AudioStore
from vocalis.jobs.urls import Resolver
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.synthesis.cache import SpeechCache
from vocalis.usage.ledger import ReservationLedger
from vocalis.usage.ratelimit import RateLimiter
from vocalis.usage.recorder import UsageRecorder

if TYPE_CHECKING:
    from vocalis.jobs.runner import JobRunner


@dataclass
class Services:
    """What one running app holds: kept on `app.state.services`, never in module globals."""

    settings: Settings
    database: Database
    engine: SpeechEngine
    clock: Clock
    limiter: RateLimiter
    usage: UsageRecorder
    store: AudioStore
    resolver: Resolver
    cache: SpeechCache
    marker: Marker
    ledger: ReservationLedger
    runner: JobRunner | None = None  # the in-process worker (VOCALIS_WORKER=inline)


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(services: Annotated[Services, Depends(get_services)]) -> Settings:
    return services.settings


def get_database(services: Annotated[Services, Depends(get_services)]) -> Database:
    return services.database


def get_engine(services: Annotated[Services, Depends(get_services)]) -> SpeechEngine:
    return services.engine


def get_clock(services: Annotated[Services, Depends(get_services)]) -> Clock:
    return services.clock


def get_limiter(services: Annotated[Services, Depends(get_services)]) -> RateLimiter:
    return services.limiter


def get_usage_recorder(services: Annotated[Services, Depends(get_services)]) -> UsageRecorder:
    return services.usage


async def get_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: committed before the response is sent, or rolled back."""
    async with database.session() as session:
        yield session


async def get_write_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """A unit of work that writes: takes SQLite's write lock up front (BEGIN IMMEDIATE)."""
    async with database.session(write=True) as session:
        yield session


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
EngineDep = Annotated[SpeechEngine, Depends(get_engine)]
ClockDep = Annotated[Clock, Depends(get_clock)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
UsageRecorderDep = Annotated[UsageRecorder, Depends(get_usage_recorder)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
