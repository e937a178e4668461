"""Rate limits as a step a route chooses, after the caller is known and authorized."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, Request

from vocalis.accounts.deps import KeyResolverDep, WebUser, authorize, takes_a_key
from vocalis.accounts.service import Principal, Scope
from vocalis.kit.deps import provided
from vocalis.kit.errors import Forbidden
from vocalis.usage.meter import Meter
from vocalis.usage.ratelimit import RateLimiter
from vocalis.usage.recorder import UsageRecorder

LimiterDep = Annotated[RateLimiter, Depends(provided(RateLimiter))]
UsageRecorderDep = Annotated[UsageRecorder, Depends(provided(UsageRecorder))]
MeterDep = Annotated[Meter, Depends(provided(Meter))]


@cache  # one dependency per scope, so FastAPI resolves it once per request
def rate_limited(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller allowed `scope` (see `authorized`), counted against its
    requests-per-minute budget; 429 with `Retry-After` when the window is full.

    One dependency rather than one on top of `authorized`: every dependency costs each request
    that uses it, and these are on every request."""

    @takes_a_key
    async def dependency(request: Request, keys: KeyResolverDep, limiter: LimiterDep) -> Principal:
        principal = await authorize(request, keys, scope)
        limit = await limiter.hit(principal.key_id, principal.rate_limit_rpm)
        if limit is not None:
            request.state.response_headers.update(limit.headers())
            if not limit.allowed:
                raise limit.refusal()
        return principal

    return dependency


UsageReader = Annotated[Principal, Depends(rate_limited(Scope.USAGE_READ))]


async def _session_speaker(request: Request, caller: WebUser, limiter: LimiterDep) -> Principal:
    """The logged-in person, as the caller of a synthesis (the playground): a verified address,
    and the default per-minute limit, counted per login."""
    if not caller.email_verified:
        raise Forbidden(
            "confirm your email address first (the link is in your inbox)",
            code="email_not_verified",
        )
    request.state.principal = caller.principal  # usage-accounted from here on
    limit = await limiter.hit(caller.principal.key_id, None)
    if limit is not None:
        request.state.response_headers.update(limit.headers())
        if not limit.allowed:
            raise limit.refusal()
    return caller.principal


SessionSpeaker = Annotated[Principal, Depends(_session_speaker)]
