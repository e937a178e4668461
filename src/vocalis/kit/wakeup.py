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
        """Until woken, or `timeout` seconds.

        Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives as the
        event is set, and the loop waiting here would then never stop (a worker told to shut
        down just after finishing a job hung)."""
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            pass
