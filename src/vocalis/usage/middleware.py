"""Turns every authenticated request into a usage event once its response has been sent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vocalis.kit.clock import Clock
from vocalis.kit.errors import INTERRUPTED_STATUS
from vocalis.usage.recorder import UsageRecord, UsageRecorder


class UsageMiddleware:
    """Reads what auth and the route left in the request state; unauthenticated requests
    (and those refused before a key was verified) leave no event, nor do requests whose event
    was already written for them (`usage_recorded`: a sweep gave back their reservation)."""

    def __init__(self, app: ASGIApp, *, recorder: UsageRecorder, clock: Clock) -> None:
        self.app = app
        self._recorder = recorder
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        outcome = None
        try:
            await self.app(scope, receive, capture_status)
        except asyncio.CancelledError:  # the server is stopping: it gave up on this request
            status, outcome = INTERRUPTED_STATUS, "interrupted"
            raise
        finally:
            state: dict[str, Any] = scope.get("state", {})
            principal = state.get("principal")
            if principal is not None and not state.get("usage_recorded"):
                self._recorder.record(
                    UsageRecord(
                        created_at=self._clock.now(),
                        request_id=state.get("request_id", ""),
                        account_id=principal.account_id,
                        key_id=principal.key_id,
                        method=scope["method"],
                        endpoint=getattr(scope.get("route"), "path", scope["path"])[:200],
                        status_code=status,
                        latency_ms=round((time.perf_counter() - started) * 1000),
                        client_ip=state.get("client_ip"),
                        outcome=outcome,
                        **state.get("usage", {}),
                    )
                )
