"""Failed logins counted per address and per client address, so a password cannot be guessed
by trying many: past the limit in the window, every attempt is refused (429) before a password
is even checked. Uses the rate-limit storage (memory, or Redis shared between processes)."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from vocalis.kit.errors import TooManyRequests

log = logging.getLogger(__name__)
_NAMESPACE = "vocalis-login"


class TooManyLogins(TooManyRequests):
    code = "too_many_login_attempts"


class LoginThrottle:
    def __init__(self, storage_uri: str, *, attempts: int, window_seconds: int) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self._strategy = SlidingWindowCounterRateLimiter(storage_from_string(uri))
        self._item = RateLimitItemPerSecond(attempts, window_seconds)
        self.window_seconds = window_seconds

    async def check(self, *subjects: str) -> None:
        """Refuse when any of `subjects` (an address, a client) used up its failures."""
        for subject in subjects:
            try:
                allowed = await self._strategy.test(self._item, _NAMESPACE, subject)
                if allowed:
                    continue
                stats = await self._strategy.get_window_stats(self._item, _NAMESPACE, subject)
            except Exception:  # storage unreachable: fail open, as the request limits do
                log.warning("login throttle storage unreachable", exc_info=True)
                return
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise TooManyLogins(
                f"too many failed logins; try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    async def failed(self, *subjects: str) -> None:
        for subject in subjects:
            try:
                await self._strategy.hit(self._item, _NAMESPACE, subject)
            except Exception:
                log.warning("login throttle storage unreachable", exc_info=True)
                return
