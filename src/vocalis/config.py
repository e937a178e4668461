"""The one `Settings` object.

Values are layered, lowest first: built-in defaults → TOML file (`VOCALIS_CONFIG` or `--config`)
→ `VOCALIS_*` environment variables → CLI flags (passed to `load_settings` as keyword arguments).
"""

from __future__ import annotations

import ipaddress
import os
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vocalis.kit.redact import redact

DEVELOPMENT_PEPPER = "vocalis-development-pepper-change-me"
MIN_PEPPER_BYTES = 32
MIN_METRICS_TOKEN_BYTES = 32
DEVELOPMENT_MAIL_DOMAIN = "vocalis.local"
DEFAULT_VOICE = "en_US-joe-medium"


class ConfigError(Exception):
    """The configuration cannot be used (missing file, unsafe production secrets).

    Its message is safe to print: it never quotes a secret or a URL's password."""


class SettingsProblems(ValueError):
    """Settings that do not work together, or are unsafe in production: every one of them,
    one sentence each, so that an operator fixes them all in one go."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    """Everything an operator can tune; every field has a working default."""

    model_config = SettingsConfigDict(env_prefix="VOCALIS_", extra="forbid", toml_file=None)
    # False for `load_settings(check=False)`: `vocalis doctor` shows the problems, not a refusal
    refuse_problems: ClassVar[bool] = True

    env: Literal["development", "production"] = Field(
        "development",
        description="production refuses to start with development secrets, a half-configured "
        "Stripe or Resend, no https public URL, or SQLite (see `vocalis doctor`)",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="json: one JSON object per line; text: human-readable; auto: json in "
        "production, text in development",
    )

    database_url: str = "sqlite+aiosqlite:///./data/vocalis.db"
    database_echo: bool = False
    database_connect_timeout_seconds: float = Field(
        10.0, gt=0, description="how long to wait for a database connection before answering 503"
    )
    storage_path: Path = Path("./data/storage")
    dev_key_file: Path = Path("./data/dev-api-key")

    voices_dir: Path = Path("./voices")
    default_voice: str = DEFAULT_VOICE
    device: Literal["auto", "cpu", "cuda"] = "auto"
    inference_concurrency: int | None = Field(
        None,
        ge=1,
        description="syntheses at once; default 1 on a GPU, one per usable CPU core on a CPU "
        "(each holds ~80-150 MB of working memory: lower it where memory is short)",
    )
    inference_threads: int | None = Field(
        None,
        ge=1,
        description="ONNX Runtime threads per synthesis; default on a CPU: the usable cores "
        "divided by the concurrency (1 with the default concurrency); on a GPU, ONNX Runtime's",
    )
    sentence_pause_ms: int = Field(150, ge=0, le=2000)

    cache_max_bytes: int = Field(
        256 * 1024 * 1024, ge=0, description="response cache size on disk; 0 turns it off"
    )
    cache_memory_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="of the response cache, the most recently used entries kept in memory too",
    )
    cache_hits_count: bool = Field(True, description="cache hits count against the quota")
    openai_voices: dict[str, str] = Field(
        default_factory=dict,
        description='OpenAI voice name -> voice id, as JSON ({"alloy": "en_US-joe-medium"}); '
        "unmapped OpenAI names speak with the default voice",
    )
    max_upload_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="largest file accepted by /v1/watermark/verify"
    )
    public_url: str | None = Field(
        None,
        description="external base URL (https://tts.example.com) for links in mail and "
        "webhooks; http://HOST:PORT when unset; production needs an https:// one",
    )
    max_text_chars: int = Field(5000, ge=1, description="longest text of a synchronous request")
    spoken_text_factor: float = Field(
        2.0,
        ge=1,
        description="a text read out in words (numbers, money, dates) may be this many times "
        "the text limit: 5,000 characters may become 10,000 spoken ones, no more",
    )
    max_piece_chars: int = Field(
        200,
        ge=50,
        le=1000,
        description="longest piece of text the voice reads in one go; a voice's working memory "
        "grows with it (about 200 MB at 200 characters)",
    )
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, description="on SIGTERM, how long running requests may finish; then refunded"
    )
    reservation_lease_seconds: float = Field(
        30.0,
        gt=0,
        description="a process that stops renewing its requests' quota reservations this long "
        "is taken for dead: another gives them back",
    )
    max_request_bytes: int = Field(1024 * 1024, ge=1024)

    key_pepper: SecretStr = SecretStr(DEVELOPMENT_PEPPER)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses/CIDRs of reverse proxies whose X-Forwarded-For is believed",
    )
    metrics_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="addresses/CIDRs that may read GET /metrics without a token",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="a bearer token that may read GET /metrics from any address (production: "
        f"at least {MIN_METRICS_TOKEN_BYTES} bytes)",
    )
    admin_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses/CIDRs the admin API (/admin/api/...) answers, judged on the "
        "client's address (behind VOCALIS_TRUSTED_PROXIES, the one they forwarded); any other "
        "gets 403 admin_address_forbidden before a key or login is read (empty: any address)",
    )
    allow_sqlite_in_production: bool = Field(
        False,
        description="let VOCALIS_ENV=production run on SQLite (one machine, one API process); "
        "without it production refuses SQLite",
    )

    plans: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="plans and their allowances, as JSON merged over the built-in ones "
        '({"free": {"characters": 20000}}; fields: name, price_cents, currency, characters, '
        "audio_seconds, metered, lookup_key)",
    )
    default_plan: str = Field("free", description="the plan of a new account")
    quota_chars_per_second: float = Field(
        15.0, gt=0, description="speech rate assumed when reserving audio seconds at admission"
    )
    key_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="how long a process keeps a resolved API key; changes made elsewhere (another "
        "server, the CLI) reach it within this time, its own at once",
    )
    default_rate_limit_rpm: int = Field(600, ge=1, description="requests per minute per key")
    rate_limit_storage: str = Field(
        "memory://", description="memory:// for one process, redis://host:port to share limits"
    )

    worker: Literal["inline", "external"] = Field(
        "inline", description="inline: the API process runs jobs; external: `vocalis worker` does"
    )
    worker_concurrency: int = Field(1, ge=1, description="jobs one worker process runs at once")
    worker_poll_seconds: float = Field(
        1.0, gt=0, description="how often idle workers look for work"
    )
    worker_shutdown_grace_seconds: float = Field(20.0, ge=0)
    job_lease_seconds: float = Field(60.0, gt=0, description="a silent worker loses its job after")
    job_max_attempts: int = Field(3, ge=1)
    job_retry_delay_seconds: float = Field(5.0, ge=0, description="times the attempt number")
    max_job_text_chars: int = Field(100_000, ge=1, description="longest text of a job")
    max_batch_items: int = Field(100, ge=1)
    max_queued_jobs: int = Field(1000, ge=1, description="beyond this, submissions get 503")
    max_jobs_per_key: int = Field(10, ge=1, description="queued + running jobs per key")
    job_retention_hours: float = Field(72.0, gt=0, description="finished jobs keep text and audio")
    cleanup_interval_seconds: float = Field(300.0, gt=0)
    idempotency_ttl_hours: float = Field(24.0, gt=0)

    webhook_allow_private: bool = Field(
        False, description="allow loopback/private webhook targets (never link-local)"
    )
    webhook_timeout_seconds: float = Field(15.0, gt=0)
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
        description="seconds before each delivery attempt, comma-separated",
    )
    webhook_secret_overlap_hours: float = Field(
        24.0, ge=0, description="how long the old signing secret is still used after a rotation"
    )

    signup: Literal["open", "closed"] = Field(
        "open", description="open: anyone may sign up on the web; closed: only the operator"
    )
    session_lifetime_hours: float = Field(
        24 * 14, gt=0, description="a web login lasts this long without being used again"
    )
    bcrypt_cost: int = Field(12, ge=4, le=16, description="bcrypt work factor of passwords")
    login_attempts_per_window: int = Field(
        5, ge=1, description="failed logins allowed per address and per client in the window"
    )
    login_window_seconds: int = Field(900, ge=1)
    resend_api_key: SecretStr | None = Field(
        None,
        description="send mail through Resend; unset: mail goes to the log and a file. "
        "Production refuses to start without it while VOCALIS_SIGNUP=open (people who sign up "
        "could never get their confirmation link); with signup closed, mail (password resets, "
        "usage alerts) goes to the log",
    )
    resend_api_base: str = Field(
        "https://api.resend.com", description="where the Resend API is (tests point it elsewhere)"
    )
    mail_from: str = Field(
        f"Vocalis <no-reply@{DEVELOPMENT_MAIL_DOMAIN}>",
        description="sender of all mail; with Resend in production, an address on a domain "
        f"verified there (the development default's {DEVELOPMENT_MAIL_DOMAIN} is refused)",
    )
    mail_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0, 10, 60, 300, 1800, 7200, 21600, 43200],
        description="seconds before each attempt to send a mail, comma-separated; the whole "
        "schedule stays within the day Resend remembers an idempotency key, so a retry after a "
        "lost answer never sends twice",
    )

    web_dist: Path | None = Field(
        None,
        description="the built dashboard to serve at / (default: the one inside the package, "
        "which `make run` builds)",
    )
    stripe_secret_key: SecretStr | None = Field(
        None, description="Stripe's secret key (sk_…); unset: billing routes answer 404"
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="the signing secret (whsec_…) of the POST /webhooks/stripe endpoint"
    )
    stripe_api_base: str = Field(
        "https://api.stripe.com",
        description="where Stripe's API is, meter events included (tests point it elsewhere)",
    )
    billing_grace_days: float = Field(
        7.0,
        ge=0,
        description="days a subscription may stay unpaid before the account falls back to Free",
    )
    billing_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0, 10, 60, 300, 1800, 7200, 21600, 43200],
        description="seconds before each attempt to process a Stripe event or report usage to "
        "Stripe, comma-separated",
    )

    @property
    def billing_enabled(self) -> bool:
        return self.stripe_secret_key is not None

    @property
    def base_url(self) -> str:
        """Where users reach this server: links in mail point here."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def max_spoken_chars(self) -> int:
        """Longest text of a synchronous request once read out in words."""
        return int(self.max_text_chars * self.spoken_text_factor)

    @property
    def max_job_spoken_chars(self) -> int:
        return int(self.max_job_text_chars * self.spoken_text_factor)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator(
        "trusted_proxies",
        "metrics_allow",
        "admin_allow",
        "webhook_retry_schedule",
        "mail_retry_schedule",
        "billing_retry_schedule",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "stripe_secret_key",
        "stripe_webhook_secret",
        "resend_api_key",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """`VOCALIS_STRIPE_SECRET_KEY=` (an env file's blank line) means no key, not a blank one."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_retry_schedule", "mail_retry_schedule", "billing_retry_schedule")
    @classmethod
    def _sane_schedule(cls, value: list[float]) -> list[float]:
        if not value or any(delay < 0 for delay in value):
            raise ValueError("a retry schedule needs at least one delay, none negative")
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        """A URL SQLAlchemy can read, of a database Vocalis runs on (never quoting it: it may
        hold a password)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError(
                "VOCALIS_DATABASE_URL is not a database URL (e.g. "
                "sqlite+aiosqlite:///./data/vocalis.db or postgresql+asyncpg://user@host/db)"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"VOCALIS_DATABASE_URL names a {backend} database; Vocalis runs on SQLite or "
                "PostgreSQL"
            )
        return value

    @field_validator("trusted_proxies", "metrics_allow", "admin_allow")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # raises ValueError with the culprit
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        """Refuse settings that cannot work together or are unsafe in production: all of them
        in one error (see `problems`)."""
        problems = self.problems()
        if problems and self.refuse_problems:
            raise SettingsProblems(problems)
        return self

    def problems(self) -> list[str]:
        """What is wrong with these settings as a whole, one sentence each; empty when none.

        Billing needs both Stripe halves in any mode; production also needs real secrets, mail
        that reaches people, an https address and a database meant for it. No sentence quotes
        a secret."""
        problems = []
        if (self.stripe_secret_key is None) != (self.stripe_webhook_secret is None):
            problems.append(
                "set VOCALIS_STRIPE_SECRET_KEY and VOCALIS_STRIPE_WEBHOOK_SECRET together "
                "(or neither, for no billing)"
            )
        if self.env == "production":
            problems += self._production_problems()
        return problems

    def _production_problems(self) -> list[str]:
        problems = []
        # A short or well-known pepper can be guessed, and with it every stored key hash
        # checked offline (and every AI-generated marking forged).
        pepper = self.key_pepper.get_secret_value()
        if pepper == DEVELOPMENT_PEPPER:
            problems.append(
                "VOCALIS_KEY_PEPPER must be set to a secret value in production, not the "
                "development default"
            )
        elif len(pepper.encode()) < MIN_PEPPER_BYTES:
            problems.append(
                f"VOCALIS_KEY_PEPPER must be at least {MIN_PEPPER_BYTES} bytes in production; "
                'make one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        token = self.metrics_token
        if token is not None and len(token.get_secret_value().encode()) < MIN_METRICS_TOKEN_BYTES:
            problems.append(
                f"VOCALIS_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_BYTES} bytes in "
                "production (or unset: /metrics then answers only VOCALIS_METRICS_ALLOW)"
            )
        public = urlsplit(self.public_url or "")
        if public.scheme != "https" or not public.hostname:
            problems.append(
                "VOCALIS_PUBLIC_URL must be the https:// address people reach this server at "
                "in production (https://tts.example.com): links in mail and Stripe's return "
                "pages point there, and login cookies are marked Secure only on an https one"
            )
        if self.resend_api_key is None:
            if self.signup == "open":
                problems.append(
                    "VOCALIS_RESEND_API_KEY is not set: production would write mail to the log "
                    "instead of sending it, and people who sign up would never get their "
                    "confirmation link; set it, or VOCALIS_SIGNUP=closed if only the operator "
                    "creates accounts"
                )
        else:
            address = parseaddr(self.mail_from)[1]
            domain = address.rpartition("@")[2].lower() if "@" in address else ""
            if not domain:
                problems.append(
                    "VOCALIS_MAIL_FROM is not an email address ('Vocalis <no-reply@example.com>')"
                )
            elif domain == DEVELOPMENT_MAIL_DOMAIN or domain.endswith(
                "." + DEVELOPMENT_MAIL_DOMAIN
            ):
                problems.append(
                    f"VOCALIS_MAIL_FROM is the development sender (@{DEVELOPMENT_MAIL_DOMAIN}): "
                    "set it to an address on a domain verified in Resend"
                )
        if _is_sqlite(self.database_url) and not self.allow_sqlite_in_production:
            problems.append(
                "VOCALIS_DATABASE_URL is SQLite: production wants PostgreSQL "
                "(postgresql+asyncpg://…); to run one API process on one machine with SQLite, "
                "set VOCALIS_ALLOW_SQLITE_IN_PRODUCTION=true"
            )
        return problems


def _is_sqlite(database_url: str) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(database_url).get_backend_name() == "sqlite"


def load_settings(
    config_file: Path | str | None = None, *, check: bool = True, **overrides: Any
) -> Settings:
    """Build settings from every layer; `overrides` are CLI flags (None means "not given").

    `check=False` accepts settings that `Settings.problems` finds fault with (for `vocalis
    doctor`, which lists them); values that are wrong in themselves are refused either way."""
    path = config_file or os.environ.get("VOCALIS_CONFIG") or None
    flags = {name: value for name, value in overrides.items() if value is not None}
    base = Settings if check else UncheckedSettings
    if path is None:
        return _build(base, flags)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")

    class FileSettings(base):  # type: ignore[valid-type,misc]
        model_config = SettingsConfigDict(toml_file=path)

    return _build(FileSettings, flags)


class UncheckedSettings(Settings):
    """Settings whose `problems` are left for the caller to show."""

    refuse_problems: ClassVar[bool] = False


def _build(settings_cls: type[Settings], flags: dict[str, Any]) -> Settings:
    """Settings, or a ConfigError that names the problems but quotes no secret.

    `from None`: the original error is not chained, so no traceback can show it either."""
    try:
        return settings_cls(**flags)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except ValueError as exc:
        raise ConfigError(redact(str(exc))) from None


def _describe(exc: ValidationError) -> str:
    """Every problem, but none of the input values pydantic would quote: a model-level error
    quotes every setting, the pepper and the database URL's password included."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        problems += _sentences(error)
    if len(problems) == 1:
        return redact(f"invalid settings: {problems[0]}")
    listed = "".join(f"\n  - {problem}" for problem in problems)
    return redact(f"invalid settings ({len(problems)} problems):{listed}")


def _sentences(error: ErrorDetails) -> list[str]:
    where = ".".join(str(part) for part in error["loc"])
    original = (error.get("ctx") or {}).get("error")
    if isinstance(original, SettingsProblems):
        return list(original.problems)
    message = error["msg"].removeprefix("Value error, ")
    return [f"{where}: {message}" if where else message]
