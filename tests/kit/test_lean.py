"""The lean lane answers plain requests of lean routes itself, and leaves every other request to
the solved route, which answers as if the lane were not there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from vocalis.kit.lean import LeanLane, LeanRoute, lean, lean_routes, plain_body


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class Refused(Exception):
    pass


async def caller(request: Request) -> str:
    """A dependency with an effect, to see how often each way calls it."""
    request.app.state.calls.append(request.headers.get("x-caller", "anonymous"))
    if request.headers.get("x-caller") == "refused":
        raise Refused
    return request.headers.get("x-caller", "anonymous")


def greet(body: Greeting, who: str, way: str) -> Response:
    return JSONResponse({"greeting": f"hello {body.name}", "by": who}, headers={"x-way": way})


async def greet_plainly(request: Request) -> Response | None:
    body = await plain_body(request, Greeting)
    if body is None or body.name == "solved, please":
        return None
    if body.name == "crash":
        raise RuntimeError("a bug")
    if body.name == "teapot":
        raise HTTPException(418, "short and stout")
    return greet(body, await caller(request), "lean")


router = APIRouter(route_class=LeanRoute)


@router.post("/greet")
@lean(greet_plainly)
async def greet_solved(body: Greeting, who: Annotated[str, Depends(caller)]) -> Response:
    return greet(body, who, "solved")


@router.post("/greet/{name}")
@lean(greet_plainly)
async def greet_with_a_path(name: str) -> Response:
    return JSONResponse({"name": name}, headers={"x-way": "solved"})


@router.post("/plain")
async def not_lean(body: Greeting) -> Response:
    return JSONResponse({"name": body.name}, headers={"x-way": "solved"})


async def guard(request: Request) -> None:
    if request.headers.get("x-pass") != "friend":
        raise Refused


guarded = APIRouter(route_class=LeanRoute)
guarded.add_api_route("/guarded", greet_solved, methods=["POST"])  # lean, but behind a guard
shadowed = APIRouter()


@shadowed.post("/{anything}")
async def catch_all(anything: str) -> Response:
    return JSONResponse({"caught": anything}, headers={"x-way": "solved"})


shadowing = APIRouter(route_class=LeanRoute)
shadowing.add_api_route("/shadowed", greet_solved, methods=["POST"])  # lean, but never reached


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(LeanLane)
    app.include_router(router)
    app.include_router(guarded, dependencies=[Depends(guard)])
    app.include_router(shadowed, prefix="/behind")
    app.include_router(shadowing, prefix="/behind")
    app.state.calls = []

    def refused(request: Request, exc: Exception) -> JSONResponse:  # sync, as a handler may be
        return JSONResponse({"detail": "refused", "code": "refused"}, status_code=403)

    async def teapot(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "I am a teapot", "code": "teapot"}, status_code=418)

    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(418, teapot)
    return app


def without_the_lane() -> FastAPI:
    app = make_app()
    app.user_middleware.clear()  # the same routes and handlers, no lane
    return app


@pytest.fixture
def app() -> FastAPI:
    return make_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lean.test") as http:
        yield http


async def test_a_plain_request_is_answered_by_the_lean_handler(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post("/greet", json={"name": "Ada"}, headers={"x-caller": "ada"})
    assert response.status_code == 200
    assert response.json() == {"greeting": "hello Ada", "by": "ada"}
    assert response.headers["x-way"] == "lean"
    assert app.state.calls == ["ada"]  # its dependency ran once


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b'{"name": "Ada"', {"content-type": "application/json"}, 422),  # malformed
        (b'{"name": 3}', {"content-type": "application/json"}, 422),  # invalid
        (b'{"name": "Ada", "age": 3}', {"content-type": "application/json"}, 422),  # extra
        (b'{"name": "Ada"}', {"content-type": "text/plain"}, 422),  # not declared JSON
        (b'{"name": "Ada"}', {"content-type": "application/vnd.greeting+json"}, 200),
        (b"[" * 100_000, {"content-type": "application/json"}, 400),  # too deep to parse
    ],
)
async def test_anything_but_a_plain_body_gets_the_solved_routes_answer(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int
) -> None:
    lane = await client.post("/greet", content=content, headers=headers)
    transport = httpx.ASGITransport(app=without_the_lane())
    async with httpx.AsyncClient(transport=transport, base_url="http://lean.test") as plain:
        solved = await plain.post("/greet", content=content, headers=headers)
    assert lane.status_code == solved.status_code == status
    assert lane.json() == solved.json()
    if status == 200:
        assert lane.headers["x-way"] == "solved"


async def test_a_handler_that_declines_leaves_the_whole_body_to_the_solved_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post("/greet", json={"name": "solved, please"})
    assert response.status_code == 200
    assert response.json()["greeting"] == "hello solved, please"  # the body, replayed whole
    assert response.headers["x-way"] == "solved"
    assert app.state.calls == ["anonymous"]  # its dependency ran once, on the solved way


async def test_what_the_lean_handler_raises_is_rendered_by_the_apps_handlers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/greet", json={"name": "Ada"}, headers={"x-caller": "refused"})
    assert response.status_code == 403
    assert response.json() == {"detail": "refused", "code": "refused"}
    by_status = await client.post("/greet", json={"name": "teapot"})
    assert by_status.status_code == 418
    assert by_status.json()["code"] == "teapot"


async def test_an_error_no_handler_takes_is_the_servers_500(client: httpx.AsyncClient) -> None:
    response = await client.post("/greet", json={"name": "crash"})
    assert response.status_code == 500


async def test_overridden_dependencies_send_every_request_the_solved_way(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.dependency_overrides[caller] = lambda: "stand-in"
    response = await client.post("/greet", json={"name": "Ada"}, headers={"x-caller": "ada"})
    assert response.json() == {"greeting": "hello Ada", "by": "stand-in"}
    assert response.headers["x-way"] == "solved"
    assert app.state.calls == []


async def test_only_lean_routes_that_routing_reaches_as_they_are_are_in_the_lane(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Not: a path with parameters, one behind an include's dependency, one an earlier route takes.
    assert set(lean_routes(app)) == {("POST", "/greet")}
    unguarded = await client.post("/guarded", json={"name": "Ada"})
    assert unguarded.json()["code"] == "refused"
    passed = await client.post("/guarded", json={"name": "Ada"}, headers={"x-pass": "friend"})
    assert passed.headers["x-way"] == "solved"
    shadowed = await client.post("/behind/shadowed", json={"name": "Ada"})
    assert shadowed.json() == {"caught": "shadowed"}
    with_path = await client.post("/greet/ada", json={"name": "Ada"})
    assert with_path.json() == {"name": "ada"}
    other = await client.post("/plain", json={"name": "Ada"})
    assert (other.headers["x-way"], other.json()) == ("solved", {"name": "Ada"})
    wrong_method = await client.get("/greet")
    assert wrong_method.status_code == 405


async def test_a_client_that_leaves_mid_body_gets_the_solved_routes_answer() -> None:
    async def answered(app: FastAPI) -> list[dict[str, Any]]:
        arriving = [
            {"type": "http.request", "body": b'{"name": "A', "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return arriving.pop(0) if len(arriving) > 1 else arriving[0]

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/greet",
            "raw_path": b"/greet",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
            "app": app,
        }
        await app(scope, receive, send)
        return sent

    lane_app, solved_app = make_app(), without_the_lane()
    lane, solved = await answered(lane_app), await answered(solved_app)
    assert lane == solved
    assert lane[0]["status"] == 400
    assert lane_app.state.calls == solved_app.state.calls == []
