"""The one `Settings` object.

Values are layered, lowest first: built-in defaults → TOML file (`VOCALIS_CONFIG` or `--config`)
→ `VOCALIS_*` environment variables → CLI flags (passed to `load_settings` as keyword arguments).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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
DEFAULT_VOICE = "en_US-joe-medium"


class ConfigError(Exception):
    """The configuration cannot be used (missing file, unsafe production secrets).

    Its message is safe to print: it never quotes a secret or a URL's password."""


class Settings(BaseSettings):
    """Everything an operator can tune; every field has a working default."""

    model_config = SettingsConfigDict(env_prefix="VOCALIS_", extra="forbid", toml_file=None)

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "info"

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
        "webhooks; http://HOST:PORT when unset",
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
        None, description="send mail through Resend; unset: mail goes to the log and a file"
    )
    resend_api_base: str = Field(
        "https://api.resend.com", description="where the Resend API is (tests point it elsewhere)"
    )
    mail_from: str = Field("Vocalis <no-reply@vocalis.local>", description="sender of all mail")
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

    @field_validator("stripe_secret_key", "stripe_webhook_secret", "resend_api_key", mode="before")
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

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # raises ValueError with the culprit
        return value

    @model_validator(mode="after")
    def _stripe_whole(self) -> Settings:
        """Billing needs both halves: the key to call Stripe, the secret to believe its events."""
        if (self.stripe_secret_key is None) != (self.stripe_webhook_secret is None):
            raise ValueError(
                "set VOCALIS_STRIPE_SECRET_KEY and VOCALIS_STRIPE_WEBHOOK_SECRET together "
                "(or neither, for no billing)"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        """A short or well-known pepper can be guessed, and with it every stored key hash
        checked offline; so production refuses both (without ever echoing the value)."""
        if self.env != "production":
            return self
        pepper = self.key_pepper.get_secret_value()
        if pepper == DEVELOPMENT_PEPPER:
            raise ValueError(
                "VOCALIS_KEY_PEPPER must be set to a secret value in production, not the "
                "development default"
            )
        if len(pepper.encode()) < MIN_PEPPER_BYTES:
            raise ValueError(
                f"VOCALIS_KEY_PEPPER must be at least {MIN_PEPPER_BYTES} bytes in production; "
                'make one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return self


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from every layer; `overrides` are CLI flags (None means "not given")."""
    path = config_file or os.environ.get("VOCALIS_CONFIG") or None
    flags = {name: value for name, value in overrides.items() if value is not None}
    if path is None:
        return _build(Settings, flags)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    return _build(FileSettings, flags)


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
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return redact("invalid settings: " + "; ".join(problems))
