"""SIGTERM, as an orchestrator sends it on every deploy: `vocalis serve` stops taking connections
at once, lets a stream that is already playing finish within the grace period, hands the inline
worker's running job back to the queue, and exits 0. Real processes, real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.helpers import decode
from tests.servers import free_port

pytestmark = pytest.mark.slow  # real server processes

SENTENCES = 24
STREAM_TEXT = " ".join(
    f"Sentence number {index} keeps the voice busy for a little while longer."
    for index in range(1, SENTENCES + 1)
)
JOB_TEXT = "This is one of many sentences that keep the worker busy for a while. " * 30


def _environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A production configuration that passes every check (SQLite allowed by name)."""
    return {
        **os.environ,
        "VOCALIS_ENV": "production",
        "VOCALIS_KEY_PEPPER": "shutdown-test-pepper-" + "p" * 24,
        "VOCALIS_PUBLIC_URL": "https://tts.example.com",
        "VOCALIS_SIGNUP": "closed",  # no mail service needed
        "VOCALIS_ALLOW_SQLITE_IN_PRODUCTION": "true",
        "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'vocalis.db'}",
        "VOCALIS_STORAGE_PATH": str(tmp_path / "storage"),
        "VOCALIS_VOICES_DIR": str(tmp_path / "voices"),
        "VOCALIS_DEVICE": "cpu",
        "VOCALIS_INFERENCE_CONCURRENCY": "1",
        "VOCALIS_CACHE_MAX_BYTES": "0",  # every request speaks
        **{f"VOCALIS_{name.upper()}": value for name, value in settings.items()},
    }


def _vocalis(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vocalis", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _prepared(env: dict[str, str]) -> str:
    """A migrated database with an account and a key (dev-key is refused in production)."""
    _vocalis("db", "upgrade", env=env)
    _vocalis("accounts", "create", "--email", "ops@example.com", env=env)
    out = _vocalis(
        "keys", "create", "--account", "ops@example.com", "--scopes", "tts,jobs", env=env
    )
    return out.strip().splitlines()[-1]


class Server:
    """`vocalis serve` on a free port, its output in a file (a pipe nobody reads could fill)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vocalis", "serve", "--port", str(self.port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.process.kill()
        pytest.fail(f"the server never became ready:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def exit_code(self, timeout: float) -> int:
        return await asyncio.to_thread(self.process.wait, timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


async def _refuses_new_connections(base: str, within: float) -> bool:
    """Whether a fresh connection to `base` is refused before `within` seconds pass. One that
    the kernel accepted as the server closed its socket, then closed unanswered, is refused too."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            async with httpx.AsyncClient(timeout=2) as fresh:
                await fresh.get(f"{base}/health")
        except (httpx.ConnectError, httpx.RemoteProtocolError):
            return True
        await asyncio.sleep(0.05)
    return False


def _usage(database: Path) -> list[tuple[str, int, str | None, int, int]]:
    with closing(sqlite3.connect(database)) as db:
        return db.execute(
            "SELECT endpoint, status_code, outcome, audio_ms, audio_bytes FROM usage_events"
        ).fetchall()


async def test_sigterm_lets_a_playing_stream_finish_and_refuses_new_connections(
    tmp_path: Path, servers: list[Server]
) -> None:
    env = _environment(tmp_path, shutdown_grace_seconds="120")
    key = _prepared(env)
    server = Server(env, tmp_path / "serve.log")
    servers.append(server)

    body = {"text": STREAM_TEXT, "format": "wav"}
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(timeout=120) as client,
        client.stream("POST", f"{server.base}/v1/tts/stream", json=body, headers=headers) as answer,
    ):
        assert answer.status_code == 200
        chunks = answer.aiter_raw()
        received = [await anext(chunks)]  # the first sentence is playing
        server.process.send_signal(signal.SIGTERM)

        async def rest() -> None:
            received.extend([chunk async for chunk in chunks])

        reading = asyncio.create_task(rest())
        refused = await _refuses_new_connections(server.base, within=10)
        still_streaming = not reading.done()
        await reading  # raises if the server cut the stream short

    assert refused, "a new connection was accepted after SIGTERM"
    assert still_streaming, "the stream ended before new connections were refused"
    assert await server.exit_code(timeout=60) == 0, server.output()
    assert "Application shutdown complete" in server.output()

    audio = b"".join(received)
    assert audio.count(b"RIFF") == 1 and audio[4:8] == b"\xff\xff\xff\xff"  # one stream header
    decoded = decode(audio)
    assert decoded.sample_rate == 22050 and decoded.rms > 0.01
    [(endpoint, status, outcome, audio_ms, audio_bytes)] = _usage(tmp_path / "vocalis.db")
    assert (endpoint, status, outcome) == ("/v1/tts/stream", 200, "completed")
    assert audio_bytes == len(audio)  # every byte the server made arrived
    assert abs(decoded.duration * 1000 - audio_ms) <= 50  # the whole text, spoken to the end
    assert audio_ms > SENTENCES * 2000  # some 3 s a sentence: all of them, not the first alone


async def test_sigterm_hands_the_inline_worker_s_running_job_back(
    tmp_path: Path, servers: list[Server]
) -> None:
    env = _environment(tmp_path, worker_shutdown_grace_seconds="0.5", worker_poll_seconds="0.1")
    key = _prepared(env)
    server = Server(env, tmp_path / "serve-1.log")
    servers.append(server)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.base, timeout=30, headers=headers) as client:
        job_id = (await client.post("/v1/tts/jobs", json={"text": JOB_TEXT})).json()["job_id"]

        async def status() -> str:
            return (await client.get(f"/v1/tts/jobs/{job_id}")).json()["status"]

        deadline = time.monotonic() + 60
        while await status() != "running":
            assert time.monotonic() < deadline, "the job never started"
            await asyncio.sleep(0.1)
    server.process.send_signal(signal.SIGTERM)
    assert await server.exit_code(timeout=60) == 0, server.output()

    with closing(sqlite3.connect(tmp_path / "vocalis.db")) as db:
        row = db.execute(
            "SELECT status, attempts, lease_owner FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
    assert row == ("queued", 0, None)  # handed back untouched: not failed, not counted

    again = Server(env, tmp_path / "serve-2.log")  # the next server finishes it
    servers.append(again)
    async with httpx.AsyncClient(base_url=again.base, timeout=30, headers=headers) as client:
        deadline = time.monotonic() + 120
        while (job := (await client.get(f"/v1/tts/jobs/{job_id}")).json())["status"] != (
            "succeeded"
        ):
            assert job["status"] in ("queued", "running"), job
            assert time.monotonic() < deadline, "the handed-back job was never finished"
            await asyncio.sleep(0.2)
        assert job["attempts"] == 1
    again.process.send_signal(signal.SIGTERM)
    assert await again.exit_code(timeout=60) == 0
