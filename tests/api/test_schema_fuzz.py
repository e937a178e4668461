"""Requests generated from the served /openapi.json, valid and invalid alike: the API never
answers 5xx (503 aside), and every answer is one the document declares, in its declared shape.

SQLite only, a fixed seed and a few examples per operation keep it fast and repeatable; the app
runs with small text limits (the document states them, so generated texts stay short) and with
an external worker (nothing is synthesized in the background).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import create_key
from vocalis.accounts.service import Scope
from vocalis.app import create_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

pytestmark = pytest.mark.slow  # hundreds of generated requests

SEED = 20261129
BASE_URL = "http://vocalis.test"
FUZZ_SETTINGS: dict[str, Any] = {
    "max_text_chars": 40,
    "max_job_text_chars": 60,
    "max_batch_items": 3,
    "worker": "external",
    "default_rate_limit_rpm": 1_000_000,
}
SYNTHESIS = {"POST /v1/tts", "POST /v1/tts/stream", "POST /v1/audio/speech"}
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 8}
SYNTHESIS_EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 8}
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


class NoDns:
    """Webhook URLs never resolve here: no lookups leave the test."""

    async def resolve(self, host: str, port: int) -> list[str]:
        raise OSError(f"{host} does not resolve in tests")


def _operation_labels() -> list[str]:
    document = create_app(Settings(key_pepper="p" * 32)).openapi()
    return [f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops]


@pytest.fixture(scope="module")
async def fuzzed(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    voices: VoiceRegistry,
) -> AsyncIterator[tuple[httpx.AsyncClient, schemathesis.BaseSchema, dict[str, str]]]:
    """One app for every operation: its client, its served schema, and an all-scopes key."""
    folder = tmp_path_factory.mktemp("fuzz")
    database = folder / "vocalis.db"
    database.write_bytes(sqlite_template.read_bytes())
    app = create_app(
        Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            storage_path=folder / "storage",
            voices_dir=folder / "voices",
            dev_key_file=folder / "dev-api-key",
            key_pepper="fuzz-pepper-" + "x" * 20,
            device="cpu",
            **FUZZ_SETTINGS,
        ),
        registry=voices,
        resolver=NoDns(),
    )
    async with LifespanManager(app):
        await app.state.runtime.engine.wait_ready()
        every_scope = tuple(scope.value for scope in Scope)
        key = await create_key(
            app, "fuzz@example.com", scopes=every_scope, char_limit=10**9, seconds_limit=10**9
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            document = (await client.get("/openapi.json")).json()
            yield client, schemathesis.openapi.from_dict(document), {"X-API-Key": key}


def _cases(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """`count` cases drawn with a fixed seed (none when the mode cannot vary this operation)."""
    drawn: list[Any] = []

    @seed(SEED)
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def draw(case: Any) -> None:
        drawn.append(case)

    try:
        draw()
    except Unsatisfiable:  # e.g. no invalid request exists for GET /health
        return []
    return drawn


async def _send(client: httpx.AsyncClient, case: Any, auth: dict[str, str]) -> httpx.Response:
    """Send `case` with exactly the bytes schemathesis would send, authenticated with `auth`."""
    options = case.as_transport_kwargs(base_url=BASE_URL)
    headers = {
        name: value
        for name, value in (options.pop("headers", None) or {}).items()
        if name.lower() not in ("authorization", "x-api-key")
    }
    prepared = requests.Request(headers=headers | auth, **options).prepare()
    return await client.request(
        prepared.method or "GET",
        prepared.url or BASE_URL,
        headers=dict(prepared.headers),
        content=prepared.body,
    )


@pytest.mark.parametrize("label", _operation_labels())
async def test_generated_requests_get_declared_answers(
    fuzzed: tuple[httpx.AsyncClient, schemathesis.BaseSchema, dict[str, str]], label: str
) -> None:
    client, schema, auth = fuzzed
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    budget = SYNTHESIS_EXAMPLES if label in SYNTHESIS else EXAMPLES
    problems = []
    for mode, count in budget.items():
        for case in _cases(operation, mode, count):
            response = await _send(client, case, auth)
            where = f"{mode.value}: {case.as_curl_command(headers=auth)}"
            if response.status_code >= 500 and response.status_code != 503:
                problems.append(f"{response.status_code} {response.text[:200]}\n  {where}")
                continue
            try:
                case.validate_response(response, checks=CHECKS)
            except schemathesis.errors.FailureGroup as failure:
                problems.append(f"{response.status_code}: {failure}\n  {where}")
    assert not problems, "\n".join(problems)
