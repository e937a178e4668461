"""Who is calling: a `Principal` resolved from the request's credential, then authorized.

key present → well-formed → known, live, account active (401) → client address allowed (403)
→ scope (403). Rate limits are a separate step a route chooses (`vocalis.usage.deps`), applied
after these, so a request refused here consumes nothing. Today the credential is an API key;
a web session resolves to the same `Principal`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Protocol, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
)
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts import websessions
from vocalis.accounts.credentials import KeyResolver
from vocalis.accounts.models import Account
from vocalis.accounts.service import Principal, Scope
from vocalis.accounts.web import WebPolicy, web_principal
from vocalis.kit.deps import ClockDep, DatabaseDep, provided
from vocalis.kit.errors import Forbidden, Unauthorized

KeyResolverDep = Annotated[KeyResolver, Depends(provided(KeyResolver))]

# auto_error=False: we render our own 401s; these objects also document the schemes in /docs.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer sk_live_…")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="X-API-Key: sk_live_…"
)
KEY_SCHEMES = (_bearer, _api_key_header)  # how /docs says to send a key, in this order


KeyTaker = TypeVar("KeyTaker", bound=Callable[..., object])


def takes_a_key(dependency: KeyTaker) -> KeyTaker:
    """Mark a dependency that reads an API key (`_presented_key`), so that the OpenAPI document
    lists `KEY_SCHEMES` on every route using it (`vocalis.api.openapi`) without each request
    solving two more dependencies just for that."""
    dependency.takes_a_key = True  # type: ignore[attr-defined]
    return dependency


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


async def authorize(request: Request, keys: KeyResolver, scope: Scope) -> Principal:
    """The verified caller, allowed `scope`; for dependencies that add a step of their own
    (`vocalis.usage.deps.rate_limited`) without one more dependency of their own per request."""
    principal = await keys.resolve(_presented_key(request))
    request.state.principal = principal  # from here on the request is usage-accounted
    if not principal.may_connect_from(request.state.client_ip):
        raise Forbidden(
            f"this API key may not be used from {request.state.client_ip}",
            code="ip_not_allowed",
        )
    if scope.value not in principal.scopes:
        raise Forbidden(f"this API key lacks the '{scope.value}' scope", code="insufficient_scope")
    await keys.touch(principal)
    return principal


# Dependencies only so that /docs shows how to send a key: `_presented_key` reads it.
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyDoc = Annotated[str | None, Depends(_api_key_header)]


@cache  # one dependency per scope, so FastAPI resolves it once per request
def authorized(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the verified caller, allowed `scope` (no rate limit applied)."""

    @takes_a_key
    async def dependency(request: Request, keys: KeyResolverDep) -> Principal:
        return await authorize(request, keys, scope)

    return dependency


KeyReader = Annotated[Principal, Depends(authorized(Scope.USAGE_READ))]


class KeyUsage(Protocol):
    """How many characters keys used this period: counted by usage, shown with the keys."""

    async def key_characters(self, session: AsyncSession, key_ids: list[str]) -> dict[str, int]: ...


KeyUsageDep = Annotated[KeyUsage, Depends(provided(KeyUsage))]


# --- web sessions -------------------------------------------------------------------------------

WebPolicyDep = Annotated[WebPolicy, Depends(provided(WebPolicy))]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class WebCaller:
    """A person logged in on the web: their account, as a `Principal`, and their session."""

    principal: Principal
    email: str
    email_verified: bool
    created_at: datetime
    session_id: str
    token: str


def check_origin(request: Request, policy: WebPolicy) -> None:
    """Refuse a state-changing request sent by another site's page (its `Origin` says so)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = {_origin_of(policy.base_url), f"{request.url.scheme}://{request.headers.get('host')}"}
    if origin.rstrip("/") not in own:
        raise Forbidden("cross-site request refused", code="csrf_failed")


# A dependency only so that /docs shows the cookie: `_web_caller` reads it.
_session_cookie = APIKeyCookie(
    name=websessions.COOKIE_NAME,
    auto_error=False,
    description="The session cookie POST /auth/login sets (state changes also need X-CSRF-Token)",
)
SessionCookieDoc = Annotated[str | None, Depends(_session_cookie)]


async def _web_caller(
    request: Request,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
    _cookie_doc: SessionCookieDoc,
) -> WebCaller:
    token = request.cookies.get(websessions.COOKIE_NAME)
    if not token:
        raise Unauthorized("log in first", code="not_logged_in")
    if request.method not in SAFE_METHODS:
        check_origin(request, policy)
        if not websessions.csrf_matches(token, request.headers.get("x-csrf-token"), policy.pepper):
            raise Forbidden(
                "missing or wrong X-CSRF-Token header; get the token from GET /auth/csrf",
                code="csrf_failed",
            )
    async with database.session(write=True) as session:  # a use may push the expiry forward
        owner = await websessions.find_session(
            session, token, now=clock.now(), lifetime=policy.session_lifetime, pepper=policy.pepper
        )
        account = await session.get(Account, owner.account_id) if owner is not None else None
    if owner is None or account is None:
        raise Unauthorized("your session has ended; log in again", code="session_expired")
    if not account.is_active:
        raise Forbidden("this account is suspended", code="account_suspended")
    return WebCaller(
        principal=web_principal(account, owner.session_id),
        email=account.email,
        email_verified=account.email_verified_at is not None,
        created_at=account.created_at,
        session_id=owner.session_id,
        token=token,
    )


WebUser = Annotated[WebCaller, Depends(_web_caller)]


async def _maybe_web_caller(
    request: Request,
    database: DatabaseDep,
    policy: WebPolicyDep,
    clock: ClockDep,
    _cookie_doc: SessionCookieDoc,
) -> WebCaller | None:
    """The logged-in person, or None for a visitor (for pages that ask who is there, which a
    logged-out visit answers without an error)."""
    try:
        return await _web_caller(request, database, policy, clock, _cookie_doc)
    except Unauthorized:
        return None


MaybeWebUser = Annotated[WebCaller | None, Depends(_maybe_web_caller)]


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
