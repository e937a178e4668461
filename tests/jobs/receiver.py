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
class Receiver:
    """Answers each request with the next scripted reply: a status code, a (status, headers)
    pair, or "hang" (never answers). With the script used up it answers 200."""

    script: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

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

    async def wait_for(self, count: int, timeout: float = 30) -> None:
        async def enough() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


class ReceiverServer(LiveServer):
    """Serves a `Receiver` on a free loopback port (its `url` is then valid)."""

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(receiver)
        receiver.port = self.port
