"""Cache hits charged from a block of quota the serving process holds (usage.credits): every
hit still paid exactly, never beyond an allowance, and the block given back whole."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.conftest import client_for, running_app
from tests.helpers import quota_counters
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import ManualClock
from vocalis.usage.credits import IDLE_SECONDS, is_credit_row
from vocalis.usage.models import QuotaReservation, UsageEvent, UsagePeriod

TEN_CHARACTERS = "Hello you."


async def credit_rows(app: Any) -> list[QuotaReservation]:
    async with app.state.runtime.database.session() as session:
        rows = await session.scalars(select(QuotaReservation))
        return [row for row in rows if is_credit_row(row.id)]


async def account_counter(app: Any, column: Any) -> int:
    async with app.state.runtime.database.session() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(column), 0)).where(
                UsagePeriod.key_id == ""  # the account's own rows
            )
        )
    return int(total)


async def reserved(app: Any) -> int:
    """Characters the account holds reserved."""
    return await account_counter(app, UsagePeriod.chars_reserved)


async def used(app: Any) -> int:
    """Characters the account has used (settled)."""
    return await account_counter(app, UsagePeriod.chars_used)


async def miss_then_hits(
    client: httpx.AsyncClient, headers: dict[str, str], hits: int
) -> tuple[httpx.Response, list[httpx.Response]]:
    first = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS"
    responses = [
        await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
        for _ in range(hits)
    ]
    return first, responses


async def test_hits_are_paid_from_a_block_and_settle_to_the_exact_total(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": await make_key(char_limit=100_000)}
    first, hits = await miss_then_hits(client, headers, 40)

    assert {response.headers["x-cache"] for response in hits} == {"HIT"}
    # Each answer's figures go down by exactly what it cost, block or not.
    remaining = [int(response.headers["x-quota-characters-remaining"]) for response in hits]
    assert remaining == [100_000 - 10 * (n + 2) for n in range(40)]
    # The quota is held ahead as a block: a reservation row, more reserved than spent.
    held = await credit_rows(app)
    assert len(held) == 1 and held[0].characters > 0
    assert await reserved(app) == held[0].characters
    quota = (await client.get("/v1/usage/quota", headers=headers)).json()
    assert quota["characters"]["used"] == 410  # what the block did not spend is not use
    (key,) = (await client.get("/v1/keys", headers=headers)).json()
    assert key["period_chars_used"] == 410

    await client.get("/v1/usage", headers=headers)  # a report: what the block spent is settled

    assert await used(app) == 410
    (held,) = await credit_rows(app)
    assert held.characters == 640 - 390 == await reserved(app)  # the rest is still the block's
    duration = int(first.headers["x-audio-duration-ms"])
    chars, audio_ms = await quota_counters(app)
    assert chars == 410 + held.characters and audio_ms == 41 * duration + held.audio_ms


async def test_concurrent_hits_near_the_limit_stop_exactly_at_it(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    """Blocks shrink as the allowance runs out; the last hits are charged one at a time."""
    headers = {"X-API-Key": await make_key(char_limit=2000)}
    first = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)  # seen figures

    responses = await asyncio.gather(
        *(
            client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
            for _ in range(230)
        )
    )

    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 198 and statuses.count(429) == 32
    assert {r.json()["code"] for r in responses if r.status_code == 429} == {"quota_exceeded"}
    await client.get("/v1/usage", headers=headers)
    duration = int(first.headers["x-audio-duration-ms"])
    assert await quota_counters(app) == (2000, 200 * duration)
    assert await reserved(app) == 0
    quota = (await client.get("/v1/usage/quota", headers=headers)).json()
    assert quota["characters"] == {"limit": 2000, "used": 2000, "remaining": 0}


async def test_a_block_left_idle_is_given_back_without_another_request(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    headers = {"X-API-Key": await make_key(char_limit=100_000)}
    first, _ = await miss_then_hits(client, headers, 5)
    assert await credit_rows(app)

    for _ in range(round(10 * IDLE_SECONDS) + 40):
        if not await credit_rows(app):
            break
        await asyncio.sleep(0.1)

    assert await credit_rows(app) == []
    assert await reserved(app) == 0
    assert await quota_counters(app) == (60, 6 * int(first.headers["x-audio-duration-ms"]))


async def test_a_synthesis_is_not_refused_for_what_this_processs_block_holds(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    """Right at the limit, a block would hold quota a long request needs: it is given back."""
    headers = {"X-API-Key": await make_key(char_limit=400)}
    await miss_then_hits(client, headers, 3)  # 40 used; the next hits take a block
    assert await credit_rows(app)
    text = "Twelve words. " * 25  # 350 characters: fits only if the block is given back

    response = await client.post("/v1/tts", json={"text": text.strip()}, headers=headers)

    assert response.status_code == 200, response.text
    assert await credit_rows(app) == []


async def test_a_stalled_processs_block_is_swept_back_and_records_no_request(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
) -> None:
    """A process that stops renewing its block's lease (it died, or hung) loses it: another
    process's sweep gives the unsettled part back, and no request is recorded for it; the
    stalled process, if it wakes, stops spending from the lost block."""
    settings = make_settings(database_url=database_url)
    stalled_clock, other_clock = ManualClock(), ManualClock()
    async with running_app(settings, voices, stalled_clock) as stalled:
        async with client_for(stalled) as client:
            headers = {"X-API-Key": await make_key_for(stalled, char_limit=100_000)}
            await miss_then_hits(client, headers, 3)
            await client.get("/v1/usage", headers=headers)  # settles the block's two hits
            assert await used(stalled) == 40 and (await credit_rows(stalled))[0].characters == 620
            async with running_app(settings, voices, other_clock) as other:
                other_clock.advance(timedelta(minutes=5))
                await other.state.runtime.meter.sweep()

                assert await credit_rows(other) == []
                assert await reserved(other) == 0
                chars, _ = await quota_counters(other)
                assert chars == 40  # the miss and three hits; what the block only held went back
                async with other.state.runtime.database.session() as session:
                    outcomes = set(await session.scalars(select(UsageEvent.outcome)))
                assert "interrupted" not in outcomes

            # The stalled process wakes up: the batch after its next hit finds the block gone,
            # and from then on its hits are paid again (that one hit went unpaid).
            await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
            await client.get("/v1/usage", headers=headers)
            for _ in range(5):
                await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
            await client.get("/v1/usage", headers=headers)
            assert await used(stalled) == 40 + 50


async def test_another_accounts_report_leaves_the_block_in_place(
    app: Any, client: httpx.AsyncClient, make_key: Callable[..., Any]
) -> None:
    """Reports settle what blocks spent; they do not give every account's block back (the
    next hits of each would then wait for a new one)."""
    headers = {"X-API-Key": await make_key(char_limit=100_000)}
    other = {"X-API-Key": await make_key("other@example.com")}
    await miss_then_hits(client, headers, 3)
    (before,) = await credit_rows(app)

    assert (await client.get("/v1/usage", headers=other)).status_code == 200
    hit = await client.post("/v1/tts", json={"text": TEN_CHARACTERS}, headers=headers)
    assert hit.headers["x-cache"] == "HIT"
    (after,) = await credit_rows(app)

    assert after.id == before.id
