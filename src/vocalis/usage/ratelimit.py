"""Per-key request rate limits over a sliding one-minute window, with the `limits` library.

The window is a sliding counter: this minute's requests plus last minute's, weighted by how much
of last minute is still inside the window. Two numbers per key, whatever the limit, where a
moving window keeps (and shifts, on every request) a timestamp per request allowed.

Storage is in memory for a single process, or Redis (`redis://…`) so that several API processes
share one budget per key.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from vocalis.kit.errors import TooManyRequests

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
_NAMESPACE = "vocalis-rpm"


class RateLimited(TooManyRequests):
    code = "rate_limited"


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the oldest request leaves the window
    allowed: bool
    checked_at: float

    @property
    def reset_in(self) -> int:
        return max(0, math.ceil(self.reset_at - self.checked_at))

    def headers(self) -> dict[str, str]:
        """IETF draft fields plus the widely parsed X-RateLimit-* trio (reset as epoch seconds)."""
        return {
            "RateLimit-Policy": f'"per-key";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"per-key";r={self.remaining};t={self.reset_in}',
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_in),
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }

    def refusal(self) -> RateLimited:
        retry_after = max(1, self.reset_in)
        return RateLimited(
            f"rate limit of {self.limit} requests per minute exceeded; retry in {retry_after} s",
            headers={**self.headers(), "Retry-After": str(retry_after)},
            extra={"limit": self.limit, "retry_after": retry_after},
        )


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://", default_per_minute: int = 600) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self._strategy = SlidingWindowCounterRateLimiter(storage_from_string(uri))
        self.default_per_minute = default_per_minute

    async def hit(self, key_id: str, per_minute: int | None) -> RateLimitState | None:
        """Count one request for `key_id` (`per_minute`: the key's own limit, None for the
        default); `allowed` is False when the window is full.

        None when the shared storage cannot be reached: limits fail open (and say so in the
        log) rather than take the whole API down with a Redis outage.
        """
        per_minute = per_minute or self.default_per_minute
        item = RateLimitItemPerMinute(per_minute)
        try:
            allowed = await self._strategy.hit(item, _NAMESPACE, key_id)
            stats = await self._strategy.get_window_stats(item, _NAMESPACE, key_id)
        except Exception:  # storage drivers raise their own connection error types
            log.warning(
                "rate-limit storage unreachable; request for %s not limited", key_id, exc_info=True
            )
            return None
        return RateLimitState(per_minute, stats.remaining, stats.reset_time, allowed, time.time())
