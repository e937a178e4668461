"""`create_app()`: the whole HTTP service, assembled from settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from vocalis import __version__
from vocalis.accounts import router as keys_router
from vocalis.admin import router as admin_router
from vocalis.api import health
from vocalis.api.deps import Services
from vocalis.api.errors import install_error_handlers
from vocalis.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from vocalis.api.openapi import install_openapi
from vocalis.audio import router as marking
from vocalis.audio.marking import Marker
from vocalis.config import Settings, load_settings
from vocalis.engine import SpeechEngine, VoiceRegistry, select_device
from vocalis.jobs import router as jobs_router
from vocalis.jobs.runner import JobRunner
from vocalis.jobs.storage import AudioStore
from vocalis.jobs.urls import Resolver, SystemResolver
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.synthesis import openai as openai_compatible
from vocalis.synthesis import router as synthesis
from vocalis.synthesis.cache import SpeechCache
from vocalis.usage import router as usage_router
from vocalis.usage.ledger import ReservationLedger
from vocalis.usage.middleware import UsageMiddleware
from vocalis.usage.ratelimit import RateLimiter
from vocalis.usage.recorder import UsageRecorder

log = logging.getLogger("vocalis")

DESCRIPTION = """Self-hostable text-to-speech with real neural voices.

Authenticate with an API key: `Authorization: Bearer sk_live_…` or `X-API-Key: sk_live_…`.
Errors are JSON `{"detail": "...", "code": "..."}`.
"""
DOCS_ASSETS_URL = "/docs/assets"
SETTLE_GRACE_SECONDS = 5.0


def build_engine(settings: Settings, registry: VoiceRegistry | None = None) -> SpeechEngine:
    """The speech engine as configured (not yet started: `await engine.start()` loads voices)."""
    return SpeechEngine(
        registry or VoiceRegistry.from_directory(settings.voices_dir, settings.default_voice),
        select_device(settings.device, settings.inference_threads),
        concurrency=settings.inference_concurrency,
        sentence_pause_ms=settings.sentence_pause_ms,
        max_piece_chars=settings.max_piece_chars,
    )


def create_app(
    settings: Settings | None = None,
    *,
    registry: VoiceRegistry | None = None,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
) -> FastAPI:
    """Build the app. `registry` lets a caller share already-loaded voices (tests, embedding);
    `resolver` replaces the system DNS used to vet webhook URLs."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(
            settings.database_url,
            echo=settings.database_echo,
            connect_timeout=settings.database_connect_timeout_seconds,
        )
        engine = build_engine(settings, registry)
        usage = UsageRecorder(database)
        app_clock = clock or Clock()
        ledger = ReservationLedger(
            database, app_clock, lease=timedelta(seconds=settings.reservation_lease_seconds)
        )
        services = Services(
            settings=settings,
            database=database,
            engine=engine,
            clock=app_clock,
            ledger=ledger,
            limiter=RateLimiter(settings.rate_limit_storage),
            usage=usage,
            store=AudioStore(settings.storage_path),
            resolver=resolver or SystemResolver(),
            cache=SpeechCache(settings.storage_path / "cache", settings.cache_max_bytes),
            marker=Marker(settings.key_pepper.get_secret_value()),
        )
        if settings.worker == "inline":
            services.runner = JobRunner(
                settings=settings,
                database=database,
                engine=engine,
                store=services.store,
                clock=services.clock,
                resolver=services.resolver,
                marker=services.marker,
            )
        app.state.services = services
        await services.cache.load()
        usage.start()
        ledger.start()  # and, first thing, give back what a dead predecessor held
        warming = asyncio.create_task(engine.start(), name="warm-voices")
        if services.runner is not None:
            services.runner.start()  # waits for the voices before taking work
        try:
            yield
        finally:
            if services.runner is not None:
                await services.runner.stop()
            warming.cancel()
            with suppress(asyncio.CancelledError):
                await warming
            # Requests the server cancelled at the end of its grace period are giving back
            # their quota now; whatever is still held after that is given back here.
            await ledger.close(grace=min(SETTLE_GRACE_SECONDS, settings.shutdown_grace_seconds))
            await usage.close()
            engine.close()
            await database.dispose()

    # /docs (Swagger UI) and /redoc load their scripts from the package, not a CDN: they work
    # offline and behind firewalls.
    app = FastAPIOffline(
        title="Vocalis",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        license_info={"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        static_url=DOCS_ASSETS_URL,
    )
    # Added innermost first: RequestContext wraps Usage wraps BodyLimit wraps the routes.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        per_path={marking.VERIFY_PATH: settings.max_upload_bytes},
    )
    app.add_middleware(UsageMiddleware)
    app.add_middleware(RequestContextMiddleware, trusted_proxies=settings.trusted_proxies)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(synthesis.router)
    app.include_router(openai_compatible.router)
    app.include_router(marking.router)
    app.include_router(usage_router.router)
    app.include_router(keys_router.router)
    app.include_router(jobs_router.router)
    app.include_router(admin_router.router)
    install_openapi(app, settings)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
