"""What the admin routes depend on: an operator, by API key (`admin` scope) or by the web login
of an operator's account (the dashboard's admin pages; state changes need its CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vocalis.accounts.deps import ApiKeyDoc, BearerDoc, KeyResolverDep, MaybeWebUser
from vocalis.accounts.service import Principal, Scope
from vocalis.kit.errors import Forbidden
from vocalis.usage.deps import LimiterDep, rate_limited

_by_key = rate_limited(Scope.ADMIN)


async def _operator(
    request: Request,
    keys: KeyResolverDep,
    limiter: LimiterDep,
    caller: MaybeWebUser,
    bearer_doc: BearerDoc,
    header_doc: ApiKeyDoc,
) -> Principal:
    """A request carrying a key is judged by its key alone; otherwise by the session."""
    has_key = "authorization" in request.headers or "x-api-key" in request.headers
    if has_key or caller is None:
        return await _by_key(request, keys, limiter)
    if Scope.ADMIN.value not in caller.principal.scopes:
        raise Forbidden("this account is not an operator's", code="insufficient_scope")
    request.state.principal = caller.principal
    limit = await limiter.hit(caller.principal.key_id, None)
    if limit is not None:
        request.state.response_headers.update(limit.headers())
        if not limit.allowed:
            raise limit.refusal()
    return caller.principal


Admin = Annotated[Principal, Depends(_operator)]
