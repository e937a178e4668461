"""End to end over real HTTP: migrate, get a key, start `vocalis serve`, ask it to speak."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import decode_wav, transcribe, word_recall
from tests.servers import free_port


def _vocalis(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vocalis", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = {
        **os.environ,
        "VOCALIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'vocalis.db'}",
        "VOCALIS_STORAGE_PATH": str(tmp_path / "storage"),
        "VOCALIS_DEV_KEY_FILE": str(tmp_path / "dev-api-key"),
        "VOCALIS_VOICES_DIR": str(tmp_path / "voices"),
    }
    _vocalis("db", "upgrade", env=env)
    key = _vocalis("dev-key", env=env).stdout.strip().splitlines()[-1]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vocalis", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("server never became ready")
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
