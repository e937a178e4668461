"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from vocalis.engine import SpeechEngine
from vocalis.kit.db import Database
from vocalis.kit.deps import DatabaseDep, SettingsDep
from vocalis.kit.migrations import current_revision, head_revision, is_known_revision
from vocalis.synthesis.deps import EngineDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database migrated and reachable, storage writable, voices loaded",
    responses={503: {"description": "Not ready; `checks` says which part is failing"}},
)
async def readyz(settings: SettingsDep, database: DatabaseDep, engine: EngineDep) -> JSONResponse:
    checks = {
        "database": await _check_database(database),
        "storage": await asyncio.to_thread(_check_storage, settings.storage_path),
        "voices": _check_voices(engine),
    }
    if all(result == "ok" for result in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(f"{name}: {result}" for name, result in checks.items() if result != "ok")
    return JSONResponse(
        {
            "status": "not_ready",
            "detail": f"not ready ({failing})",
            "code": "not_ready",
            "checks": checks,
        },
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _check_database(database: Database) -> str:
    try:
        revision = await current_revision(database.engine)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("readiness: database unreachable: %s", exc)
        return "unreachable"
    if revision != head_revision():
        if revision is not None and not is_known_revision(revision):
            # A newer release migrated it and is rolling out; its migrations are additive, so
            # this process keeps serving until it is replaced.
            return "ok"
        return "not migrated: run 'vocalis db upgrade'"
    return "ok"


def _check_storage(path: Path) -> str:
    probe = path / f".ready-{secrets.token_hex(4)}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        log.warning("readiness: storage not writable: %s", exc)
        return "not writable"
    return "ok"


def _check_voices(engine: SpeechEngine) -> str:
    if engine.ready:
        return "ok"
    return f"failed: {engine.load_error}" if engine.load_error else "loading"
