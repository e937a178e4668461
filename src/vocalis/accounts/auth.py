"""Request authentication and authorization, in the order that keeps refusals cheap.

key present → well-formed → known, live, account active (401) → client address allowed (403)
→ scope (403) → rate limit (429). A request refused before the rate-limit step consumes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from vocalis.accounts.service import (
    LAST_USED_RESOLUTION,
    Principal,
    Scope,
    record_key_use,
    verify_api_key,
)
from vocalis.api.deps import ClockDep, DatabaseDep, LimiterDep, SettingsDep
from vocalis.kit.errors import Forbidden, Unauthorized

# auto_error=False: we render our own 401s; these objects also document the schemes in /docs.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer sk_live_…")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="X-API-Key: sk_live_…"
)


def _presented_key(request: Request) -> str:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthorized(
                "Authorization header must be 'Bearer <API key>'", code="invalid_api_key"
            )
        return credentials.strip()
    api_key = request.headers.get("x-api-key")
    if api_key is not None and api_key.strip():
        return api_key.strip()
    raise Unauthorized(
        "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
        code="missing_api_key",
    )


def authorized(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the verified caller, allowed `scope`, within its rate limit."""

    async def dependency(
        request: Request,
        settings: SettingsDep,
        database: DatabaseDep,
        clock: ClockDep,
        limiter: LimiterDep,
        _bearer_doc: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        _header_doc: Annotated[str | None, Depends(_api_key_header)],
    ) -> Principal:
        raw = _presented_key(request)
        now = clock.now()
        async with database.session() as session:  # its own short transaction: no lock held
            principal = await verify_api_key(
                session, raw, pepper=settings.key_pepper.get_secret_value(), now=now
            )
        request.state.principal = principal  # from here on the request is usage-accounted
        if not principal.may_connect_from(request.state.client_ip):
            raise Forbidden(
                f"this API key may not be used from {request.state.client_ip}",
                code="ip_not_allowed",
            )
        if scope.value not in principal.scopes:
            raise Forbidden(
                f"this API key lacks the '{scope.value}' scope", code="insufficient_scope"
            )
        limit = await limiter.hit(
            principal.key_id, principal.rate_limit_rpm or settings.default_rate_limit_rpm
        )
        if limit is not None:
            request.state.response_headers.update(limit.headers())
            if not limit.allowed:
                raise limit.refusal()
        if principal.last_used_at is None or now - principal.last_used_at >= LAST_USED_RESOLUTION:
            async with database.session(write=True) as session:
                await record_key_use(session, principal.key_id, now=now)
        return principal

    return dependency


SpeechCaller = Annotated[Principal, Depends(authorized(Scope.TTS))]
JobsCaller = Annotated[Principal, Depends(authorized(Scope.JOBS))]
UsageReader = Annotated[Principal, Depends(authorized(Scope.USAGE_READ))]
Admin = Annotated[Principal, Depends(authorized(Scope.ADMIN))]
