"""The speech routes answer a request the same way whether their lean lane takes it or FastAPI
solves it: status, error, headers, audio and the usage event it leaves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Request, Response
from sqlalchemy import select

from vocalis.kit.deps import provided
from vocalis.kit.lean import LeanRoute, lean_routes
from vocalis.synthesis.service import SpeechService
from vocalis.usage.models import UsageEvent

TEXT = "The lean lane and the solved route say the same."
JSON = {"content-type": "application/json"}
OPENAI = {"model": "tts-1", "voice": "alloy", "response_format": "wav"}

# What differs from one request to the next whichever way it goes.
VOLATILE = {
    "date",
    "x-request-id",
    "x-processing-time-ms",
    "x-cache",
    "x-quota-characters-remaining",
    "x-quota-seconds-remaining",
    "ratelimit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
}

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "spoken": ("/v1/tts", {"json": {"text": TEXT}}),
    "spoken as mp3": ("/v1/tts", {"json": {"text": TEXT, "format": "mp3"}}),
    "unknown voice": ("/v1/tts", {"json": {"text": TEXT, "voice": "xx_XX-nobody-low"}}),
    "empty text": ("/v1/tts", {"json": {"text": "  "}}),
    "too fast": ("/v1/tts", {"json": {"text": TEXT, "speed": 9}}),
    "unknown field": ("/v1/tts", {"json": {"text": TEXT, "colour": "blue"}}),
    "malformed": ("/v1/tts", {"content": b'{"text": "hi"', "headers": JSON}),
    "not JSON": ("/v1/tts", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
    "no key": ("/v1/tts", {"json": {"text": TEXT}, "headers": {"authorization": ""}}),
    "bad key": ("/v1/tts", {"json": {"text": TEXT}, "headers": {"authorization": "Bearer sk_x"}}),
    "streamed": ("/v1/tts/stream", {"json": {"text": TEXT}}),
    "openai": ("/v1/audio/speech", {"json": {**OPENAI, "input": TEXT}}),
    "openai unknown model": (
        "/v1/audio/speech",
        {"json": {**OPENAI, "input": TEXT, "model": "tts-9"}},
    ),
    "openai too fast": ("/v1/audio/speech", {"json": {**OPENAI, "input": TEXT, "speed": 9}}),
    "openai malformed": ("/v1/audio/speech", {"content": b"{", "headers": JSON}),
}


@pytest.fixture
def lane_answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the lane answered, with a response or a refusal (not left to the solved
    route), in order."""
    answered: list[str] = []
    answer_plainly = LeanRoute.answer_plainly

    async def noting(route: LeanRoute, request: Request) -> Response | None:
        try:
            response = await answer_plainly(route, request)
        except Exception:
            answered.append(request.url.path)
            raise
        if response is not None:
            answered.append(request.url.path)
        return response

    monkeypatch.setattr(LeanRoute, "answer_plainly", noting)
    return answered


# Bodies that parse but do not validate: the solved route says what is wrong with them.
LEFT_TO_FASTAPI = {"too fast", "unknown field", "openai too fast"}


def solved_way(app: Any) -> None:
    """An override that changes nothing but turns the lane off, as any override does."""
    service = app.state.provided[SpeechService]
    app.dependency_overrides[provided(SpeechService)] = lambda: service


def comparable(response: httpx.Response) -> tuple[Any, ...]:
    headers = {name: value for name, value in response.headers.items() if name not in VOLATILE}
    if response.headers.get("content-type", "").startswith("application/json"):
        body: Any = response.json()
    elif response.status_code == 200 and "stream" not in str(response.url):
        body = response.content  # the cached file: the very same bytes
    else:
        body = bool(response.content)  # a stream, made anew each time
    return response.status_code, headers, body


async def events(app: Any, request_ids: list[str]) -> list[tuple[Any, ...]]:
    await app.state.runtime.recorder.flush()
    async with app.state.runtime.database.session() as session:
        rows = await session.execute(
            select(
                UsageEvent.request_id,
                UsageEvent.endpoint,
                UsageEvent.status_code,
                UsageEvent.characters,
                UsageEvent.outcome,
                UsageEvent.voice,
            ).where(UsageEvent.request_id.in_(request_ids))
        )
        found = {row[0]: row[1:] for row in rows}
    return [found.get(request_id) for request_id in request_ids]


def test_the_hot_routes_are_in_the_lane(app: Any) -> None:
    lanes = set(lean_routes(app))
    assert {("POST", "/v1/tts"), ("POST", "/v1/tts/stream"), ("POST", "/v1/audio/speech")} <= lanes


@pytest.mark.parametrize("case", list(CASES))
async def test_the_lane_answers_as_the_solved_route(
    app: Any, client: httpx.AsyncClient, auth: dict[str, str], lane_answered: list[str], case: str
) -> None:
    path, options = CASES[case]
    headers = {name.lower(): value for name, value in auth.items()}
    options = {**options, "headers": {**headers, **options.get("headers", {})}}
    options["headers"] = {name: value for name, value in options["headers"].items() if value}

    lane = await client.post(path, **options)
    plain = "json" in options  # a body that parses; the lane answers it, even with a refusal
    assert lane_answered == ([path] if plain and case not in LEFT_TO_FASTAPI else [])
    solved_way(app)
    solved = await client.post(path, **options)
    assert len(lane_answered) <= 1

    assert comparable(lane) == comparable(solved)
    assert lane.status_code < 500
    ids = [lane.headers["x-request-id"], solved.headers["x-request-id"]]
    lane_event, solved_event = await events(app, ids)
    assert lane_event == solved_event


async def test_refusals_for_rate_and_quota_are_the_same_both_ways(
    app: Any,
    client: httpx.AsyncClient,
    auth: dict[str, str],
    make_key: Any,
    lane_answered: list[str],
) -> None:
    once_a_minute = {"Authorization": f"Bearer {await make_key('rpm@x.example', rate_limit_rpm=1)}"}
    tiny = {"Authorization": f"Bearer {await make_key('tiny@example.com', char_limit=10)}"}
    body = {"json": {"text": TEXT}}
    assert (await client.post("/v1/tts", headers=auth, **body)).status_code == 200  # now cached

    # A hit, then at once another request: both in one minute's window (a window that rolls
    # over between them would count the first at a little less than one).
    assert (await client.post("/v1/tts", headers=once_a_minute, **body)).status_code == 200
    limited_lane = await client.post("/v1/tts", headers=once_a_minute, json={"text": "Hi."})
    poor_lane = await client.post("/v1/tts", headers=tiny, **body)
    assert lane_answered == ["/v1/tts"] * 4
    solved_way(app)
    limited_solved = await client.post("/v1/tts", headers=once_a_minute, json={"text": "Hi."})
    poor_solved = await client.post("/v1/tts", headers=tiny, **body)

    status, headers, refusal = comparable(limited_lane)
    assert (status, headers) == comparable(limited_solved)[:2]
    waits = {"detail", "retry_after"}  # a second may pass between the two
    assert {k: v for k, v in refusal.items() if k not in waits} == {
        k: v for k, v in limited_solved.json().items() if k not in waits
    }
    assert refusal["code"] == "rate_limited"
    assert comparable(poor_lane) == comparable(poor_solved)
    assert poor_lane.json()["code"] == "quota_exceeded"
