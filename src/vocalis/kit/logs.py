"""Console logging for `vocalis serve`, `vocalis worker` and the CLI: one JSON object per line in
production, readable lines in development, and never a secret in either.

`VOCALIS_LOG_FORMAT` chooses: `json`, `text`, or `auto` (json when `VOCALIS_ENV=production`).
A record may carry fields of its own (`extra={FIELDS: {...}}`): top-level keys of its JSON
object, `key=value` pairs after a text line. Every request is logged once, on `vocalis.access`,
by the request middleware; uvicorn's own access log, which knows less, is silenced.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import IO, Any

from vocalis.config import Settings
from vocalis.kit.redact import RedactingFilter, redact

FIELDS = "vocalis_fields"  # the attribute of a record that holds its own fields
IN_MESSAGE = "vocalis_in_message"  # names of those fields its message says already (text omits)
ACCESS_LOGGER = "vocalis.access"
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
KEY_LABEL_CHARS = 12  # of a key id in a log line: `key_` and 8 characters, enough to tell apart
# uvicorn's loggers get their own handlers (inside uvicorn.run, after this) and do not propagate
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
QUIET_LOGGERS = ("alembic", "httpx")  # readiness probes read the revision; every webhook is a call
_OURS = "_vocalis_handler"


def json_lines(settings: Settings) -> bool:
    if settings.log_format == "auto":
        return settings.env == "production"
    return settings.log_format == "json"


def key_label(key_id: str) -> str:
    """A key's id as a log line names it: its start, enough to find the key, never all of it."""
    return key_id[:KEY_LABEL_CHARS]


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...fields, "exception"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if fields:
            entry.update(fields)
        if record.exc_info or record.exc_text:
            # RedactingFilter has put the masked trace in exc_text; mask it here otherwise.
            entry["exception"] = record.exc_text or redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message key=value …`: the record's fields follow its message (those it
    says already, and those without a value, left out)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        fields = getattr(record, FIELDS, None)
        if not fields:
            return line
        said = getattr(record, IN_MESSAGE, ())
        pairs = " ".join(
            f"{name}={value}"
            for name, value in fields.items()
            if value is not None and name not in said
        )
        return f"{line} {pairs}"


class _Silenced(logging.Filter):
    """Drops every record of the logger it is put on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Log to `stream` (stderr) at `VOCALIS_LOG_LEVEL`, in the format `VOCALIS_LOG_FORMAT`
    chooses, with every secret masked: a key a client put in the query string (`?api_key=`)
    must not reach a log line. Called again, it replaces the handler it added before. Returns
    the handler."""
    root = logging.getLogger()
    for old in [handler for handler in root.handlers if getattr(handler, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream)
    setattr(handler, _OURS, True)
    handler.setFormatter(JsonFormatter() if json_lines(settings) else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    redacting = RedactingFilter()
    for each in root.handlers:  # every record that propagates: vocalis.* etc.
        if not any(isinstance(known, RedactingFilter) for known in each.filters):
            each.addFilter(redacting)
    for name in UVICORN_LOGGERS:  # a logger's filter sees the records logged on it directly
        logger = logging.getLogger(name)
        # Ours alone: a uvicorn started with its own logging config (an embedded server) gives
        # its loggers handlers of their own and stops them propagating to ours.
        for own in list(logger.handlers):
            logger.removeHandler(own)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        if not any(isinstance(known, RedactingFilter) for known in logger.filters):
            logger.addFilter(redacting)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(known, _Silenced) for known in access.filters):
        access.addFilter(_Silenced())  # `vocalis.access` says more, once per request
    return handler
