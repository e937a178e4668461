"""Secrets masked in text that leaves the process: error messages and log lines."""

import logging
import time

import pytest

from vocalis.accounts.keys import generate_api_key
from vocalis.kit.redact import RedactingFilter, redact
from vocalis.webhooks.signing import new_signing_secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql+asyncpg://user:s3cret@db:5432/x", "postgresql+asyncpg://user:***@db:5432/x"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("input_value='mysql://u:p@ss@db/x', next", "input_value='mysql://u:***@db/x', next"),
        ("GET /health?api_key=abc&lang=en HTTP/1.1", "GET /health?api_key=***&lang=en HTTP/1.1"),
        ("/x?a=1&Token=t0k&access_token=z#f", "/x?a=1&Token=***&access_token=***#f"),
        ("/x?password=p&secret=s;key=k", "/x?password=***&secret=***;key=***"),
    ],
)
def test_passwords_and_secret_parameters_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_keys_and_webhook_secrets_are_masked_anywhere() -> None:
    key, secret = generate_api_key(), new_signing_secret()
    text = f"client sent {key} (or {key[:-3]}), signed with {secret}."
    assert redact(text) == "client sent sk_live_*** (or sk_live_***), signed with whsec_***."


@pytest.mark.parametrize(
    "text",
    [
        "https://tts.example.com:8443/v1/tts?voice=en_US&keyboard=1",
        "POST /v1/tts HTTP/1.1 200",
        "key sk_live_abcd… shown as a prefix",  # the display prefix is not a secret
        "sqlite+aiosqlite:///./data/vocalis.db",
    ],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_the_logging_filter_masks_arguments_and_keeps_their_types() -> None:
    key = generate_api_key()
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/health?api_key={key}", "1.1", 200), None,
    )  # fmt: skip
    assert RedactingFilter().filter(record)
    assert record.args is not None and record.args[-1] == 200  # uvicorn unpacks them: still five
    assert record.getMessage() == '127.0.0.1:5000 - "GET /health?api_key=*** HTTP/1.1" 200'


def test_the_logging_filter_masks_tracebacks() -> None:
    key = generate_api_key()
    logger = logging.getLogger("tests.redact")
    handler = _Collect()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"refused {key}")
        except RuntimeError:
            logger.exception("request failed for %s", key)
    finally:
        logger.removeHandler(handler)
    (line,) = handler.lines
    assert key not in line and "sk_live_***" in line and "RuntimeError: refused" in line


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("unit", ["a://:", "a://x:y", "?api_key=", "sk_live_", "x://u:p@@"])
def test_masking_is_linear_in_the_line(unit: str) -> None:
    """Log lines carry client input (a query string): a pattern that rescans the rest of the
    line from every "scheme://x:" froze a server for seconds on one 64 KB request line."""

    def seconds(text: str) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.thread_time()
            redact(text)
            best = min(best, time.thread_time() - started)
        return best

    small, large = unit * (8000 // len(unit)), unit * (64000 // len(unit))
    assert seconds(large) / max(seconds(small), 1e-3) <= 12  # 8 times the text: linear
