"""Bad input gets a clear JSON error with the right status, and never a 500."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from vocalis.app import create_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"detail", "code"}
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "empty_text"),
        ({"text": "   \n\t "}, 422, "empty_text"),
        ({"text": "?!... ---"}, 422, "empty_text"),
        ({"text": "x" * 5001}, 422, "text_too_long"),
        ({"text": "hello", "voice": "de_DE-nobody-low"}, 422, "unknown_voice"),
        ({"text": "hello", "speed": 0.1}, 422, "invalid_speed"),
        ({"text": "hello", "speed": 4.5}, 422, "invalid_speed"),
        ({"text": "hello", "speed": "fast"}, 422, "invalid_speed"),
        ({"text": "hello", "format": "mp9"}, 422, "unsupported_format"),
        ({"text": "hello", "colour": "blue"}, 422, "unknown_field"),
        ({"text": 42}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        (["text", "hello"], 422, "validation_error"),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient, auth: dict[str, str], body: Any, status: int, code: str
) -> None:
    _assert_error(await client.post("/v1/tts", json=body, headers=auth), status, code)


async def test_text_at_the_limit_is_accepted_and_the_error_names_the_limit(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    over = await client.post("/v1/tts", json={"text": "a" * 5001}, headers=auth)
    assert over.json()["max_characters"] == 5000
    assert "5001" in over.json()["detail"]


async def test_malformed_json(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    _assert_error(
        await client.post("/v1/tts", content=b'{"text": "hi"', headers=headers), 400, "invalid_json"
    )


@pytest.mark.parametrize("content_type", ["text/plain", "text/json", "application/jsonx"])
async def test_body_that_is_not_json(
    client: httpx.AsyncClient, auth: dict[str, str], content_type: str
) -> None:
    """Only what is read as JSON (application/json, or …+json) is; a look-alike is a 415."""
    response = await client.post(
        "/v1/tts", content=b'{"text": "hello"}', headers={**auth, "Content-Type": content_type}
    )
    _assert_error(response, 415, "unsupported_media_type")


async def test_oversized_body_is_refused_before_it_is_read(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    voices: VoiceRegistry,
    make_key_for: Any,
) -> None:
    settings = make_settings(database_url=sqlite_url, max_request_bytes=2048)
    app = create_app(settings, registry=voices)
    async with LifespanManager(app):
        key = await make_key_for(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"X-API-Key": key}
            declared = await client.post("/v1/tts", json={"text": "a" * 4000}, headers=headers)
            _assert_error(declared, 413, "payload_too_large")

            async def chunks():  # no Content-Length: the limit is enforced while reading
                for _ in range(10):
                    yield b" " * 512

            streamed = await client.post("/v1/tts", content=chunks(), headers=headers)
            _assert_error(streamed, 413, "payload_too_large")
            await app.state.runtime.engine.wait_ready()
            small = await client.post("/v1/tts", json={"text": "Hello."}, headers=headers)
            assert small.status_code == 200


async def test_bad_input_is_checked_after_auth(client: httpx.AsyncClient) -> None:
    # an anonymous caller learns nothing about validation rules: 401 comes first
    _assert_error(await client.post("/v1/tts", json={"text": ""}), 401, "missing_api_key")


SURROGATE = "Hello \ud800 there."  # JSON may spell half a UTF-16 pair; Python cannot encode it


def _raw_json(body: Any) -> bytes:
    return json.dumps(body).encode()  # escapes the surrogate as \ud800, as a client would send it


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/tts", {"text": SURROGATE}, "text"),
        ("/v1/tts/stream", {"text": SURROGATE}, "text"),
        ("/v1/tts/jobs", {"text": SURROGATE}, "text"),
        ("/v1/tts/batch", {"items": [{"text": "Hi."}, {"text": SURROGATE}]}, "items[1].text"),
        ("/v1/tts", {"text": "Hello.", "voice": "\ud800"}, "voice"),
        ("/v1/tts/jobs", {"text": "Hello.", "metadata": {"note": "\udfff"}}, "metadata"),
    ],
)
async def test_lone_surrogates_are_refused_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, body: Any, field: str
) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    response = await client.post(path, content=_raw_json(body), headers=headers)
    _assert_error(response, 422, "validation_error")
    assert response.json()["detail"].startswith(f"{field}: is not valid Unicode")


async def test_openai_route_refuses_lone_surrogates_in_openai_shape(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = {"model": "tts-1", "input": SURROGATE, "voice": "alloy"}
    headers = {**auth, "Content-Type": "application/json"}
    response = await client.post("/v1/audio/speech", content=_raw_json(body), headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "input")


async def test_json_body_that_is_not_utf8(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    response = await client.post("/v1/tts", content=b'{"text": "\xff"}', headers=headers)
    _assert_error(response, 400, "invalid_json")
