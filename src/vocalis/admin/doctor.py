"""`vocalis doctor`: the effective configuration, with secrets masked, and a check of each part
it names — database, storage, voices, rate-limit storage, Stripe, Resend — one line each.

Every check answers with a `Check` and never raises: a broken part is a FAIL line with the
reason, never a trace. No line quotes a secret (`redact` masks passwords in URLs and keys).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from vocalis.config import Settings
from vocalis.engine import SpeechEngine
from vocalis.kit import migrations
from vocalis.kit.db import Database
from vocalis.kit.redact import redact

NETWORK_TIMEOUT_SECONDS = 10.0
MAX_REASON_CHARS = 200
SECRET_SHOWN = "****"

Outcome = Literal["ok", "FAIL", "skipped"]


@dataclass(frozen=True)
class Check:
    """One line of the report: which part, how it went, and why, briefly."""

    name: str
    outcome: Outcome
    detail: str

    @property
    def failed(self) -> bool:
        return self.outcome == "FAIL"

    def line(self) -> str:
        return f"{self.outcome:<8} {self.name}: {self.detail}"


# --- the configuration --------------------------------------------------------------------------


def effective_configuration(settings: Settings) -> list[str]:
    """Every setting as `VOCALIS_NAME = value`, secrets as `****` (set) or (unset), passwords in
    URLs masked; `(default)` marks what nobody set."""
    lines = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        shown = _shown(value)
        if name not in settings.model_fields_set:
            shown += "  (default)"
        lines.append(f"VOCALIS_{name.upper()} = {shown}")
    return lines


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return f"{SECRET_SHOWN} (set)" if value.get_secret_value() else "(set, empty)"
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return redact(str(value))


def check_configuration(problems: list[str], settings: Settings) -> list[Check]:
    """One FAIL line per problem the settings have as a whole (production's included)."""
    if problems:
        return [Check("configuration", "FAIL", problem) for problem in problems]
    return [Check("configuration", "ok", f"no problems found for VOCALIS_ENV={settings.env}")]


# --- the parts ----------------------------------------------------------------------------------


async def check_database(database: Database, timeout: float) -> Check:
    """Reachable, and migrated to the revision this version of Vocalis expects."""
    name = "database"
    try:
        async with asyncio.timeout(timeout):
            current = await migrations.current_revision(database.engine)
    except TimeoutError:
        return Check(name, "FAIL", f"no answer within {timeout:g} s")
    except Exception as exc:  # noqa: BLE001 - drivers raise their own types; the reason is shown
        return Check(name, "FAIL", f"unreachable: {_reason(exc)}")
    head = migrations.head_revision()
    kind = "SQLite" if database.is_sqlite else "PostgreSQL"
    if current == head:
        return Check(name, "ok", f"{kind} reachable, at the newest revision ({head})")
    if current is None:
        return Check(name, "FAIL", f"{kind} reachable but not migrated: run 'vocalis db upgrade'")
    if not migrations.is_known_revision(current):
        return Check(
            name,
            "FAIL",
            f"{kind} at revision {current}, which this version does not know (a newer Vocalis "
            "migrated it?)",
        )
    return Check(
        name, "FAIL", f"{kind} at revision {current}, not {head}: run 'vocalis db upgrade'"
    )


def check_storage(path: Path) -> Check:
    """The storage directory takes a file (blocking: run it in a thread). Like the server, it
    makes the directory when there is none yet."""
    name = "storage"
    path = path.expanduser()
    probe = path / f".doctor-{secrets.token_hex(4)}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check(name, "FAIL", f"{path} is not writable ({exc.strerror or exc})")
    return Check(name, "ok", f"{path} is writable")


async def check_voices(make_engine: Callable[[], SpeechEngine]) -> Check:
    """The voices load as the server would load them (no synthesis), the default among them."""
    name = "voices"
    try:
        engine = make_engine()
        registry = engine.registry
        await asyncio.to_thread(registry.load, engine.device)
    except Exception as exc:  # noqa: BLE001 - a missing runtime, a bad device setting, …
        return Check(name, "FAIL", f"could not load: {_reason(exc)}")
    loaded = [voice.id for voice in registry.voices()]
    if not registry.has_default:
        listed = ", ".join(loaded) or "none"
        return Check(
            name, "FAIL", f"the default voice {registry.default_voice} is not loaded (loaded: "
            f"{listed}); set VOCALIS_DEFAULT_VOICE or add its files to VOCALIS_VOICES_DIR",
        )  # fmt: skip
    default = registry.get(None)
    where = "GPU" if registry.on_gpu else "CPU"
    return Check(
        name,
        "ok",
        f"{len(loaded)} loaded on the {where}; default {default.id} ({default.language}, "
        f"{default.sample_rate} Hz)",
    )


async def check_rate_limit_storage(uri: str, timeout: float) -> Check:
    """Shared rate-limit storage (Redis) answers a PING; memory needs no check."""
    name = "rate-limit storage"
    if uri.removeprefix("async+").startswith("memory://"):
        return Check(name, "skipped", "kept in this process's memory (memory://)")
    from limits.storage import storage_from_string

    shown = redact(uri)
    try:
        storage = storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")
        async with asyncio.timeout(timeout):
            answered = await storage.check()
    except TimeoutError:
        return Check(name, "FAIL", f"no answer from {shown} within {timeout:g} s")
    except Exception as exc:  # noqa: BLE001 - an unknown scheme, a missing driver, …
        return Check(name, "FAIL", f"{shown}: {_reason(exc)}")
    if not answered:
        return Check(name, "FAIL", f"no answer from {shown}")
    return Check(name, "ok", f"{shown} answers")


async def check_stripe(settings: Settings, timeout: float) -> Check:
    """With billing configured: Stripe (at VOCALIS_STRIPE_API_BASE) accepts the secret key, asked
    for the account's balance: a read that changes nothing."""
    name = "stripe"
    if settings.stripe_secret_key is None:
        return Check(name, "skipped", "billing is not configured (no VOCALIS_STRIPE_SECRET_KEY)")
    import stripe

    from vocalis.billing.stripe_api import StripeGateway

    base = redact(settings.stripe_api_base.rstrip("/"))
    gateway = StripeGateway(
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_api_base,
        timeout=timeout,
        max_network_retries=0,
    )
    try:
        async with asyncio.timeout(timeout + 1):
            balance = await gateway.v1.balance.retrieve_async()
    except TimeoutError:
        return Check(name, "FAIL", f"no answer from {base} within {timeout:g} s")
    except stripe.AuthenticationError:
        return Check(name, "FAIL", f"{base} refused the secret key (401)")
    except stripe.APIConnectionError:
        return Check(name, "FAIL", f"no answer from {base}")
    except stripe.StripeError as error:
        status = getattr(error, "http_status", None) or "nothing"
        return Check(name, "FAIL", f"{base} answered {status}: {_stripe_reason(error)}")
    mode = "live" if getattr(balance, "livemode", False) else "test"
    return Check(name, "ok", f"{base} accepted the secret key ({mode} mode)")


def _stripe_reason(error: Any) -> str:
    return redact(str(getattr(error, "user_message", None) or type(error).__name__))[
        :MAX_REASON_CHARS
    ]


async def check_resend(settings: Settings, timeout: float) -> Check:
    """With a Resend key: Resend (at VOCALIS_RESEND_API_BASE) accepts it, and the sender's domain
    is verified there. A sending-only key cannot list domains; it passes on the key alone."""
    name = "resend"
    key = settings.resend_api_key
    if key is None:
        return Check(name, "skipped", "mail goes to the log (no VOCALIS_RESEND_API_KEY)")
    base = settings.resend_api_base.rstrip("/")
    shown = redact(base)
    headers = {"Authorization": f"Bearer {key.get_secret_value()}", "User-Agent": "vocalis-doctor"}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(f"{base}/domains", headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:  # unreachable, or no URL
        return Check(name, "FAIL", f"no answer from {shown} ({type(exc).__name__})")
    body = _json_of(response)
    if response.status_code in (401, 403) and body.get("name") == "restricted_api_key":
        return Check(name, "ok", f"{shown} accepted the key (sending only: domains not checked)")
    if response.status_code in (401, 403):
        return Check(name, "FAIL", f"{shown} refused the key ({response.status_code})")
    if response.status_code != 200:
        return Check(name, "FAIL", f"{shown} answered {response.status_code}")
    sender = parseaddr(settings.mail_from)[1].rpartition("@")[2].lower()
    domains = {
        str(domain.get("name", "")).lower(): str(domain.get("status", ""))
        for domain in body.get("data") or []
        if isinstance(domain, dict)
    }
    status = domains.get(sender)
    if status == "verified":
        return Check(
            name, "ok", f"{shown} accepted the key; the sender's domain {sender} is verified"
        )
    listed = ", ".join(f"{domain} ({state})" for domain, state in sorted(domains.items()))
    return Check(
        name,
        "FAIL",
        f"the sender's domain {sender or '(none)'} is "
        f"{'not verified' if status else 'not in this account'} in Resend (its domains: "
        f"{listed or 'none'}); mail from VOCALIS_MAIL_FROM would be refused",
    )


def _json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(exc: BaseException) -> str:
    """The first line of an error, masked and short (SQLAlchemy adds a second line of links)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact(text)[:MAX_REASON_CHARS]


# --- all of it ----------------------------------------------------------------------------------


async def run_checks(
    settings: Settings,
    *,
    problems: list[str],
    database: Database,
    make_engine: Callable[[], SpeechEngine],
    timeout: float = NETWORK_TIMEOUT_SECONDS,
) -> list[Check]:
    """Every check, in a fixed order; the slow ones (voices, networks) run at once."""
    parts = await asyncio.gather(
        check_database(database, max(timeout, settings.database_connect_timeout_seconds)),
        asyncio.to_thread(check_storage, settings.storage_path),
        check_voices(make_engine),
        check_rate_limit_storage(settings.rate_limit_storage, timeout),
        check_stripe(settings, timeout),
        check_resend(settings, timeout),
    )
    return [*check_configuration(problems, settings), *parts]
