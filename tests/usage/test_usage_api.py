"""What a caller can see of its own usage — and never of anyone else's."""

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import text as sql

from vocalis.engine.text import normalize

SECRET_TEXT = "The launch code is tangerine forty two."


async def _spend(client: httpx.AsyncClient, key: str) -> list[httpx.Response]:
    headers = {"X-API-Key": key}
    return [
        await client.post("/v1/tts", json={"text": SECRET_TEXT}, headers=headers),
        await client.post("/v1/tts", json={"text": "Hello."}, headers=headers),
        await client.post("/v1/tts", json={"text": "hi", "voice": "nope"}, headers=headers),
    ]


async def test_every_authenticated_request_is_logged_without_its_text(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    first, second, invalid = await _spend(client, api_key)
    assert (first.status_code, second.status_code, invalid.status_code) == (200, 200, 422)
    await client.post("/v1/tts", json={"text": "anonymous"})  # 401: not an event of anybody's

    page = (await client.get("/v1/usage/logs", headers={"X-API-Key": api_key})).json()
    assert page["total"] == 3 and page["limit"] == 50 and page["offset"] == 0
    newest, middle, oldest = page["data"]
    assert (newest["status_code"], middle["status_code"], oldest["status_code"]) == (422, 200, 200)
    assert oldest["endpoint"] == "/v1/tts" and oldest["method"] == "POST"
    assert oldest["voice"] == "en_US-joe-medium" and oldest["language"] == "en_US"
    assert oldest["characters"] == len(normalize(SECRET_TEXT))
    assert oldest["audio_ms"] == int(first.headers["x-audio-duration-ms"])
    assert oldest["audio_bytes"] == len(first.content)
    assert oldest["request_id"] == first.headers["x-request-id"]
    assert oldest["client_ip"] == "127.0.0.1"
    assert len(oldest["text_hash"]) == 16 and int(oldest["text_hash"], 16) >= 0
    assert oldest["text_hash"] != middle["text_hash"]
    assert newest["characters"] == 0 and newest["text_hash"] is None
    assert oldest["latency_ms"] >= 0

    async with app.state.runtime.database.session() as session:
        for table in ("usage_events", "usage_daily"):
            for row in (await session.execute(sql(f"SELECT * FROM {table}"))).all():
                assert not any("tangerine" in str(value) for value in row)


async def test_logs_page_and_refuse_oversized_pages(
    client: httpx.AsyncClient, api_key: str
) -> None:
    headers = {"X-API-Key": api_key}
    await _spend(client, api_key)
    page = (await client.get("/v1/usage/logs?limit=2&offset=1", headers=headers)).json()
    assert (page["total"], len(page["data"]), page["limit"], page["offset"]) == (3, 2, 2, 1)
    too_many = await client.get("/v1/usage/logs?limit=201", headers=headers)
    assert too_many.status_code == 422 and too_many.json()["code"] == "validation_error"


async def test_usage_summary_totals_breakdowns_and_daily_series(
    client: httpx.AsyncClient, api_key: str, clock: Any
) -> None:
    responses = await _spend(client, api_key)
    headers = {"X-API-Key": api_key}
    summary = (await client.get("/v1/usage?days=7", headers=headers)).json()

    spoken_chars = len(normalize(SECRET_TEXT)) + len("Hello.")
    spoken_ms = sum(
        int(r.headers["x-audio-duration-ms"]) for r in responses if r.status_code == 200
    )
    totals = summary["totals"]
    assert totals["requests"] == 3 and totals["errors"] == 1
    assert totals["characters"] == spoken_chars
    assert totals["audio_seconds"] == spoken_ms / 1000
    assert totals["audio_bytes"] == sum(len(r.content) for r in responses if r.status_code == 200)
    voice = {"voice": "en_US-joe-medium", "requests": 2, "characters": spoken_chars}
    voice |= {"audio_seconds": spoken_ms / 1000, "audio_bytes": totals["audio_bytes"]}
    assert summary["by_voice"] == [voice | {"cache_hits": 0, "errors": 0}]
    assert [item["language"] for item in summary["by_language"]] == ["en_US"]
    assert summary["by_status"] == [
        {"status_code": 200, "requests": 2},
        {"status_code": 422, "requests": 1},
    ]
    assert summary["days"] == 7 and len(summary["daily"]) == 7
    today = clock.now().date().isoformat()
    assert summary["to"] == today and summary["daily"][-1]["date"] == today
    assert summary["daily"][-1]["requests"] == 3
    assert all(day["requests"] == 0 for day in summary["daily"][:-1])
    assert (await client.get("/v1/usage?days=0", headers=headers)).status_code == 422


async def test_one_account_never_sees_another(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    alice = await make_key("alice@example.com")
    bob = await make_key("bob@example.com")
    await _spend(client, alice)
    alice_keys = (await client.get("/v1/keys", headers={"X-API-Key": alice})).json()
    (alice_key_id,) = [key["id"] for key in alice_keys]

    bob_headers = {"X-API-Key": bob}
    assert (await client.get("/v1/usage/logs", headers=bob_headers)).json()["total"] == 0
    assert (await client.get("/v1/usage", headers=bob_headers)).json()["totals"]["characters"] == 0
    bob_keys = (await client.get("/v1/keys", headers=bob_headers)).json()
    assert [key["id"] for key in bob_keys] != [alice_key_id] and len(bob_keys) == 1
    for path in (f"/v1/keys/{alice_key_id}", f"/v1/keys/{alice_key_id}/usage"):
        response = await client.get(path, headers=bob_headers)
        assert (response.status_code, response.json()["code"]) == (404, "key_not_found")
    missing = await client.get("/v1/keys/key_doesnotexist", headers=bob_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "key_not_found")  # the same

    own = (await client.get(f"/v1/keys/{alice_key_id}/usage", headers={"X-API-Key": alice})).json()
    assert own["totals"]["requests"] >= 3
    assert "secret" not in str(alice_keys) and alice not in str(alice_keys)
