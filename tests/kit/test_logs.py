"""Logs as `vocalis serve` and `vocalis worker` write them: one JSON object per line in production,
readable lines in development, one line per request, and never a key, a password or a text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import create_key
from vocalis.config import Settings
from vocalis.kit.logs import ACCESS_LOGGER, configure_logging, json_lines

SECRET_TEXT = "The vault combination is seven, three, nine."
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`configure_logging` changes the process's loggers: put them back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    touched = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    filters = {logger.name: list(logger.filters) for logger in touched}
    levels = {name: logging.getLogger(name).level for name in ("alembic", "httpx")}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers, root.level = handlers, level
    for logger in touched:
        logger.filters = filters[logger.name]
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def logged(settings: Settings, **overrides: Any) -> tuple[io.StringIO, Callable[[], list[str]]]:
    stream = io.StringIO()
    configure_logging(settings.model_copy(update=overrides), stream)
    return stream, lambda: [line for line in stream.getvalue().splitlines() if line]


def access_lines(lines: list[str], request_id: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in lines]
    return [
        entry
        for entry in entries
        if entry["logger"] == ACCESS_LOGGER and entry.get("request_id") == request_id
    ]


async def test_a_request_is_one_json_line_with_who_what_and_cost(
    app: Any, client: httpx.AsyncClient, settings: Settings, restore_logging: None
) -> None:
    key = await create_key(app)
    _, lines = logged(settings, log_format="json")
    response = await client.post(
        "/v1/tts?api_key=" + key,  # a key in the query string, as careless clients send it
        json={"text": SECRET_TEXT},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text

    captured = lines()
    for line in captured:  # every line, not only the access line, is one JSON object
        assert isinstance(json.loads(line), dict)
    [entry] = access_lines(captured, response.headers["x-request-id"])
    assert entry["level"] == "info"
    assert entry["method"] == "POST"
    assert entry["route"] == "/v1/tts"
    assert entry["status"] == 200
    assert entry["latency_ms"] > 0
    assert entry["account_id"].startswith("acc")
    assert entry["key"].startswith("key_")
    assert 8 <= len(entry["key"]) < 20
    assert entry["characters"] == int(response.headers["x-characters"])
    assert entry["audio_seconds"] == int(response.headers["x-audio-duration-ms"]) / 1000
    assert entry["voice"] == response.headers["x-voice"]
    assert entry["cache_hit"] is False
    assert entry["client_ip"] == "127.0.0.1"
    everything = "\n".join(captured)
    assert key not in everything
    assert key[8:20] not in everything  # not even a part of the key's secret body
    assert SECRET_TEXT not in everything and "vault" not in everything


async def test_anonymous_refusals_and_logins_log_neither_passwords_nor_keys(
    app: Any, client: httpx.AsyncClient, settings: Settings, restore_logging: None
) -> None:
    revoked_looking = "sk_live_" + "A" * 38
    _, lines = logged(settings, log_format="json")
    refused = await client.post(
        "/v1/tts", json={"text": SECRET_TEXT}, headers={"X-API-Key": revoked_looking}
    )
    login = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert login.status_code in (400, 401, 403)

    captured = lines()
    [entry] = access_lines(captured, refused.headers["x-request-id"])
    assert entry["status"] == 401
    assert entry["account_id"] is None and entry["key"] is None
    assert entry["error"] == refused.json()["code"]
    assert entry["characters"] == 0 and entry["audio_seconds"] == 0
    assert len(access_lines(captured, login.headers["x-request-id"])) == 1
    everything = "\n".join(captured)
    for secret in (revoked_looking, PASSWORD, SECRET_TEXT):
        assert secret not in everything


def test_a_trace_is_one_json_line_with_its_secrets_masked(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    _, lines = logged(make_settings(), log_format="json")
    key = "sk_live_" + "b" * 38
    try:
        raise RuntimeError(f"could not use {key}")
    except RuntimeError:
        logging.getLogger("vocalis.test").exception("failed with %s", key)
    [line] = lines()
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert entry["logger"] == "vocalis.test"
    assert entry["message"] == "failed with sk_live_***"
    assert "RuntimeError: could not use sk_live_***" in entry["exception"]
    assert key not in line


async def test_text_lines_stay_readable_for_people(
    client: httpx.AsyncClient, auth: dict[str, str], settings: Settings, restore_logging: None
) -> None:
    _, lines = logged(settings, log_format="text")
    response = await client.get("/v1/usage/quota", headers=auth)
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    [line] = [line for line in lines() if request_id in line]
    assert line.startswith("INFO vocalis.access: GET /v1/usage/quota 200 ")
    assert f"request_id={request_id}" in line
    assert " key=key_" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_uvicorn_access_lines_give_way_to_ours(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    _, lines = logged(make_settings(), log_format="json")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "1.2.3.4", "GET", "/", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    assert [json.loads(line)["message"] for line in lines()] == ["Application startup complete."]


def test_configuring_again_replaces_the_handler(
    make_settings: Callable[..., Settings], restore_logging: None
) -> None:
    first, _ = logged(make_settings(), log_format="json")
    _, lines = logged(make_settings(), log_format="text")
    logging.getLogger("vocalis.test").warning("once")
    assert first.getvalue() == ""
    assert lines() == ["WARNING vocalis.test: once"]


def test_auto_means_json_in_production_and_text_in_development() -> None:
    assert json_lines(Settings.model_construct(log_format="auto", env="production"))
    assert not json_lines(Settings.model_construct(log_format="auto", env="development"))
    assert json_lines(Settings.model_construct(log_format="json", env="development"))
    assert not json_lines(Settings.model_construct(log_format="text", env="production"))


async def test_a_request_id_that_looks_like_a_key_is_neither_echoed_nor_logged(
    client: httpx.AsyncClient, settings: Settings, restore_logging: None
) -> None:
    mistaken = "sk_live_" + "c" * 38  # a key pasted into the wrong header
    _, lines = logged(settings, log_format="json")
    response = await client.get("/health", headers={"X-Request-Id": mistaken})
    assert response.headers["x-request-id"].startswith("req_")
    assert len(access_lines(lines(), response.headers["x-request-id"])) == 1
    assert mistaken not in "\n".join(lines())
