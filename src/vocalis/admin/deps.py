"""What the admin routes depend on: a client address the admin API answers (VOCALIS_ADMIN_ALLOW),
then an operator, by API key (`admin` scope) or by the web login of an operator's account (the
dashboard's admin pages; state changes need its CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vocalis.accounts.deps import KeyResolverDep, MaybeWebUser, takes_a_key
from vocalis.accounts.service import Principal, Scope
from vocalis.kit.deps import SettingsDep
from vocalis.kit.errors import AdminAddressForbidden, Forbidden
from vocalis.kit.networks import networks, within
from vocalis.usage.deps import LimiterDep, rate_limited

_by_key = rate_limited(Scope.ADMIN)


async def _from_allowed_address(request: Request, settings: SettingsDep) -> None:
    """Refuse a client outside VOCALIS_ADMIN_ALLOW (empty: any address may ask) before any
    credential is looked at: from elsewhere the admin API says nothing, not even whether a key
    is valid. The address is the one the request middleware resolved (a trusted proxy's
    X-Forwarded-For included)."""
    if not settings.admin_allow:
        return
    address = getattr(request.state, "client_ip", None)
    if not within(address, networks(tuple(settings.admin_allow))):
        raise AdminAddressForbidden(
            f"the admin API does not answer requests from {address or 'an unknown address'}"
        )


AdminAddress = Depends(_from_allowed_address)


@takes_a_key
async def _operator(
    request: Request,
    _address: Annotated[None, AdminAddress],  # first: before the session or the key is read
    keys: KeyResolverDep,
    limiter: LimiterDep,
    caller: MaybeWebUser,
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
