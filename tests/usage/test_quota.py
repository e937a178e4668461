"""Dual monthly quotas: never overspent, even at once; real audio charged; failures refunded."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import client_for, running_app
from tests.helpers import BrokenBackend, charged, decode_wav, quota_counters
from vocalis.accounts.models import ApiKey
from vocalis.config import DEFAULT_VOICE, Settings
from vocalis.engine import VoiceRegistry, select_device
from vocalis.engine.text import normalize
from vocalis.kit.clock import ManualClock
from vocalis.usage.models import UsagePeriod

TEN_CHARACTERS = "Hello you."


def test_the_ten_character_text_really_counts_ten() -> None:
    assert len(normalize(TEN_CHARACTERS, "en_US")) == 10


async def test_concurrent_requests_never_overspend(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    key = await make_key(char_limit=100)
    headers = {"X-API-Key": key}

    responses = await asyncio.gather(
        *(client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers) for _ in range(40))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 10 + [429] * 30
    refused = [response.json() for response in responses if response.status_code == 429]
    assert {body["code"] for body in refused} == {"quota_exceeded"}
    chars_used, audio_ms_used = await quota_counters(app)
    assert chars_used == 100
    spoken_ms = sum(
        int(response.headers["x-audio-duration-ms"])
        for response in responses
        if response.status_code == 200
    )
    assert abs(audio_ms_used - spoken_ms) <= 10
    quota = (await client.get("/v1/usage/quota", headers=headers)).json()
    assert quota["characters"] == {"limit": 100, "used": 100, "remaining": 0}


async def test_concurrent_cache_hits_never_overspend(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    """Hits are counted many to a transaction; each is still charged exactly, or refused."""
    headers = {"X-API-Key": await make_key(char_limit=100)}
    first = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS"

    responses = await asyncio.gather(
        *(client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers) for _ in range(30))
    )

    served = [response for response in responses if response.status_code == 200]
    assert len(served) == 9 and {r.headers["x-cache"] for r in served} == {"HIT"}
    assert all(r.content == first.content for r in served)
    assert {r.json()["code"] for r in responses if r.status_code != 200} == {"quota_exceeded"}
    chars_used, audio_ms_used = await quota_counters(app)
    assert chars_used == 100
    assert audio_ms_used == 10 * int(first.headers["x-audio-duration-ms"])
    remaining = sorted(int(r.headers["x-quota-characters-remaining"]) for r in served)
    assert remaining[0] == 0  # the last hit counted left nothing


async def test_quota_refusal_carries_the_figures(
    client: httpx.AsyncClient, make_key: Callable[..., Any], clock: ManualClock
) -> None:
    key = await make_key(char_limit=15)
    headers = {"X-API-Key": key}
    first = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    assert first.status_code == 200
    assert first.headers["x-quota-characters-remaining"] == "5"

    refused = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "quota_exceeded"
    assert "character" in body["detail"]
    assert body["quota"]["characters"] == {"limit": 15, "used": 10, "remaining": 5}
    assert set(body["quota"]["seconds"]) == {"limit", "used", "remaining"}
    resets_at = datetime.fromisoformat(body["resets_at"])
    now = clock.now()
    next_month = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    assert resets_at == next_month
    assert int(refused.headers["retry-after"]) == pytest.approx(
        (next_month - now).total_seconds(), abs=2
    )

    quota = (await client.get("/v1/usage/quota", headers=headers)).json()
    assert {k: quota[k] for k in ("characters", "seconds")} == body["quota"]
    assert all(type(value) is int for value in quota["characters"].values())
    assert quota["plan"] == "free"


async def test_seconds_quota_binds_even_when_characters_remain(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    key = await make_key(seconds_limit=2)  # 60 characters are estimated at 4 s (15 chars/s)
    text = "This sentence is long enough to need more than two seconds."
    response = await client.post("/v1/tts", json={"text": text}, headers={"X-API-Key": key})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert "seconds" in body["detail"]
    assert body["quota"]["characters"]["remaining"] == 100_000
    assert body["quota"]["seconds"] == {"limit": 2, "used": 0, "remaining": 2}
    assert await quota_counters(app) == (0, 0)


async def test_seconds_are_charged_at_the_real_duration_not_the_estimate(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    text = "One. Two. Three. Four."  # short words and pauses: slower than the assumed 15 chars/s
    response = await client.post("/v1/tts", json={"text": text}, headers={"X-API-Key": api_key})
    assert response.status_code == 200
    real_ms = round(decode_wav(response.content).duration * 1000)
    estimate_ms = round(len(text) / 15 * 1000)
    assert abs(real_ms - estimate_ms) > 100  # the test is only meaningful if they differ
    chars_used, audio_ms_used = await quota_counters(app)
    assert chars_used == len(normalize(text))
    assert abs(audio_ms_used - real_ms) <= 10
    remaining = float(response.headers["x-quota-seconds-remaining"])
    assert remaining == pytest.approx(6000 - real_ms / 1000, abs=0.011)


async def test_failed_synthesis_is_refunded_in_full(
    settings: Settings, voices: VoiceRegistry, make_key_for: Callable[..., Any]
) -> None:
    (piper,) = voices.backends
    broken = VoiceRegistry([BrokenBackend(piper)], DEFAULT_VOICE)
    broken.load(select_device("cpu"))
    async with running_app(settings, broken) as app, client_for(app) as client:
        key = await make_key_for(app, monthly_char_cap=50)
        response = await client.post(
            "/v1/tts", json={"text": TEN_CHARACTERS}, headers={"X-API-Key": key}
        )
        assert response.status_code == 500
        assert response.json()["code"] == "synthesis_failed"
        assert await quota_counters(app) == (0, 0)
        assert await charged(app.state.runtime.database, key_id=await _only_key_id(app)) == (0, 0)


async def test_a_new_month_starts_with_fresh_counters(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any], clock: ManualClock
) -> None:
    clock.advance(datetime(2031, 1, 31, 23, 59, tzinfo=UTC) - clock.now())
    key = await make_key(char_limit=10, monthly_char_cap=10)
    headers = {"X-API-Key": key}
    assert (
        await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    ).status_code == 200
    assert (
        await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    ).status_code == 429

    clock.advance(timedelta(minutes=2))  # February
    quota = (await client.get("/v1/usage/quota", headers=headers)).json()
    assert quota["characters"]["used"] == 0  # reads as the new period before anything is written
    assert quota["resets_at"] == "2031-03-01T00:00:00Z"
    again = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    assert again.status_code == 200
    async with app.state.runtime.database.session() as session:
        periods = (
            await session.execute(
                select(
                    UsagePeriod.key_id,
                    UsagePeriod.period_start,
                    UsagePeriod.period_end,
                    UsagePeriod.chars_used,
                ).order_by(UsagePeriod.period_start, UsagePeriod.key_id)
            )
        ).all()
    key_id = await _only_key_id(app)
    january = (datetime(2031, 1, 1, tzinfo=UTC), datetime(2031, 2, 1, tzinfo=UTC))
    february = (datetime(2031, 2, 1, tzinfo=UTC), datetime(2031, 3, 1, tzinfo=UTC))
    assert [tuple(row) for row in periods] == [
        ("", *january, 10),
        (key_id, *january, 10),
        ("", *february, 10),  # January's use stays January's: the new period starts at 0
        (key_id, *february, 10),
    ]


async def _only_key_id(app: Any) -> str:
    async with app.state.runtime.database.session() as session:
        return await session.scalar(select(ApiKey.id))


async def test_a_keys_own_character_cap_binds_before_the_account(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    capped = await make_key(monthly_char_cap=15)
    free = await make_key()  # same account, no cap of its own
    assert (
        await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers={"X-API-Key": capped})
    ).status_code == 200
    refused = await client.post(
        "/v1/tts", json={"text": TEN_CHARACTERS}, headers={"X-API-Key": capped}
    )
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "quota_exceeded"
    assert body["quota"]["key_characters"] == {"limit": 15, "used": 10, "remaining": 5}
    assert (
        await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers={"X-API-Key": free})
    ).status_code == 200
    assert (await quota_counters(app))[0] == 20


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tts", {"text": "7" * 4000}),
        ("/v1/tts/jobs", {"text": "7" * 20000}),
        ("/v1/tts/batch", {"items": [{"text": "7" * 4000}, {"text": "8" * 4000}]}),
        ("/v1/audio/speech", {"model": "tts-1", "voice": "alloy", "input": "7" * 4000}),
    ],
)
async def test_a_request_the_quota_cannot_cover_is_refused_before_its_text_is_read(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any], path: str, body: Any
) -> None:
    engine = app.state.runtime.engine
    key = await make_key(char_limit=1000)
    prepared_before = engine.texts_prepared
    response = await client.post(path, json=body, headers={"X-API-Key": key})
    assert response.status_code == 429
    assert "quota" in response.text
    assert engine.texts_prepared == prepared_before  # not even normalized
    assert await quota_counters(app) == (0, 0)


async def test_an_exhausted_seconds_allowance_refuses_before_the_text_is_read(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    engine = app.state.runtime.engine
    key = await make_key(seconds_limit=0)
    prepared_before = engine.texts_prepared
    text = "Hello there. " * 100  # long enough for its reading to cost more than the check
    response = await client.post("/v1/tts", json={"text": text}, headers={"X-API-Key": key})
    assert (response.status_code, response.json()["code"]) == (429, "quota_exceeded")
    assert "seconds" in response.json()["detail"]
    assert engine.texts_prepared == prepared_before


async def test_a_text_whose_words_read_out_are_too_long_is_refused_naming_both_figures(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    digits = "4" * 4000  # within the 5,000 characters sent; 16,000 read out digit by digit
    response = await client.post("/v1/tts", json={"text": digits}, headers={"X-API-Key": api_key})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "text_too_long"
    assert (body["max_characters"], body["max_spoken_characters"]) == (5000, 10000)
    assert body["spoken_characters"] > 10000
    assert "4000" in body["detail"] and "10000" in body["detail"]
    assert await quota_counters(app) == (0, 0)


async def test_quota_is_charged_on_the_characters_sent_everywhere(
    app: Any, client: httpx.AsyncClient, api_key: str
) -> None:
    text = "It costs $3.50 on 12 March."  # 27 characters sent, many more read out
    headers = {"X-API-Key": api_key}
    spoken = await client.post("/v1/tts", json={"text": text}, headers=headers)
    assert spoken.headers["x-characters"] == str(len(text))
    assert (await quota_counters(app))[0] == len(text)
    logs = (await client.get("/v1/usage/logs", headers=headers)).json()["data"]
    tts_event = next(event for event in logs if event["endpoint"] == "/v1/tts")
    assert tts_event["characters"] == len(text)
    assert tts_event["outcome"] == "completed"
