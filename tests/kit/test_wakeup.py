"""Polling loops wait on a `Wakeup`; a loop told to stop must stop, however the wait ends."""

import asyncio

import pytest

from vocalis.kit.wakeup import Wakeup


@pytest.mark.parametrize("turns", range(4))
async def test_a_wait_cancelled_as_it_is_woken_ends_cancelled(turns: int) -> None:
    """A worker finishing a job wakes the webhook loop just as shutdown cancels that loop: the
    cancellation must win, or the loop carries on and the process never exits."""
    wakeup = Wakeup()
    wakeup.arm()
    waiting = asyncio.create_task(wakeup.wait(3600))
    await asyncio.sleep(0)  # it is waiting now
    wakeup.set()
    for _ in range(turns):  # the cancellation lands at each point of the wake-up's way through
        await asyncio.sleep(0)
    requested = waiting.cancel()  # False only if the wait had already ended, woken
    await asyncio.gather(waiting, return_exceptions=True)
    assert waiting.cancelled() == requested


async def test_a_wait_ends_when_woken_or_when_its_time_is_up() -> None:
    wakeup = Wakeup()
    wakeup.arm()
    woken = asyncio.create_task(wakeup.wait(3600))
    wakeup.set()
    await asyncio.wait_for(woken, 10)  # long before its hour is up
    wakeup.arm()
    await asyncio.wait_for(wakeup.wait(0.01), 10)  # nobody wakes it: it ends on its own
