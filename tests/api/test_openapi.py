"""/openapi.json tells a client the errors it will really get, and the limits this server has;
/docs and /redoc work without the internet."""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from vocalis.api.openapi import ROUTE_ERRORS
from vocalis.app import create_app
from vocalis.config import Settings


def _document(settings: Settings) -> dict[str, Any]:
    return create_app(settings).openapi()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def _models(schema: dict[str, Any]) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))


def test_every_error_is_declared_with_the_body_it_has(
    make_settings: Callable[..., Settings],
) -> None:
    document = _document(make_settings())
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's, never sent
    error_body = document["components"]["schemas"]["ErrorBody"]
    assert set(error_body["required"]) == {"detail", "code"}
    for method, path, operation in _operations(document):
        errors = {int(status): answer for status, answer in operation["responses"].items()
                  if int(status) >= 400}  # fmt: skip
        openai = "openai" in operation["tags"]  # these answer in OpenAI's error shape
        expected: set[int] = set()
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        if "APIKeyCookie" in schemes:  # the web session: no request rate limit
            expected |= {401, 403, 503}
        elif schemes:
            expected |= {401, 403, 429, 503}
        if "requestBody" in operation:
            expected |= {400, 413} | (set() if openai else {422})
        if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
            expected.add(404)
        assert expected <= errors.keys(), (method, path, sorted(errors))
        for status, answer in errors.items():
            models = _models(answer["content"]["application/json"]["schema"])
            allowed = {"ErrorBody", "OpenAIError"} if openai else {"ErrorBody"}
            assert models and models <= allowed, (method, path, status, models)
    speech = document["paths"]["/v1/audio/speech"]["post"]["responses"]
    assert "422" not in speech  # OpenAI answers validation errors with 400
    assert "OpenAIError" in _models(speech["401"])
    speak = document["paths"]["/v1/tts"]["post"]["responses"]
    assert all("Retry-After" in speak[status]["headers"] for status in ("429", "503"))


def test_errors_only_some_routes_have_are_declared_on_routes_that_exist(
    make_settings: Callable[..., Settings],
) -> None:
    document = _document(make_settings())
    for (method, path), statuses in ROUTE_ERRORS.items():
        responses = document["paths"][path][method.lower()]["responses"]
        assert {str(status) for status in statuses} <= responses.keys()


def test_the_schema_states_this_servers_limits(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(max_text_chars=1234, max_job_text_chars=777, max_batch_items=5)
    document = _document(settings)
    models = document["components"]["schemas"]
    assert models["SpeechRequest"]["properties"]["text"]["maxLength"] == 1234
    assert models["SpeechCreate"]["properties"]["input"]["maxLength"] == 1234
    assert models["JobRequest"]["properties"]["text"]["maxLength"] == 777
    assert models["BatchItem"]["properties"]["text"]["maxLength"] == 777
    assert models["BatchRequest"]["properties"]["items"]["maxItems"] == 5
    assert "x-vocalis" not in json.dumps(document)


async def test_docs_load_nothing_from_the_internet(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vocalis.test") as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert any(asset.endswith(".js") for asset in assets), html
            assert "://" not in html.replace("window.location.origin", "")
            for asset in assets:
                assert asset.startswith("/"), asset
                response = await client.get(asset)
                assert response.status_code == 200, asset
                kind = response.headers["content-type"]
                assert re.match(r"(text|application)/(javascript|css)|image/", kind), (asset, kind)
                assert len(response.content) > 1000, asset
