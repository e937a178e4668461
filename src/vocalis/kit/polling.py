"""A worker loop shared by the background senders (mail, Stripe events): `run_once()` every
`poll_seconds`, or at once when woken; started and stopped by the process that runs it."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from vocalis.kit.wakeup import Wakeup


class PollingWorker:
    name = "worker"  # the task's name, and what a failure is logged as

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._wakeup = Wakeup()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Do what is due now; how much was tried."""
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop at once: work cut short keeps its lease and is taken up again when it runs out."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def run_until(self, stop: asyncio.Event) -> None:
        """For `vocalis worker`: work until `stop` is set."""
        self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    def wake(self) -> None:
        """Look for work now (after committing a transaction that made some)."""
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.arm()
            try:
                await self.run_once()
            except Exception:  # what was due stays due: the next round tries it again
                logging.getLogger(type(self).__module__).exception(
                    "%s failed; trying again shortly", self.name.replace("-", " ")
                )
            await self._wakeup.wait(self._poll)
