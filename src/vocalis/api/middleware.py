"""Pure ASGI middleware: request ids, last-resort error rendering, request metrics and the access
log, request body limits."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vocalis.kit.ids import request_label
from vocalis.kit.logs import ACCESS_LOGGER, FIELDS, IN_MESSAGE, key_label
from vocalis.kit.metrics import METHODS, OTHER_METHOD, UNMATCHED_ROUTE, Metrics
from vocalis.kit.networks import IPNetwork, is_address, within
from vocalis.kit.redact import UNREDACTED, redact

log = logging.getLogger("vocalis.http")
access_log = logging.getLogger(ACCESS_LOGGER)
_IN_THE_MESSAGE = frozenset(("method", "route", "status", "latency_ms"))

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")


class RequestContextMiddleware:
    """Sets up what every request carries and turns crashes into a JSON 500.

    - an id, echoed as `X-Request-Id` (a client may send its own: letters, digits, `._-`, ≤ 64);
    - the client's address (`X-Forwarded-For` is believed only from `trusted_proxies`);
    - `response_headers` that dependencies add (rate limits) even to error responses.

    When the response has gone out it counts the request in `metrics` (by route template and
    status; a 429 by its error code, which the error handlers leave in `state["error_code"]`;
    the audio a synthesis answered) and logs it, once, on `vocalis.access`.
    """

    def __init__(
        self,
        app: ASGIApp,
        trusted_proxies: list[str] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.trusted = tuple(
            ipaddress.ip_network(net, strict=False) for net in trusted_proxies or []
        )
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state.update(
            request_id=request_id,
            client_ip=client_address(scope, self.trusted),
            response_headers={},
        )
        started = False
        status = 500

        async def send_with_context(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                extra = {b"x-request-id": request_id.encode()} | {
                    name.lower().encode(): value.encode()
                    for name, value in state["response_headers"].items()
                }
                headers = [(k, v) for k, v in message.get("headers", []) if k not in extra]
                message = {**message, "headers": headers + list(extra.items())}
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except asyncio.CancelledError:
            # The server gave up on the request (its shutdown grace period is over); the work
            # below has given back what it held. Say so, rather than let the server answer 500;
            # this is the outermost layer of the request's task, so the cancellation ends here.
            if started:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            state["error_code"] = "shutting_down"
            await _send_json(
                send_with_context,
                503,
                {"detail": "the server is shutting down; retry", "code": "shutting_down"},
                headers={"retry-after": "5"},
            )
        except Exception:
            log.exception(
                "unhandled error in %s %s (request %s)", scope["method"], scope["path"], request_id
            )
            if started:
                raise
            state["error_code"] = "internal_error"
            await _send_json(
                send_with_context,
                500,
                {"detail": "internal server error", "code": "internal_error"},
            )
        finally:
            self._finished(scope, state, status, time.perf_counter() - began)

    def _finished(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        """Count the request and log it: O(1), after its response has gone out."""
        route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
        usage = state.get("usage")
        metrics = self.metrics
        if metrics is not None:
            metrics.request(scope["method"], route, status, seconds)
            if status == 429:
                metrics.refused(state.get("error_code"))
            if usage and usage.get("audio_ms"):
                voice = usage.get("voice") or "unknown"
                metrics.spoke(voice, usage.get("characters", 0), usage["audio_ms"])
        if access_log.isEnabledFor(logging.INFO):
            _log_access(scope, state, route, status, seconds, usage or {})


def _log_access(
    scope: Scope,
    state: dict[str, Any],
    route: str,
    status: int,
    seconds: float,
    usage: dict[str, Any],
) -> None:
    """One line per request: who asked what, how it ended, and what it cost; never the text, a
    key or a token. Every value is one the server chose or checked (the route template, not the
    path; a known method or OTHER; ids; numbers), so the line skips the redacting filter, and
    the logger's search for its caller: it is written for every request."""
    principal = state.get("principal")
    method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
    latency_ms = round(seconds * 1000, 1)
    fields: dict[str, Any] = {
        "request_id": state.get("request_id"),
        "method": method,
        "route": route,
        "status": status,
        "latency_ms": latency_ms,
        "client_ip": state.get("client_ip"),
        "account_id": principal.account_id if principal is not None else None,
        "key": key_label(principal.key_id) if principal is not None else None,
        "characters": usage.get("characters", 0),
        "audio_seconds": usage.get("audio_ms", 0) / 1000,
    }
    if "voice" in usage:
        fields["voice"] = usage["voice"]
    if "cache_hit" in usage:
        fields["cache_hit"] = usage["cache_hit"]
    code = state.get("error_code")
    if code is not None:
        fields["error"] = code
    record = access_log.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        0,
        "%s %s %d %.1f ms",
        (method, route, status, latency_ms),
        None,
        extra={FIELDS: fields, IN_MESSAGE: _IN_THE_MESSAGE, UNREDACTED: True},
    )
    access_log.handle(record)


class BodyLimitMiddleware:
    """Refuses request bodies over the limit with 413 before any route reads them.

    `max_bytes` applies everywhere except the paths given their own limit in `per_path`.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(send, limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        detail = f"request body exceeds the limit of {limit} bytes"
        await _send_json(send, 413, {"detail": detail, "code": "payload_too_large"})


def client_address(scope: Scope, trusted: tuple[IPNetwork, ...]) -> str | None:
    """The peer address, or, when the peer is a trusted proxy, the nearest untrusted address in
    `X-Forwarded-For` (read right to left, since proxies append)."""
    peer = scope.get("client")
    address = peer[0] if peer else None
    if address is None or not trusted or not _peer_trusted(address, trusted):
        return address
    forwarded = _header(scope, b"x-forwarded-for") or ""
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not within(hop, trusted):
            return hop if is_address(hop) else address
    return address


@functools.lru_cache(maxsize=1024)  # the socket's peer: the same few proxies, clients that return
def _peer_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    return within(address, trusted)


def _request_id(scope: Scope) -> str:
    given = _header(scope, REQUEST_ID_HEADER.encode())
    # Echoed and logged as it is: one that looks like a secret (a key sent here by mistake) is
    # replaced rather than written to a log line.
    if given and _CLIENT_REQUEST_ID.fullmatch(given) and redact(given) == given:
        return given
    return request_label()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    extra = [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
