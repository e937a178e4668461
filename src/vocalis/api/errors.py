"""The one place errors become HTTP responses: `{"detail": "...", "code": "..."}`, never a trace.

Each handler also leaves the code in the request's state (`error_code`), where the request
middleware finds it: refusals (429) are counted by it, and the access log names it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from vocalis.kit.errors import VocalisError

log = logging.getLogger("vocalis.http")

# Request fields whose validation failures deserve their own code.
_LIMIT_FIELDS = ("char_limit", "seconds_limit", "rate_limit_rpm", "monthly_char_cap")
_FIELD_CODES = {
    "speed": "invalid_speed",
    "format": "unsupported_format",
    "webhook_url": "invalid_webhook_url",
    "expires_at": "invalid_expiry",
    **dict.fromkeys(_LIMIT_FIELDS, "invalid_limit"),
}
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
DATABASE_RETRY_AFTER_S = 5

# When the database cannot serve the request now (as opposed to a query that is wrong): SQLite's
# primary result codes BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL; PostgreSQL's SQLSTATE
# classes 08 connection, 28 authorization, 3D unknown database, 40 transaction rollback
# (deadlock, serialization failure: a retry succeeds), 53 insufficient resources, 57 operator
# intervention (shutdown, starting up, statement canceled). A corrupt file is not "retry later":
# it stays a 500 and is logged.
_SQLITE_UNAVAILABLE = {5, 6, 10, 13, 14, 15}
_POSTGRES_UNAVAILABLE = {"08", "28", "3D", "40", "53", "57"}
# Raised by the driver before SQLAlchemy wraps anything: connection refused or reset, unknown host.
_CONNECT_ERRORS = (ConnectionError, socket.gaierror)


class ErrorBody(BaseModel):
    """Every error's body; some add fields of their own (e.g. `max_characters`, `quota`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"detail": "text is empty", "code": "empty_text"}]},
    )

    detail: str = Field(description="What went wrong, for people")
    code: str = Field(description="What went wrong, for programs: stable, snake_case")


def error_response(
    status_code: int, detail: str, code: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code, headers=headers)


async def _vocalis_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VocalisError)
    request.state.error_code = exc.code
    return JSONResponse(exc.body(), exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    status, detail, code = _invalid(request, exc.errors())
    request.state.error_code = code
    return error_response(status, detail, code)


def _invalid(request: Request, errors: Sequence[Any]) -> tuple[int, str, str]:
    if any(error["type"] == "json_invalid" for error in errors):
        return 400, "request body is not valid JSON", "invalid_json"
    content_type = request.headers.get("content-type", "")
    if request.method in _BODY_METHODS and not _is_json(content_type):
        if any(tuple(error["loc"]) == ("body",) for error in errors):
            detail = "request body must be JSON, sent with 'Content-Type: application/json'"
            return 415, detail, "unsupported_media_type"
    messages = [f"{_field_path(error['loc'])}: {error['msg']}" for error in errors]
    first = errors[0] if errors else {"loc": (), "type": ""}
    field = str(first["loc"][-1]) if first["loc"] else ""
    code = "unknown_field" if first["type"] == "extra_forbidden" else _FIELD_CODES.get(field)
    return 422, "; ".join(messages), code or "validation_error"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 400 and "json" in request.headers.get("content-type", ""):
        code = "invalid_json"  # FastAPI's answer to a body that is not even UTF-8 text
    request.state.error_code = code
    return error_response(exc.status_code, str(exc.detail), code, headers=exc.headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """`items[1].text`: list positions in brackets, as the services name batch items."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("body", "query", "path", "header"):
            path += f".{part}" if path else str(part)
    return path or "body"


def database_unreachable(exc: Exception) -> bool:
    """Whether `exc` says the database cannot be used right now (retrying may succeed), rather
    than that a query was wrong. Decided by exception type and the driver's error code."""
    if isinstance(exc, (*_CONNECT_ERRORS, PoolTimeout)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in _SQLITE_UNAVAILABLE
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _POSTGRES_UNAVAILABLE
    return isinstance(exc, OperationalError)  # by DB-API's definition: not the query's fault


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not database_unreachable(exc):
        raise exc  # a bug, not an outage: the last-resort handler logs it and answers 500
    log.warning(
        "database unavailable in %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        getattr(exc, "orig", None) or exc,
    )
    request.state.error_code = "database_unavailable"
    return error_response(
        503,
        "the database is unavailable; try again shortly",
        "database_unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _timed_out(request: Request, exc: Exception) -> JSONResponse:
    """Something the request waited on gave up (a database host that stopped answering makes
    the driver raise this, not a connection error): unavailable for now, not a bug."""
    log.warning("timed out in %s %s", request.method, request.url.path, exc_info=exc)
    request.state.error_code = "timed_out"
    return error_response(
        503,
        "the server could not finish in time; try again shortly",
        "timed_out",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VocalisError, _vocalis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for database_error in (DBAPIError, PoolTimeout, *_CONNECT_ERRORS):
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(TimeoutError, _timed_out)


def _is_json(content_type: str) -> bool:
    """What FastAPI parses as JSON: application/json, or a media type ending in +json."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")
