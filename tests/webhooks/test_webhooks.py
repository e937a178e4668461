"""Webhook delivery: retries on schedule, every attempt recorded, signatures that verify, one
deadline per attempt, no receiver holding up another, and no way into the server's network."""

import asyncio
import email.utils
import functools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from standardwebhooks import Webhook

from tests.conftest import client_for, create_key, running_app
from tests.helpers import wait_for_job
from tests.webhooks.conftest import WEBHOOK_SETTINGS
from tests.webhooks.receiver import Drip, Hold, Receiver, ReceiverServer
from vocalis.app import create_app
from vocalis.config import Settings
from vocalis.engine import VoiceRegistry
from vocalis.kit.clock import Clock, ManualClock
from vocalis.webhooks.dispatcher import MAX_PER_ACCOUNT, MAX_PER_DESTINATION
from vocalis.webhooks.urls import Resolver

SLOW = {"webhook_timeout_seconds": 20}  # a held receiver stays in flight for the whole test


@asynccontextmanager
async def _app(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    *,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
    **overrides: Any,
) -> AsyncIterator[Any]:
    """An app on the job settings plus `overrides`, with its own clock and DNS when given."""
    settings = make_settings(database_url=database_url, **{**WEBHOOK_SETTINGS, **overrides})
    application = create_app(settings, registry=voices, clock=clock, resolver=resolver)
    async with LifespanManager(application):
        await application.state.runtime.engine.wait_ready()
        yield application


@pytest.fixture
def make_app(
    make_settings: Callable[..., Settings], database_url: str, voices: VoiceRegistry
) -> Callable[..., AbstractAsyncContextManager[Any]]:
    return functools.partial(_app, make_settings, database_url, voices)


async def _job_with_hook(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> str:
    response = await client.post(
        "/v1/tts/jobs", json={"text": "Hi.", "webhook_url": url}, headers=headers
    )
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


async def _delivery_when(
    client: httpx.AsyncClient,
    job_id: str,
    headers: dict[str, str],
    ready: Callable[[dict[str, Any]], bool],
    timeout: float = 30,
) -> dict[str, Any]:
    """The job's delivery as soon as `ready(delivery)` holds."""

    async def poll() -> dict[str, Any]:
        while True:  # the delivery exists once the job has finished
            deliveries = (
                await client.get(f"/v1/tts/jobs/{job_id}/webhooks", headers=headers)
            ).json()
            if deliveries and ready(deliveries[0]):
                return deliveries[0]
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


def _settled(delivery: dict[str, Any]) -> bool:
    return delivery["status"] not in ("pending", "delivering")


def _waiting_to_retry(delivery: dict[str, Any]) -> bool:
    return delivery["status"] == "pending" and len(delivery["attempts"]) == 1


async def _deliveries_settled(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str], timeout: float = 30
) -> dict[str, Any]:
    return await _delivery_when(client, job_id, headers, _settled, timeout)


async def test_two_failures_then_success_is_three_attempts_with_one_id(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = [500, 500, 200]
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)

    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert len(receiver.received) == 3
    assert len({hook.headers["webhook-id"] for hook in receiver.received}) == 1
    secret = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
    for hook in receiver.received:  # each attempt signed afresh, with its own timestamp
        Webhook(secret).verify(hook.body, hook.headers)


@pytest.mark.slow  # waits out a whole retry schedule
async def test_a_receiver_that_never_answers_gets_the_whole_schedule_and_no_more(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = ["hang"] * 3
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)

    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == 3  # the schedule has three entries
    assert all(a["status_code"] is None and "no answer" in a["error"] for a in delivery["attempts"])
    assert delivery["next_attempt_at"] is None
    job = (await client.get(f"/v1/tts/jobs/{job_id}", headers=headers)).json()
    assert job["status"] == "succeeded"
    later_job = await _job_with_hook(client, headers, receiver.url)  # after any 4th attempt
    later = await _deliveries_settled(client, later_job, headers)
    assert later["status"] == "succeeded"
    sent = Counter(hook.headers["webhook-id"] for hook in receiver.received)
    assert sent == {delivery["webhook_id"]: 3, later["webhook_id"]: 1}


