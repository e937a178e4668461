"""Masking secrets in text that leaves the process: error messages, log lines.

Operators paste configuration errors and logs into tickets and chats, so neither may carry a
database password, an API key or a webhook signing secret. `redact` replaces them with `***`
and keeps enough around them (`user:***@host`, `api_key=***`, `sk_live_***`) to show where
the secret was.

The key shape mirrors `vocalis.accounts.keys.KEY_PATTERN`, which this module cannot import (kit
depends on nothing above it); it is deliberately looser, so a mistyped or truncated key, which
still gives most of a real one away, is masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
SECRET_QUERY_NAMES = ("api_key", "key", "token", "access_token", "password", "secret")

# scheme://user:password@host: the password runs to the last "@" before the path, so one
# containing an unescaped "@" is masked whole. It may not run past a "/", "?" or "#": a pattern
# free to scan to the end of the line from every "scheme://x:" would be quadratic in it.
URL_PASSWORD = re.compile(r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/?#]*(?=@)")
SECRET_QUERY = re.compile(
    rf"(?P<keep>[?&;](?:{'|'.join(SECRET_QUERY_NAMES)})=)[^&;#\s\"']*", re.IGNORECASE
)
API_KEY = re.compile(r"(?P<keep>sk_live_)[0-9A-Za-z]{8,}")
WEBHOOK_SECRET = re.compile(r"(?P<keep>whsec_)[0-9A-Za-z+/=]{8,}")

PATTERNS = (URL_PASSWORD, SECRET_QUERY, API_KEY, WEBHOOK_SECRET)


def redact(text: str, patterns: Iterable[re.Pattern[str]] = PATTERNS) -> str:
    """`text` with every match of `patterns` masked; a pattern's `keep` group stays readable."""
    for pattern in patterns:
        text = pattern.sub(_mask, text)
    return text


def _mask(match: re.Match[str]) -> str:
    keep = match.groupdict().get("keep") or ""
    return keep + MASK


# A record logged with `extra={UNREDACTED: True}` is let through as it is: development mail
# written to the log, whose links a developer must be able to follow.
UNREDACTED = "vocalis_unredacted"


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in a record before any handler formats it.

    Arguments are masked one by one rather than merged into the message, because formatters
    such as uvicorn's access-log formatter unpack them; a traceback is formatted and masked
    here too, since it quotes whatever the failing code held."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, UNREDACTED, False):
            return True
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_arg(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return True


_TRACEBACKS = logging.Formatter()


def _redact_arg(value: Any) -> Any:
    """Strings are masked; numbers stay numbers for %d; other objects only change if their text
    holds a secret (then they become that masked text)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    masked = redact(text)
    return value if masked == text else masked
