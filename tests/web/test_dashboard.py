"""The dashboard as the server serves it: client routes get the app's page with its security
headers, hashed assets are cached for good, the API keeps its JSON answers, and without a build
`/` shows the API docs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for, running_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry

INDEX = "<!doctype html><title>Vocalis</title><div id=root></div>"
ASSET = "assets/index-3f9a1c.js"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / ASSET).write_text("console.log('vocalis')")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return dist


async def test_client_routes_get_the_app_and_the_api_keeps_its_paths(
    make_settings: Callable[..., Settings], sqlite_url: str, voices: VoiceRegistry, built: Path
) -> None:
    settings = make_settings(database_url=sqlite_url, web_dist=built)
    async with running_app(settings, voices) as app, client_for(app) as client:
        pages = (
            "/",
            "/overview",
            "/keys",
            "/billing",
            "/billing?checkout=success",
            "/verify?token=vt_x",
        )
        for path in pages:
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.text == INDEX
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
            csp = page.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "media-src 'self' blob:" in csp and "unsafe-inline" not in csp
            assert page.headers["x-frame-options"] == "DENY"
            assert page.headers["x-content-type-options"] == "nosniff"

        asset = await client.get(f"/{ASSET}")
        assert asset.status_code == 200 and "vocalis" in asset.text
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        icon = await client.get("/favicon.svg")
        assert icon.status_code == 200 and "immutable" not in icon.headers["cache-control"]

        for escape in (
            "/assets/../index.html",
            "/assets/%2e%2e/%2e%2e/secret.txt",
            "/../secret.txt",
        ):
            answer = await client.get(escape)
            assert "outside the build" not in answer.text, escape
        missing_asset = await client.get("/assets/nope.js")
        assert missing_asset.status_code == 404 and missing_asset.json()["code"] == "not_found"

        # The API answers as before: JSON, not the app's page.
        unknown = await client.get("/v1/nothing-here")
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
        assert (await client.get("/account/nothing")).status_code == 404
        assert (await client.get("/v1/plans")).json()["plans"]
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Vocalis"
        assert (await client.get("/docs")).status_code == 200


async def test_without_a_build_the_root_shows_the_api_docs(
    make_settings: Callable[..., Settings], sqlite_url: str, voices: VoiceRegistry, tmp_path: Path
) -> None:
    settings = make_settings(database_url=sqlite_url, web_dist=tmp_path / "not-built")
    async with running_app(settings, voices) as app, client_for(app) as client:
        root = await client.get("/")
        assert root.status_code in (302, 307) and root.headers["location"] == "/docs"
        assert (await client.get("/overview")).status_code == 404


async def test_the_committed_openapi_schema_is_the_servers(
    make_settings: Callable[..., Settings], voices: VoiceRegistry
) -> None:
    """The dashboard's typed client is made from frontend/src/api/openapi.json: it must be what
    the server says today (regenerate: `make api-client`)."""
    import json

    from vocalis.app import create_app
    from vocalis.config import Settings as Fresh

    committed = Path(__file__).parents[2] / "frontend" / "src" / "api" / "openapi.json"
    app: Any = create_app(Fresh(), registry=voices)
    assert json.loads(committed.read_text()) == app.openapi(), (
        "frontend/src/api/openapi.json is stale: run `make api-client`"
    )
