"""Who is calling: a `Principal` resolved from the request's credential, then authorized.

key present → well-formed → known, live, account active (401) → client address allowed (403)
→ scope (403). Rate limits are a separate step a route chooses (`vocalis.usage.deps`), applied
after these, so a request refused here consumes nothing. Today the credential is an API key;
a web session resolves to the same `Principal`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from vocalis.accounts.credentials import KeyResolver
from vocalis.accounts.service import Principal, Scope
from vocalis.kit.deps import provided
from vocalis.kit.errors import Forbidden, Unauthorized

KeyResolverDep = Annotated[KeyResolver, Depends(provided(KeyResolver))]

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

    async def dependency(
        request: Request, keys: KeyResolverDep, _bearer_doc: BearerDoc, _header_doc: ApiKeyDoc
    ) -> Principal:
        return await authorize(request, keys, scope)

    return dependency


KeyReader = Annotated[Principal, Depends(authorized(Scope.USAGE_READ))]


class KeyUsage(Protocol):
    """How many characters keys used this period: counted by usage, shown with the keys."""

    async def key_characters(self, session: AsyncSession, key_ids: list[str]) -> dict[str, int]: ...


KeyUsageDep = Annotated[KeyUsage, Depends(provided(KeyUsage))]