@pytest.mark.slow  # several deliveries, each waiting for its turn
async def test_410_gone_abandons_everything_still_queued_for_that_url(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    release = asyncio.Event()
    come_back = (503, {"retry-after": "1"})
    receiver.script = [Hold(release, then=410), come_back, come_back]
    async with make_app(**SLOW) as app, client_for(app) as client:
        headers = {"X-API-Key": await create_key(app)}
        job_ids = [await _job_with_hook(client, headers, receiver.url) for _ in range(3)]
        await receiver.wait_for(3)  # one held, two told to come back in a second
        release.set()

        def abandoned_and_recorded(delivery: dict[str, Any]) -> bool:
            # the 410 abandons a delivery still in flight; its own attempt is recorded after
            return delivery["status"] == "abandoned" and len(delivery["attempts"]) == 1

        deliveries = [
            await _delivery_when(client, job_id, headers, abandoned_and_recorded)
            for job_id in job_ids
        ]
        codes = sorted(a["status_code"] for d in deliveries for a in d["attempts"])
        assert codes == [410, 503, 503]
        # Another URL on the same receiver, retried after the abandoned two would have been:
        receiver.script = [(503, {"retry-after": "2"})]
        later = await _job_with_hook(client, headers, receiver.url + "?later")
        assert (await _deliveries_settled(client, later, headers))["status"] == "succeeded"
    sent = Counter(hook.headers["webhook-id"] for hook in receiver.received)
    assert sorted(sent.values()) == [1, 1, 1, 2]


async def test_redirects_count_as_failures_and_are_never_followed(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    trap = Receiver()
    async with ReceiverServer(trap):
        receiver.script = [(307, {"location": trap.url})] * 3
        headers = {"X-API-Key": api_key}
        job_id = await _job_with_hook(client, headers, receiver.url)
        delivery = await _deliveries_settled(client, job_id, headers)
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [307, 307, 307]
    assert "redirect" in delivery["attempts"][0]["error"]
    assert trap.received == []


HOUR, DAY = 3600, 86400
SCHEDULED = (0.18, 0.22)  # the schedule's second delay, 0.2 s, with its jitter
RETRY_AFTER = {  # header (made when the test runs) -> the delay it must give, at least and most
    "seconds": (lambda: "120", (120, 120)),
    "http-date": (lambda: _http_date(HOUR), (HOUR - 60, HOUR)),
    "http-date-without-zone": (lambda: _http_date(HOUR, zone=False), (HOUR - 60, HOUR)),
    "http-date-in-the-past": (lambda: _http_date(-HOUR), SCHEDULED),
    "http-date-capped-at-a-day": (lambda: _http_date(2 * DAY), (DAY, DAY)),
    "seconds-capped-at-a-day": (lambda: "9" * 400, (DAY, DAY)),
}


@pytest.mark.parametrize("case", RETRY_AFTER)
async def test_retry_after_sets_the_next_attempt_up_to_a_day(
    make_app: Callable[..., Any], receiver: Receiver, case: str
) -> None:
    header, (least, most) = RETRY_AFTER[case]
    receiver.script = [(503, {"retry-after": header()})]
    clock = ManualClock()
    async with make_app(clock=clock) as app, client_for(app) as client:
        headers = {"X-API-Key": await create_key(app)}
        job_id = await _job_with_hook(client, headers, receiver.url)
        waiting = await _delivery_when(client, job_id, headers, _waiting_to_retry)
        delay = _gap(waiting["next_attempt_at"], waiting["attempts"][0]["attempted_at"])
        assert least <= delay <= most
        clock.advance(timedelta(seconds=delay))
        delivery = await _deliveries_settled(client, job_id, headers)
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]


UNREADABLE_RETRY_AFTER = [
    "soon",
    "²",  # a digit to str.isdigit(), not to float()
    "٣٠٠",  # 300 in Arabic-Indic digits: not HTTP's digits
    "1e400",
    "-5",
    "1.5",
    "Wed, 32 Foo 2024 25:61:61 GMT",
    "Mon, 01 Jan 99999 00:00:00 GMT",
]


async def test_an_unreadable_retry_after_is_ignored_and_holds_up_nothing(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    receiver.script = [(503, {"retry-after": value}) for value in UNREADABLE_RETRY_AFTER]
    other = Receiver()
    clock = ManualClock()
    async with ReceiverServer(other), make_app(clock=clock) as app, client_for(app) as client:
        headers = {"X-API-Key": await create_key(app)}
        job_ids = [
            await _job_with_hook(client, headers, receiver.url) for _ in UNREADABLE_RETRY_AFTER
        ]
        for job_id in job_ids:
            waiting = await _delivery_when(client, job_id, headers, _waiting_to_retry)
            delay = _gap(waiting["next_attempt_at"], waiting["attempts"][0]["attempted_at"])
            assert SCHEDULED[0] <= delay <= SCHEDULED[1]
        assert receiver.script == []  # every value was answered
        await _job_with_hook(client, headers, other.url)
        await other.wait_for(1, timeout=10)
        clock.advance(timedelta(seconds=1))
        for job_id in job_ids:
            delivery = await _deliveries_settled(client, job_id, headers)
            assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    headers = {"X-API-Key": api_key}
    old = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
    assert (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"] == old
    rotated = (await client.post("/v1/webhooks/secret/rotate", headers=headers)).json()
    new = rotated["secret"]
    assert new != old and rotated["previous_valid_until"] is not None

    job_id = await _job_with_hook(client, headers, receiver.url)
    await wait_for_job(client, job_id, headers, {"succeeded"})
    await receiver.wait_for(1)
    hook = receiver.received[0]
    assert len(hook.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(hook.body, hook.headers)
    Webhook(old).verify(hook.body, hook.headers)  # receivers not yet updated keep working
    shown = (await client.get("/v1/webhooks/secret", headers=headers)).json()
    assert shown == rotated


async def test_after_the_overlap_only_the_new_secret_signs(
    make_settings: Callable[..., Settings],
    database_url: str,
    voices: VoiceRegistry,
    make_key_for: Callable[..., Any],
    receiver: Receiver,
) -> None:
    settings = make_settings(
        database_url=database_url, webhook_secret_overlap_hours=0, **WEBHOOK_SETTINGS
    )
    async with running_app(settings, voices) as app, client_for(app) as client:
        headers = {"X-API-Key": await make_key_for(app)}
        old = (await client.get("/v1/webhooks/secret", headers=headers)).json()["secret"]
        new = (await client.post("/v1/webhooks/secret/rotate", headers=headers)).json()["secret"]
        job_id = await _job_with_hook(client, headers, receiver.url)
        await wait_for_job(client, job_id, headers, {"succeeded"})
        await receiver.wait_for(1)
    hook = receiver.received[0]
    Webhook(new).verify(hook.body, hook.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(hook.body, hook.headers)


def _gap(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def _http_date(seconds_from_now: float, *, zone: bool = True) -> str:
    """An HTTP date; without a zone it reads "-0000", which parses to a naive datetime."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    if zone:
        return email.utils.format_datetime(moment, usegmt=True)
    return email.utils.format_datetime(moment.replace(tzinfo=None))


async def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_deadline(
    client: httpx.AsyncClient, api_key: str, receiver: Receiver
) -> None:
    receiver.script = [Drip(interval=0.3, count=100)]  # 30 s of answer, a byte at a time
    headers = {"X-API-Key": api_key}
    job_id = await _job_with_hook(client, headers, receiver.url)
    delivery = await _deliveries_settled(client, job_id, headers)

    cut_off, retried = delivery["attempts"]
    assert (cut_off["status_code"], cut_off["error"]) == (None, "no answer within 1 s")
    assert receiver.hung_up_on == 1  # we hung up while the drip was still going
    assert 900 <= cut_off["duration_ms"] < 10_000  # about the 1 s deadline, far from 30 s
    assert (delivery["status"], retried["status_code"]) == ("succeeded", 200)


async def test_a_slow_receiver_does_not_hold_up_another_accounts_events(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    release = asyncio.Event()
    receiver.script = [Hold(release)]
    healthy = Receiver()
    async with ReceiverServer(healthy), make_app(**SLOW) as app, client_for(app) as client:
        slow_headers = {"X-API-Key": await create_key(app, "slow@example.com")}
        healthy_headers = {"X-API-Key": await create_key(app, "healthy@example.com")}
        slow_job = await _job_with_hook(client, slow_headers, receiver.url)
        await receiver.wait_for(1)
        healthy_job = await _job_with_hook(client, healthy_headers, healthy.url)
        await healthy.wait_for(1, timeout=10)  # well inside the slow one's 20 s deadline

        slow = await _delivery_when(client, slow_job, slow_headers, lambda _: True)
        assert (slow["status"], slow["attempts"]) == ("delivering", [])  # still in flight
        release.set()
        for job_id, headers in [(slow_job, slow_headers), (healthy_job, healthy_headers)]:
            delivery = await _deliveries_settled(client, job_id, headers)
            assert [a["status_code"] for a in delivery["attempts"]] == [200]


async def test_one_receiver_gets_only_a_few_deliveries_at_once(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    release = asyncio.Event()
    count = MAX_PER_DESTINATION + 1
    receiver.script = [Hold(release)] * count
    other = Receiver()
    async with ReceiverServer(other), make_app(**SLOW) as app, client_for(app) as client:
        headers = {"X-API-Key": await create_key(app)}
        job_ids = [await _job_with_hook(client, headers, receiver.url) for _ in range(count)]
        for job_id in job_ids:  # every delivery is due from here on
            await wait_for_job(client, job_id, headers, {"succeeded"})
        await receiver.wait_for(MAX_PER_DESTINATION)
        await _job_with_hook(client, headers, other.url)
        await other.wait_for(1)  # due after the held-back one, sent before it
        assert len(receiver.received) == MAX_PER_DESTINATION
        release.set()
        for job_id in job_ids:
            assert (await _deliveries_settled(client, job_id, headers))["status"] == "succeeded"
    assert len({hook.headers["webhook-id"] for hook in receiver.received}) == count


class LoopbackDns:
    """Every host name is this machine: many receivers' names, one real receiver."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


async def test_one_account_gets_only_its_share_however_many_hosts_it_uses(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    release = asyncio.Event()
    count = MAX_PER_ACCOUNT + 2  # each to a host of its own: the per-host limit never binds
    receiver.script = [Hold(release)] * count
    other = Receiver()
    async with (
        ReceiverServer(other),
        make_app(resolver=LoopbackDns(), **SLOW) as app,
        client_for(app) as client,
    ):
        greedy = {"X-API-Key": await create_key(app, "greedy@example.com")}
        urls = [f"http://host{i}.example.test:{receiver.port}/hook" for i in range(count)]
        job_ids = [await _job_with_hook(client, greedy, url) for url in urls]
        for job_id in job_ids:
            await wait_for_job(client, job_id, greedy, {"succeeded"})
        await receiver.wait_for(MAX_PER_ACCOUNT)
        polite = {"X-API-Key": await create_key(app, "polite@example.com")}
        await _job_with_hook(client, polite, other.url)
        await other.wait_for(1)  # sent while the greedy account's share is all in flight
        assert len(receiver.received) == MAX_PER_ACCOUNT
        release.set()
        for job_id in job_ids:
            assert (await _deliveries_settled(client, job_id, greedy))["status"] == "succeeded"
    assert len({hook.headers["webhook-id"] for hook in receiver.received}) == count


class ChangingDns:
    """DNS whose answer changes (rebinding): each answer in turn, then the last one for good."""

    def __init__(self, *answers: str) -> None:
        self._answers = list(answers)

    async def resolve(self, host: str, port: int) -> list[str]:
        return [self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]]


async def test_a_name_that_turns_private_after_submission_is_refused_at_delivery(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    dns = ChangingDns("93.184.215.14", "127.0.0.1")  # public when submitted, then our loopback
    url = f"http://hooks.rebinding.test:{receiver.port}/hooks/vocalis"
    async with make_app(resolver=dns, webhook_allow_private=False) as app, client_for(app) as c:
        headers = {"X-API-Key": await create_key(app)}
        delivery = await _deliveries_settled(c, await _job_with_hook(c, headers, url), headers)

    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [None, None, None]
    assert all("loopback address 127.0.0.1" in a["error"] for a in delivery["attempts"])
    assert receiver.received == []  # listening on that very address, it heard nothing


async def test_a_delivery_connects_to_the_address_that_was_checked(
    make_app: Callable[..., Any], receiver: Receiver
) -> None:
    url = f"http://hooks.vocalis.invalid:{receiver.port}/hooks/vocalis"  # unknown to real DNS
    async with make_app(resolver=ChangingDns("127.0.0.1")) as app, client_for(app) as client:
        headers = {"X-API-Key": await create_key(app)}
        job_id = await _job_with_hook(client, headers, url)
        delivery = await _deliveries_settled(client, job_id, headers)

    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    (hook,) = receiver.received
    assert hook.headers["host"] == f"hooks.vocalis.invalid:{receiver.port}"
