"""Stop working for a client that has hung up.

A streamed response notices a closed connection when it next writes; a complete file is sent
only at the end, so without watching, a client that gave up would still have its synthesis run
(and paid for) to the last sentence. `unless_disconnected` runs the work while it listens for the
client's `http.disconnect`, and cancels the work the moment it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress
from typing import TypeVar

from starlette.requests import Request

from vocalis.kit.errors import CLIENT_CLOSED_REQUEST, VocalisError

T = TypeVar("T")


class ClientDisconnected(VocalisError):
    """Nobody reads this answer (the connection is gone), but the usage event records it."""

    status_code = CLIENT_CLOSED_REQUEST
    code = "client_closed_request"


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """`await work`, cancelling it (its own cleanup runs: refunds, slot release) if the client
    disconnects first. The request body must have been read already."""
    task = asyncio.ensure_future(work)
    listener = asyncio.create_task(_disconnected(request))
    try:
        await asyncio.wait({task, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this request is cancelled itself (the server is shutting down)
        listener.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await listener
        if not task.done():
            task.cancel()
            await asyncio.wait({task})  # let the work give back what it holds first
    if task.cancelled():
        raise ClientDisconnected("the client closed the connection before the audio was ready")
    return task.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
