"""Domain errors that know their HTTP status and machine-readable code.

Any layer may raise these (they import nothing from the web stack); `vocalis.api.errors`
renders every one of them as `{"detail": ..., "code": ...}`.
"""

from __future__ import annotations

from typing import Any

CLIENT_CLOSED_REQUEST = 499  # the client hung up before the answer was ready
INTERRUPTED_STATUS = 503  # the server stopped (or died) before it answered


class VocalisError(Exception):
    """Base class: subclasses set `status_code` and `code`; instances carry the detail text."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class InvalidInput(VocalisError):
    """A well-formed request whose values cannot be used."""

    status_code = 422
    code = "invalid_input"


class Unauthorized(VocalisError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(VocalisError):
    status_code = 403
    code = "forbidden"


class NotFound(VocalisError):
    status_code = 404
    code = "not_found"


class Conflict(VocalisError):
    status_code = 409
    code = "conflict"


class TooManyRequests(VocalisError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(VocalisError):
    status_code = 503
    code = "service_unavailable"


class AdminAddressForbidden(Forbidden):
    """The admin API answers only the networks in VOCALIS_ADMIN_ALLOW."""

    code = "admin_address_forbidden"
