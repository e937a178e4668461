"""Polling loops that can be woken early: a worker looks for work every few seconds, or at once
when this process has just committed some."""

from __future__ import annotations

import asyncio


class Wakeup:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def arm(self) -> None:
        """Call before looking for work: a wake-up that arrives while looking is kept."""
        self._event.clear()

    async def wait(self, timeout: float) -> None:
        """Until woken, or `timeout` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            pass
