"""Plain requests to the hottest routes, answered without FastAPI's per-request machinery.

A cache hit is answered in a fraction of a millisecond; FastAPI's work around it — matching the
path against every included router, reading the body through its checks, solving each
dependency, two exit stacks — costs more than the answer. So a route can declare a lean handler
(`@lean(...)`, on a `LeanRoute`) that reads its body and calls the same dependencies and the
same service directly, and `LeanLane`, the innermost of the app's own middleware, sends a plain
request of such a route to it at once. The route keeps all the rest: its OpenAPI description,
the app's error handlers (which render what the lean handler raises), the middleware around it.

A request that is not plain — not JSON, a body that does not validate — goes the usual way, and
the solved route answers it in its own words: the lean handler does nothing with an effect until
it is sure the solved route would have done the same. So does every request of an app that
overrides dependencies (tests): the lean handler would not see the overrides.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

LeanHandler = Callable[[Request], Awaitable[Response | None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Body = TypeVar("Body", bound=BaseModel)

_LEAN = "__lean_handler__"


def lean(handler: LeanHandler) -> Callable[[Endpoint], Endpoint]:
    """Give an endpoint of a `LeanRoute` its lean handler: `handler(request)` answers, or
    returns None to leave the request to the solved endpoint."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _LEAN, handler)
        return endpoint

    return mark


class LeanRoute(APIRoute):
    """An `APIRoute` whose endpoint may have a lean handler; a subclass that shapes its route's
    answers (errors in another format) shapes the lean ones the same way here."""

    @property
    def is_lean(self) -> bool:
        return hasattr(self.endpoint, _LEAN)

    async def answer_plainly(self, request: Request) -> Response | None:
        handler: LeanHandler = getattr(self.endpoint, _LEAN)
        return await handler(request)


async def plain_body(request: Request, model: type[Body]) -> Body | None:
    """The body as `model` when it is plainly one: `application/json`, parsed and valid. None
    otherwise, with nothing done: the solved route then refuses it in its own words."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    try:
        # Parsed, then validated as Python, as FastAPI does (JSON-mode validation differs).
        return model.model_validate(json.loads(await request.body()))
    except (ValueError, RecursionError):  # malformed, invalid (pydantic's error is a ValueError)
        return None


class LeanLane:
    """The innermost of the app's own middleware: a request for a lean route's method and exact
    path goes to its lean handler; what the handler raises is rendered by the app's exception
    handlers, as routing would; a request it leaves (None) goes on to the app with what was
    received of it replayed. The lean routes are those the app has when it first serves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lanes: dict[tuple[str, str], LeanRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        owner: FastAPI | None = scope.get("app")
        if scope["type"] != "http" or owner is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        if self._lanes is None:
            self._lanes = lean_routes(owner)
        route = self._lanes.get((scope["method"], scope["path"]))
        if route is None or owner.dependency_overrides:
            await self.app(scope, receive, send)
            return
        received = await _received(receive)
        if received[-1]["type"] != "http.request":  # the client left mid-body
            await self.app(scope, _replaying(received, receive), send)
            return
        scope.update(route=route, endpoint=route.endpoint, path_params={})
        request = Request(scope, _replaying(received, receive), send)
        try:
            response = await route.answer_plainly(request)
        except Exception as exc:
            handler = _exception_handler(owner, exc)
            if handler is None:
                raise
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        if response is None:
            await self.app(scope, _replaying(received, receive), send)
            return
        await response(scope, receive, send)


def lean_routes(app: FastAPI) -> dict[tuple[str, str], LeanRoute]:
    """(method, path) → the lean route answering it: every lean route with a fixed path that
    routing would reach first, and that takes nothing FastAPI would add to it — dependencies of
    its router or of an include, a body size limit — which its lean handler would not apply."""
    lanes: dict[tuple[str, str], LeanRoute] = {}
    earlier: list[Any] = []
    for context in fastapi_routing.iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if (
            isinstance(route, LeanRoute)
            and route.is_lean
            and isinstance(path, str)
            and "{" not in path
            and not context.dependencies
            and getattr(context, "max_body_size", None) is None
            and not any(_reaches(before, path) for before in earlier)
        ):
            for method in context.methods or ():
                lanes.setdefault((method, path), route)
        earlier.append(context)
    return lanes


def _reaches(route: Any, path: str) -> bool:
    pattern = getattr(route, "path_regex", None)
    return pattern is None or pattern.match(path) is not None  # unknown: assume it does


def _exception_handler(app: FastAPI, exc: Exception) -> ExceptionHandler | None:
    """The handler routing would find for `exc`: an `HTTPException`'s status code's, or the one
    for its class or nearest base (one for `Exception` itself belongs to the outermost layer)."""
    if isinstance(exc, HTTPException) and exc.status_code in app.exception_handlers:
        return app.exception_handlers[exc.status_code]
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None
        if kind in app.exception_handlers:
            return app.exception_handlers[kind]
    return None


async def _received(receive: Receive) -> list[Message]:
    """The request's messages up to its last body part, or up to the client's leaving."""
    messages = [await receive()]
    while messages[-1]["type"] == "http.request" and messages[-1].get("more_body", False):
        messages.append(await receive())
    return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` as if nothing had been read yet: `messages` again, then the client's next."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
