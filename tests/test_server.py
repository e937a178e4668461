"""End to end over real HTTP: migrate, get a key, start `vocalis serve`, ask it to speak —
and stop it, gently or not, in the middle of a request."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.helpers import charged, decode_wav, transcribe, word_recall
from tests.servers import free_port
from vocalis.kit.db import Database
from vocalis.usage.models import QuotaReservation, UsageEvent

pytestmark = pytest.mark.slow  # real server processes, killed and stopped


def _vocalis(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vocalis", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'vocalis.db'}",
        "VOCALIS_STORAGE_PATH": str(tmp_path / "storage"),
        "VOCALIS_DEV_KEY_FILE": str(tmp_path / "dev-api-key"),
        "VOCALIS_VOICES_DIR": str(tmp_path / "voices"),
        **{f"VOCALIS_{name.upper()}": value for name, value in settings.items()},
    }


def _start_serving(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`vocalis serve` on a free port, once it says it is ready."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vocalis", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail("server never became ready")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = _environment(tmp_path)
    _vocalis("db", "upgrade", env=env)
    key = _vocalis("dev-key", env=env).stdout.strip().splitlines()[-1]
    process, base = _start_serving(env)
    try:
        yield base, key
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert "Application shutdown complete" in output  # a graceful stop, not a kill


def test_served_speech_says_the_words_sent(server: tuple[str, str]) -> None:
    base, key = server
    text = "Hello from a fresh clone. Please call me tomorrow morning."
    response = httpx.post(
        f"{base}/v1/tts",
        json={"text": text},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    audio = decode_wav(response.content)
    assert audio.sample_rate == 22050 and audio.duration > 2
    assert word_recall(text, transcribe(audio.samples, audio.sample_rate)) >= 0.75

    refused = httpx.post(f"{base}/v1/tts", json={"text": text}, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "missing_api_key"


LONG_TEXT = " ".join(
    f"Sentence number {index} is here to keep the voice busy for quite a while."
    for index in range(60)
)


class _Books:
    """The test's view of the server's database: quota counters, reservations, usage."""

    def __init__(self, env: dict[str, str]) -> None:
        self.database = Database(env["VOCALIS_DATABASE_URL"])

    async def state(self) -> tuple[int, int, int]:
        """(characters charged, audio ms charged, reservation rows)."""
        chars, audio_ms = await charged(self.database)
        async with self.database.session() as session:
            held = await session.scalar(select(func.count()).select_from(QuotaReservation))
        return chars, audio_ms, held or 0

    async def outcomes(self) -> list[tuple[str, int, str | None]]:
        async with self.database.session() as session:
            rows = await session.execute(
                select(UsageEvent.endpoint, UsageEvent.status_code, UsageEvent.outcome)
            )
        return [tuple(row) for row in rows]

    async def wait_for(self, wanted: tuple[int, int, int] | None, timeout: float = 60) -> None:
        """Until the state is `wanted` (None: until something is reserved)."""

        async def poll() -> None:
            while True:
                state = await self.state()
                if (state == wanted) if wanted is not None else state[2] > 0:
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(poll(), timeout)


async def _request_in_background(
    base: str, key: str
) -> asyncio.Task[httpx.Response | httpx.TransportError]:
    async def speak() -> httpx.Response | httpx.TransportError:
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                return await client.post(
                    f"{base}/v1/tts",
                    json={"text": LONG_TEXT},
                    headers={"Authorization": f"Bearer {key}"},
                )
        except httpx.TransportError as gone:
            return gone

    return asyncio.create_task(speak())


def _fresh_server(
    tmp_path: Path, **settings: str
) -> tuple[dict[str, str], subprocess.Popen[str], str, str]:
    """A migrated database, a development key, and `vocalis serve` on them."""
    env = _environment(tmp_path, inference_concurrency="1", **settings)
    _vocalis("db", "upgrade", env=env)
    key = _vocalis("dev-key", env=env).stdout.strip().splitlines()[-1]
    process, base = _start_serving(env)
    return env, process, base, key


async def test_sigterm_mid_request_stops_within_the_grace_period_and_refunds(
    tmp_path: Path,
) -> None:
    env, process, base, key = _fresh_server(tmp_path, shutdown_grace_seconds="1")
    books = _Books(env)
    try:
        request = await _request_in_background(base, key)
        await books.wait_for(None)  # reserved: the voice is at work on a minutes-long text
        assert (await books.state())[0] == len(LONG_TEXT)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(asyncio.to_thread(process.communicate), 30)
        assert process.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises it
        assert "Application shutdown complete" in output
        answer = await request
        assert isinstance(answer, httpx.Response)
        assert (answer.status_code, answer.json()["code"]) == (503, "shutting_down")
        assert answer.headers["retry-after"]
        assert await books.state() == (0, 0, 0)  # refunded, nothing left held
        assert await books.outcomes() == [("/v1/tts", 503, "interrupted")]  # exactly one
    finally:
        if process.poll() is None:
            process.kill()
        await books.database.dispose()


async def test_a_request_of_a_killed_server_is_given_back_by_the_next_one(
    tmp_path: Path,
) -> None:
    env, process, base, key = _fresh_server(tmp_path, reservation_lease_seconds="1")
    books = _Books(env)
    try:
        request = await _request_in_background(base, key)
        await books.wait_for(None)
        process.kill()  # SIGKILL: no shutdown code runs
        process.communicate(timeout=30)
        assert isinstance(await request, httpx.TransportError)
        chars, _, held = await books.state()
        assert (chars, held) == (len(LONG_TEXT), 1)  # charged, and the row says by whom

        process, _ = _start_serving(env)  # the next server sweeps it once the lease is over
        await books.wait_for((0, 0, 0))
        assert await books.outcomes() == [("/v1/tts", 503, "interrupted")]  # exactly one
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        await books.database.dispose()
