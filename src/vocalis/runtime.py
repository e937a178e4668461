"""The one wiring: settings → database → engine → services, created once and closed once.

`vocalis serve` (through `create_app`), `vocalis worker` and every CLI command build one
`Runtime` and use what they need of it: parts are built, and their code imported, on first use,
so `vocalis keys list` opens a database and never loads a voice (nor ONNX Runtime or FFmpeg).
Nothing here lives in a module global.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from vocalis.billing.plans import Catalogue
from vocalis.config import Settings
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.usage.meter import Meter

if TYPE_CHECKING:
    from vocalis.accounts.credentials import KeyResolver
    from vocalis.accounts.web import WebPolicy
    from vocalis.audio.marking import Marker
    from vocalis.billing.events import StripeInbox
    from vocalis.billing.service import Billing
    from vocalis.billing.stripe_api import StripeGateway
    from vocalis.billing.worker import BillingWorker
    from vocalis.engine import SpeechEngine, VoiceRegistry
    from vocalis.jobs.intake import JobIntake
    from vocalis.jobs.runner import JobRunner
    from vocalis.kit.metrics import Metrics
    from vocalis.mail.delivery import MailDelivery
    from vocalis.storage.files import AudioStore
    from vocalis.synthesis.cache import SpeechCache
    from vocalis.synthesis.service import SpeechService
    from vocalis.usage.alerts import QuotaAlerts
    from vocalis.usage.ratelimit import RateLimiter
    from vocalis.usage.recorder import UsageRecorder
    from vocalis.webhooks.urls import Resolver

log = logging.getLogger(__name__)

SETTLE_GRACE_SECONDS = 5.0


def build_engine(settings: Settings, registry: VoiceRegistry | None = None) -> SpeechEngine:
    """The speech engine as configured (not yet started: `await engine.start()` loads voices)."""
    from vocalis.engine import SpeechEngine, VoiceRegistry, select_device

    return SpeechEngine(
        registry or VoiceRegistry.from_directory(settings.voices_dir, settings.default_voice),
        select_device(settings.device, settings.inference_threads),
        concurrency=settings.inference_concurrency,
        sentence_pause_ms=settings.sentence_pause_ms,
        max_piece_chars=settings.max_piece_chars,
    )


class Runtime:
    """Everything one Vocalis process holds. `registry` shares already-loaded voices (tests,
    embedding); `resolver` replaces the system DNS used to vet webhook URLs."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: VoiceRegistry | None = None,
        clock: Clock | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self._resolver = resolver
        self._registry = registry
        self._warming: asyncio.Task[None] | None = None

    # --- parts, built on first use ---------------------------------------------------------

    @cached_property
    def database(self) -> Database:
        return Database(
            self.settings.database_url,
            echo=self.settings.database_echo,
            connect_timeout=self.settings.database_connect_timeout_seconds,
        )

    @cached_property
    def metrics(self) -> Metrics:
        """This process's Prometheus metrics (GET /metrics). What the engine, the response cache
        and the webhook dispatcher count is read when scraped, from those that were built."""
        from vocalis.kit.metrics import Metrics

        metrics = Metrics()
        built = self.__dict__.get
        metrics.watch(
            engine=lambda: built("engine"),
            cache=lambda: built("cache"),
            webhooks=lambda: getattr(built("runner"), "dispatcher", None),
        )
        return metrics

    @cached_property
    def resolver(self) -> Resolver:
        """How webhook hosts are looked up (the system's DNS unless given)."""
        from vocalis.webhooks.urls import SystemResolver

        return self._resolver or SystemResolver()

    @cached_property
    def engine(self) -> SpeechEngine:
        return build_engine(self.settings, self._registry)

    @cached_property
    def marker(self) -> Marker:
        from vocalis.audio.marking import Marker

        return Marker(self.settings.key_pepper.get_secret_value())

    @cached_property
    def store(self) -> AudioStore:
        from vocalis.storage.files import AudioStore

        return AudioStore(self.settings.storage_path)

    @cached_property
    def cache(self) -> SpeechCache:
        from vocalis.synthesis.cache import SpeechCache

        settings = self.settings
        return SpeechCache(
            settings.storage_path / "cache", settings.cache_max_bytes, settings.cache_memory_bytes
        )

    @cached_property
    def limiter(self) -> RateLimiter:
        from vocalis.usage.ratelimit import RateLimiter

        settings = self.settings
        return RateLimiter(settings.rate_limit_storage, settings.default_rate_limit_rpm)

    @cached_property
    def recorder(self) -> UsageRecorder:
        from vocalis.usage.recorder import UsageRecorder

        return UsageRecorder(self.database)

    @cached_property
    def web(self) -> WebPolicy:
        """The rules of web accounts: sign-up, sessions, passwords, login throttling."""
        from vocalis.accounts.throttle import LoginThrottle
        from vocalis.accounts.web import WebPolicy

        settings = self.settings
        return WebPolicy(
            pepper=settings.key_pepper.get_secret_value(),
            bcrypt_cost=settings.bcrypt_cost,
            session_lifetime=timedelta(hours=settings.session_lifetime_hours),
            base_url=settings.base_url,
            signup_open=settings.signup == "open",
            default_plan=settings.default_plan,
            throttle=LoginThrottle(
                settings.rate_limit_storage,
                attempts=settings.login_attempts_per_window,
                window_seconds=settings.login_window_seconds,
            ),
        )

    @cached_property
    def keys(self) -> KeyResolver:
        from vocalis.accounts.credentials import KeyResolver

        return KeyResolver(
            self.database,
            self.clock,
            pepper=self.settings.key_pepper.get_secret_value(),
            ttl_seconds=self.settings.key_cache_seconds,
        )

    @cached_property
    def plans(self) -> Catalogue:
        return Catalogue(self.settings.plans, chars_per_second=self.settings.quota_chars_per_second)

    @cached_property
    def stripe(self) -> StripeGateway | None:
        """Stripe, when VOCALIS_STRIPE_SECRET_KEY is set; else None (no billing)."""
        from vocalis.billing.stripe_api import StripeGateway

        key = self.settings.stripe_secret_key
        if key is None:
            return None
        return StripeGateway(key.get_secret_value(), self.settings.stripe_api_base)

    @cached_property
    def billing(self) -> Billing:
        from vocalis.billing.service import Billing

        return Billing(
            self.stripe,
            self.database,
            self.clock,
            self.plans,
            base_url=self.settings.base_url,
            grace=timedelta(days=self.settings.billing_grace_days),
            changed=lambda account_id: self.keys.forget(account_id=account_id),
        )

    @cached_property
    def stripe_inbox(self) -> StripeInbox:
        from vocalis.billing.events import StripeInbox

        secret = self.settings.stripe_webhook_secret
        worker = self.billing_worker if self.runner is not None else None
        return StripeInbox(
            self.database,
            self.clock,
            secret.get_secret_value() if secret is not None else None,
            on_stored=worker.wake if worker is not None else None,
        )

    @cached_property
    def billing_worker(self) -> BillingWorker | None:
        """Applies Stripe's events and ends lapsed plans; runs where the jobs run. None
        without Stripe."""
        from vocalis.billing.events import BillingRules
        from vocalis.billing.worker import BillingWorker

        if self.stripe is None:
            return None
        settings = self.settings
        rules = BillingRules(
            catalogue=self.plans,
            free_plan=settings.default_plan,
            grace=timedelta(days=settings.billing_grace_days),
            base_url=settings.base_url,
        )
        return BillingWorker(
            self.database,
            self.clock,
            self.stripe,
            rules,
            settings.billing_retry_schedule,
            changed=lambda account_id: self.keys.forget(account_id=account_id),
        )

    @cached_property
    def meter(self) -> Meter:
        return Meter(
            self.database,
            self.clock,
            self.plans,
            chars_per_second=self.settings.quota_chars_per_second,
            lease=timedelta(seconds=self.settings.reservation_lease_seconds),
            recorder=self.recorder,
        )

    @cached_property
    def runner(self) -> JobRunner | None:
        """The in-process worker (VOCALIS_WORKER=inline); None when workers run apart."""
        return self.job_runner() if self.settings.worker == "inline" else None

    def job_runner(self, concurrency: int | None = None) -> JobRunner:
        from vocalis.jobs.runner import JobRunner

        return JobRunner(
            settings=self.settings,
            database=self.database,
            engine=self.engine,
            store=self.store,
            clock=self.clock,
            resolver=self.resolver,
            marker=self.marker,
            meter=self.meter,
            concurrency=concurrency,
        )

    @cached_property
    def mail(self) -> MailDelivery:
        """Sends the mail outbox (through Resend, or to the log without a key). It runs where
        the jobs run: in the API process when inline, in `vocalis worker` otherwise."""
        from vocalis.mail.delivery import MailDelivery
        from vocalis.mail.sender import sender_for

        settings = self.settings
        return MailDelivery(
            self.database, self.clock, sender_for(settings), settings.mail_retry_schedule
        )

    @cached_property
    def alerts(self) -> QuotaAlerts:
        """Mails usage alerts at 80 % and 100 % of an allowance; runs where the mail runs."""
        from vocalis.usage.alerts import QuotaAlerts

        return QuotaAlerts(self.database, self.clock, self.meter, base_url=self.settings.base_url)

    @cached_property
    def speech(self) -> SpeechService:
        from vocalis.synthesis.service import Accounting, SpeechService, TextLimits

        settings = self.settings
        accounting = Accounting(
            meter=self.meter,
            clock=self.clock,
            cache=self.cache,
            cache_hits_count=settings.cache_hits_count,
            marker=self.marker,
        )
        limits = TextLimits(settings.max_text_chars, settings.max_spoken_chars)
        return SpeechService(
            self.engine, accounting, limits, settings.key_pepper.get_secret_value()
        )

    @cached_property
    def jobs(self) -> JobIntake:
        from vocalis.jobs.intake import JobIntake

        return JobIntake(
            settings=self.settings,
            database=self.database,
            clock=self.clock,
            engine=self.engine,
            resolver=self.resolver,
            meter=self.meter,
            runner=self.runner,
        )

    def provided(self) -> dict[type, Any]:
        """What request dependencies may ask for, by type (see `vocalis.kit.deps`)."""
        from vocalis.accounts.credentials import KeyResolver
        from vocalis.accounts.deps import KeyUsage
        from vocalis.accounts.web import WebPolicy
        from vocalis.audio.marking import Marker
        from vocalis.billing.events import StripeInbox
        from vocalis.billing.service import Billing
        from vocalis.engine import SpeechEngine
        from vocalis.jobs.intake import JobIntake
        from vocalis.jobs.runner import JobRunner
        from vocalis.kit.metrics import Metrics
        from vocalis.storage.files import AudioStore
        from vocalis.synthesis.cache import SpeechCache
        from vocalis.synthesis.service import SpeechService
        from vocalis.usage.ratelimit import RateLimiter
        from vocalis.usage.recorder import UsageRecorder
        from vocalis.webhooks.urls import Resolver

        parts: dict[type, Any] = {
            Settings: self.settings,
            Clock: self.clock,
            Database: self.database,
            SpeechEngine: self.engine,
            Marker: self.marker,
            AudioStore: self.store,
            SpeechCache: self.cache,
            RateLimiter: self.limiter,
            UsageRecorder: self.recorder,
            Meter: self.meter,
            KeyUsage: self.meter,
            KeyResolver: self.keys,
            WebPolicy: self.web,
            Catalogue: self.plans,
            Billing: self.billing,
            StripeInbox: self.stripe_inbox,
            Resolver: self.resolver,
            JobRunner: self.runner,
            SpeechService: self.speech,
            JobIntake: self.jobs,
            Metrics: self.metrics,
        }
        return parts

    # --- roles -----------------------------------------------------------------------------

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Runtime]:
        """The API process: voices warm in the background (/readyz says when), the usage
        writer and the meter's reservation upkeep run, and with VOCALIS_WORKER=inline so do jobs
        and mail."""
        await self.cache.load()
        self.recorder.start()
        self.meter.start()  # and, first thing, give back what a dead predecessor held
        self._warming = asyncio.create_task(self.engine.start(), name="warm-voices")
        if self.runner is not None:
            self.runner.start()  # waits for the voices before taking work
            self.mail.start()
            self.alerts.start()
            if self.billing_worker is not None:
                self.billing_worker.start()
        try:
            yield self
        finally:
            await self._stop_serving()

    async def _stop_serving(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
            await self.mail.stop()
            await self.alerts.stop()
            if self.billing_worker is not None:
                await self.billing_worker.stop()
        if self._warming is not None:
            self._warming.cancel()
            with suppress(asyncio.CancelledError):
                await self._warming
        # Requests the server cancelled at the end of its grace period are giving back their
        # quota now; whatever is still held after that is given back here.
        grace = min(SETTLE_GRACE_SECONDS, self.settings.shutdown_grace_seconds)
        await self.meter.close(grace=grace)
        await self.recorder.close()

    async def close(self) -> None:
        """Release what was built: the engine's threads and the database's connections."""
        if "engine" in self.__dict__:
            self.engine.close()
        if "database" in self.__dict__:
            await self.database.dispose()
