"""`create_app()`: the whole HTTP service, assembled from settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from vocalis import __version__
from vocalis.accounts import router as keys_router
from vocalis.accounts import web_router
from vocalis.accounts.service import Scope
from vocalis.admin import router as admin_router
from vocalis.api import health
from vocalis.api import metrics as metrics_route
from vocalis.api.errors import install_error_handlers
from vocalis.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from vocalis.api.openapi import install_openapi
from vocalis.billing import router as billing_router
from vocalis.config import Settings, load_settings
from vocalis.engine import VoiceRegistry
from vocalis.jobs import router as jobs_router
from vocalis.kit.clock import Clock
from vocalis.kit.lean import LeanLane
from vocalis.runtime import Runtime
from vocalis.synthesis import openai as openai_compatible
from vocalis.synthesis import router as synthesis
from vocalis.synthesis import verify as marking
from vocalis.usage import router as usage_router
from vocalis.usage.deps import rate_limited
from vocalis.usage.middleware import UsageMiddleware
from vocalis.web.dashboard import built_dashboard, install_dashboard
from vocalis.webhooks.urls import Resolver

log = logging.getLogger("vocalis")

DESCRIPTION = """Self-hostable text-to-speech with real neural voices.

Authenticate with an API key: `Authorization: Bearer sk_live_…` or `X-API-Key: sk_live_…`.
Errors are JSON `{"detail": "...", "code": "..."}`.
"""
DOCS_ASSETS_URL = "/docs/assets"


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    registry: VoiceRegistry | None = None,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
) -> FastAPI:
    """Build the app on a `runtime` (or one made from `settings`, `registry`, `clock` and
    `resolver`: see `Runtime`). The app's lifespan serves with it and closes it."""
    if runtime is None:
        runtime = Runtime(
            settings or load_settings(), registry=registry, clock=clock, resolver=resolver
        )
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with runtime.serving():
                yield
        finally:
            await runtime.close()

    # /docs (Swagger UI) and /redoc load their scripts from the package, not a CDN: they work
    # offline and behind firewalls.
    app = FastAPIOffline(
        title="Vocalis",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        license_info={"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        static_url=DOCS_ASSETS_URL,
        # Metrics are Prometheus's (GET /metrics); FastAPI's own OpenTelemetry probe would
        # otherwise look for a configured provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Added innermost first: RequestContext wraps Usage wraps BodyLimit wraps the lean lane
    # (plain requests to the hottest routes, `vocalis.kit.lean`) wraps the routes.
    app.add_middleware(LeanLane)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        per_path={marking.VERIFY_PATH: settings.max_upload_bytes},
    )
    app.add_middleware(UsageMiddleware, recorder=runtime.recorder, clock=runtime.clock)
    app.add_middleware(
        RequestContextMiddleware, trusted_proxies=settings.trusted_proxies, metrics=runtime.metrics
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_route.router)
    app.include_router(synthesis.router)
    app.include_router(synthesis.account_router)
    app.include_router(billing_router.router)
    app.include_router(billing_router.account_router)
    app.include_router(billing_router.state_router)
    app.include_router(billing_router.stripe_router)
    app.include_router(openai_compatible.router)
    app.include_router(marking.router)
    app.include_router(usage_router.router)
    app.include_router(usage_router.keys_router)
    # The key routes live below usage, so their rate limit is chosen here, where they mount.
    app.include_router(keys_router.router, dependencies=[Depends(rate_limited(Scope.USAGE_READ))])
    app.include_router(web_router.auth)
    app.include_router(web_router.account)
    app.include_router(usage_router.account_router)
    app.include_router(jobs_router.router)
    app.include_router(jobs_router.account_router)
    app.include_router(admin_router.router)
    install_openapi(app, settings)
    app.state.runtime = runtime
    app.state.provided = runtime.provided()

    # Last: the dashboard's client-side routes answer whatever the API does not.
    install_dashboard(app, built_dashboard(settings.web_dist))
    return app
