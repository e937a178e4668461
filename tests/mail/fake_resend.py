"""A real HTTP server standing in for Resend's `POST /emails`, for the real SDK to talk to.

It checks the bearer key, records every request, and delivers each idempotency key once: a
repeated key gets the first answer's id back and delivers nothing more, as Resend does. Faults
for the next requests can be scripted: answer 500, hang (never answer), or deliver and then
lose the answer; `hold` keeps requests waiting until it is set.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

API_KEY = "re_test_" + "k" * 24  # not a real key: Resend's look, for the SDK's header


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Delivered:
    id: str
    idempotency_key: str | None
    body: dict[str, Any]


@dataclass
class FakeResend:
    api_key: str = API_KEY
    url: str = ""  # where it listens, once served
    requests: list[Request] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _faults: list[tuple[str, int]] = field(default_factory=list)
    _by_key: dict[str, Delivered] = field(default_factory=dict)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        self._faults += [("fail", status)] * count

    def hang_next(self, count: int = 1) -> None:
        """Never answer (until the client hangs up), delivering nothing."""
        self._faults += [("hang", 0)] * count

    def lose_answer_next(self, count: int = 1) -> None:
        """Deliver, then never answer: the sender cannot know the mail went out."""
        self._faults += [("lose", 0)] * count

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if (scope["method"], scope["path"]) != ("POST", "/emails"):
            await _answer(send, 404, {"statusCode": 404, "name": "not_found", "message": "?"})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Request(headers, json.loads(raw or b"{}"))
        self.requests.append(request)
        self.arrived.set()
        if headers.get("authorization") != f"Bearer {self.api_key}":
            error = {"statusCode": 401, "name": "validation_error", "message": "API key is invalid"}
            await _answer(send, 401, error)
            return
        fault, status = self._faults.pop(0) if self._faults else ("", 0)
        if fault == "fail":
            error = {"statusCode": status, "name": "internal_server_error", "message": "outage"}
            await _answer(send, status, error)
            return
        if fault == "hang":
            await _hung_up(receive)
            return
        if self.hold is not None and not await _released(self.hold, receive):
            return  # the client gave up while held: nothing delivered
        missing = [name for name in ("from", "to", "subject") if not request.body.get(name)]
        if missing:
            error = {"statusCode": 422, "name": "validation_error", "message": f"{missing}"}
            await _answer(send, 422, error)
            return
        delivered = self._deliver(request)
        if fault == "lose":
            await _hung_up(receive)
            return
        await _answer(send, 200, {"id": delivered.id})

    def _deliver(self, request: Request) -> Delivered:
        key = request.idempotency_key
        if key is not None and key in self._by_key:
            return self._by_key[key]
        delivered = Delivered(f"re_{secrets.token_hex(8)}", key, request.body)
        self.delivered.append(delivered)
        if key is not None:
            self._by_key[key] = delivered
        return delivered

    async def wait_for_requests(self, count: int, timeout: float = 5) -> None:
        async def enough() -> None:
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _hung_up(receive: Any) -> None:
    """Returns when the client hangs up (the request body has been read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _released(hold: asyncio.Event, receive: Any) -> bool:
    """Wait for `hold`; False when the client hung up first."""
    released = asyncio.create_task(hold.wait())
    hung_up = asyncio.create_task(_hung_up(receive))
    done, pending = await asyncio.wait({released, hung_up}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return released in done
