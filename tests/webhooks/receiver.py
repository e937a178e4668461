"""A real HTTP server standing in for a customer's webhook receiver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tests.servers import LiveServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Drip:
    """A slow receiver: answers 200 at once, then sends the body one byte every `interval`
    seconds, `count` bytes in all (unless the client hangs up first)."""

    interval: float = 0.3
    count: int = 100


@dataclass
class Hold:
    """Keeps the request waiting until `release` is set, then answers `then`."""

    release: asyncio.Event
    then: Any = 200


@dataclass
class Receiver:
    """Answers each request with the next scripted reply: a status code, a (status, headers)
    pair, "hang" (never answers), a `Drip` or a `Hold`. With the script used up it answers 200.

    `hung_up_on` counts the drips the client hung up on before their last byte."""

    script: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    hung_up_on: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/vocalis"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, body))
        self.arrived.set()
        reply = self.script.pop(0) if self.script else 200
        if isinstance(reply, Hold):
            await reply.release.wait()
            reply = reply.then
        if isinstance(reply, Drip):
            await self._drip(reply, receive, send)
            return
        if reply == "hang":
            await asyncio.sleep(3600)
        status, extra = reply if isinstance(reply, tuple) else (reply, {})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    async def _drip(self, drip: Drip, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        hung_up = asyncio.create_task(_disconnect(receive))
        try:
            for _ in range(drip.count):
                await send({"type": "http.response.body", "body": b".", "more_body": True})
                await asyncio.wait([hung_up], timeout=drip.interval)
                if hung_up.done():
                    self.hung_up_on += 1
                    return
            await send({"type": "http.response.body", "body": b""})
        finally:
            hung_up.cancel()

    async def wait_for(self, count: int, timeout: float = 30) -> None:
        async def enough() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


async def _disconnect(receive: Any) -> None:
    """Returns when the client hangs up (the request body has been read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class ReceiverServer(LiveServer):
    """Serves a `Receiver` on a free loopback port (its `url` is then valid)."""

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(receiver)
        receiver.port = self.port
