"""The one place errors become HTTP responses: `{"detail": "...", "code": "..."}`, never a trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vocalis.kit.errors import VocalisError

# Request fields whose validation failures deserve their own code.
_FIELD_CODES = {"speed": "invalid_speed", "format": "unsupported_format"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_response(
    status_code: int, detail: str, code: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code, headers=headers)


async def _vocalis_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VocalisError)
    return JSONResponse(exc.body(), exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error["type"] == "json_invalid" for error in errors):
        return error_response(400, "request body is not valid JSON", "invalid_json")
    content_type = request.headers.get("content-type", "")
    if request.method in _BODY_METHODS and "json" not in content_type:
        if any(tuple(error["loc"]) == ("body",) for error in errors):
            detail = "request body must be JSON, sent with 'Content-Type: application/json'"
            return error_response(415, detail, "unsupported_media_type")
    messages = [f"{_field_path(error['loc'])}: {error['msg']}" for error in errors]
    first = errors[0] if errors else {"loc": (), "type": ""}
    field = str(first["loc"][-1]) if first["loc"] else ""
    code = "unknown_field" if first["type"] == "extra_forbidden" else _FIELD_CODES.get(field)
    return error_response(422, "; ".join(messages), code or "validation_error")


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, str(exc.detail), code, headers=exc.headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VocalisError, _vocalis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
