"""The Prometheus metrics of one process: a `Metrics` object that owns its own registry.

What happens per request is counted as the request ends, in O(1): the label children of each
route, method and status are resolved once and kept. What other parts count anyway, as plain
numbers (the engine's queue and work, the cache's hits and misses, the webhook dispatcher's
outcomes), is read only when `/metrics` is scraped, so their hot paths carry no metrics code;
so are the figures kept in the database (jobs, outboxes), which the route reads and hands to
`render`. Nothing here lives in a module global: the runtime makes one `Metrics` and hands it
to what records into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vocalis import __version__

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED_ROUTE = "unmatched"  # the route label of a request no route matched (404s, dashboard)
OTHER_METHOD = "OTHER"
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
UNKNOWN_CODE = "unknown"
# From a cache hit (milliseconds) to a long text synthesized on a busy CPU (a minute or more).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# --- what the scrape reads from other parts (plain numbers they keep) ----------------------------


class VoiceWork(Protocol):
    syntheses: int
    pieces: int
    inference_seconds: float
    audio_seconds: float


class EngineFigures(Protocol):
    """The speech engine's own counters (`vocalis.engine.SpeechEngine`)."""

    concurrency: int
    in_flight: int
    waiting: int
    busy_seconds: float

    @property
    def work(self) -> Mapping[str, VoiceWork]: ...


class CacheFigures(Protocol):
    """The response cache's counters (`vocalis.synthesis.cache.SpeechCache`)."""

    hits: int
    misses: int
    total_bytes: int
    max_bytes: int

    @property
    def entries(self) -> int: ...


class WebhookFigures(Protocol):
    """The webhook dispatcher's attempts by outcome (`vocalis.webhooks.dispatcher`)."""

    @property
    def outcomes(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class QueueFigures:
    """What the database holds, read at scrape time: shared by every process, so the same in
    each one's metrics."""

    jobs: Mapping[str, int]  # active jobs by state
    oldest_queued_seconds: float  # how long the longest-waiting due job has waited
    jobs_failed: int  # ever
    webhooks_pending: int
    webhooks_given_up: Mapping[str, int]  # ever, by status: failed, abandoned
    mail_pending: int


class Metrics:
    """One process's metrics. `request`, `refused` and `spoke` are called as requests end;
    `watch` names the parts whose counters are read at scrape time; `render` writes the text
    format, with the database's figures (None when the database could not be read)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._requests = Counter(
            "vocalis_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "vocalis_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by method and route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._refusals = Counter(
            "vocalis_refusals",
            "Requests refused with 429 (over quota, over the rate limit, too many jobs…), "
            "by error code",
            ["code"],
            registry=registry,
        )
        self._audio = Counter(
            "vocalis_audio_seconds",
            "Seconds of audio answered to synthesis requests (cache hits included), by voice",
            ["voice"],
            registry=registry,
        )
        self._characters = Counter(
            "vocalis_characters",
            "Characters of text answered with audio (as billed), by voice",
            ["voice"],
            registry=registry,
        )
        # Label children, resolved once: a request then costs two dictionary lookups, one
        # counter increment and one histogram observation.
        self._routes: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._codes: dict[str, Counter] = {}
        self._voices: dict[str, tuple[Counter, Counter]] = {}
        self._scraped = _ScrapeTime()
        registry.register(self._scraped)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)

    # --- as requests end --------------------------------------------------------------------

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._routes.get((method, route, status))
        if children is None:
            children = self._resolve(method, route, status)
        children[0].inc()
        children[1].observe(seconds)

    def _resolve(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        # Any token is a method to the HTTP parser: unknown ones share one label.
        label = method if method in METHODS else OTHER_METHOD
        children = (
            self._requests.labels(label, route, str(status)),
            self._latency.labels(label, route),
        )
        if label == method:
            self._routes[(method, route, status)] = children
        return children

    def refused(self, code: str | None) -> None:
        code = code or UNKNOWN_CODE
        child = self._codes.get(code)
        if child is None:
            child = self._codes[code] = self._refusals.labels(code)
        child.inc()

    def spoke(self, voice: str, characters: int, audio_ms: int) -> None:
        children = self._voices.get(voice)
        if children is None:
            children = self._voices[voice] = (
                self._audio.labels(voice),
                self._characters.labels(voice),
            )
        children[0].inc(audio_ms / 1000)
        children[1].inc(characters)

    # --- read at scrape time ----------------------------------------------------------------

    def watch(
        self,
        *,
        engine: Callable[[], EngineFigures | None] | None = None,
        cache: Callable[[], CacheFigures | None] | None = None,
        webhooks: Callable[[], WebhookFigures | None] | None = None,
    ) -> None:
        """Read these parts' counters at every scrape (each getter may answer None: that part
        does not run in this process)."""
        self.registry.register(_Watched(engine, cache, webhooks))

    def render(self, queues: QueueFigures | None) -> bytes:
        """The text format. Call it on the event loop, where the counters it reads change."""
        self._scraped.queues = queues
        try:
            return generate_latest(self.registry)
        finally:
            self._scraped.queues = None


class _ScrapeTime(Collector):
    """The figures handed to one `render`: the database's, and the build."""

    def __init__(self) -> None:
        self.queues: QueueFigures | None = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("vocalis_build_info", "The running version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        queues = self.queues
        yield GaugeMetricFamily(
            "vocalis_database_up",
            "Whether this scrape could read the database's figures (jobs, outboxes)",
            value=0 if queues is None else 1,
        )
        if queues is None:
            return
        jobs = GaugeMetricFamily("vocalis_jobs", "Jobs queued or running", labels=["state"])
        for state, count in sorted(queues.jobs.items()):
            jobs.add_metric([state], count)
        yield jobs
        yield GaugeMetricFamily(
            "vocalis_jobs_queue_age_seconds",
            "How long the longest-waiting queued job has been due (0: none is waiting)",
            value=queues.oldest_queued_seconds,
        )
        yield GaugeMetricFamily(
            "vocalis_jobs_failed",
            "Jobs that failed for good, ever (from the database: whichever process ran them)",
            value=queues.jobs_failed,
        )
        yield GaugeMetricFamily(
            "vocalis_webhook_deliveries_pending",
            "Webhook deliveries not yet settled (waiting for an attempt or being sent)",
            value=queues.webhooks_pending,
        )
        given_up = GaugeMetricFamily(
            "vocalis_webhook_deliveries_given_up",
            "Webhook deliveries never delivered, ever, by status: failed (the retry schedule "
            "ran out), abandoned (the receiver answered 410); from the database",
            labels=["status"],
        )
        for status, count in sorted(queues.webhooks_given_up.items()):
            given_up.add_metric([status], count)
        yield given_up
        yield GaugeMetricFamily(
            "vocalis_mail_outbox_pending", "Mails waiting to be sent", value=queues.mail_pending
        )


class _Watched(Collector):
    """The engine's, the cache's and the webhook dispatcher's own counters, as they are now."""

    def __init__(
        self,
        engine: Callable[[], EngineFigures | None] | None,
        cache: Callable[[], CacheFigures | None] | None,
        webhooks: Callable[[], WebhookFigures | None] | None,
    ) -> None:
        self._engine = engine
        self._cache = cache
        self._webhooks = webhooks

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        engine = self._engine() if self._engine is not None else None
        if engine is not None:
            yield from _engine_metrics(engine)
        cache = self._cache() if self._cache is not None else None
        if cache is not None:
            yield from _cache_metrics(cache)
        webhooks = self._webhooks() if self._webhooks is not None else None
        if webhooks is not None:
            attempts = CounterMetricFamily(
                "vocalis_webhook_attempts",
                "Webhook delivery attempts sent by this process, by outcome: delivered, "
                "retrying (failed, will be retried), failed (gave up after the schedule), "
                "abandoned (the receiver answered 410)",
                labels=["outcome"],
            )
            for outcome in ("delivered", "retrying", "failed", "abandoned"):
                attempts.add_metric([outcome], webhooks.outcomes.get(outcome, 0))
            yield attempts


def _engine_metrics(engine: EngineFigures) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "vocalis_engine_queue_depth",
        "Sentences waiting for an inference slot",
        value=engine.waiting,
    )
    yield GaugeMetricFamily(
        "vocalis_engine_in_flight", "Sentences being synthesized now", value=engine.in_flight
    )
    yield GaugeMetricFamily(
        "vocalis_engine_slots",
        "Sentences synthesized at once at most (0 until the voices are loaded)",
        value=engine.concurrency,
    )
    yield CounterMetricFamily(
        "vocalis_engine_busy_seconds",
        "Inference slot-seconds spent synthesizing (divide its rate by the slots for the "
        "engine's utilization)",
        value=engine.busy_seconds,
    )
    families = (
        CounterMetricFamily(
            "vocalis_engine_syntheses",
            "Texts the engine began to speak, by voice",
            labels=["voice"],
        ),
        CounterMetricFamily(
            "vocalis_engine_pieces",
            "Sentences (inference calls) synthesized, by voice",
            labels=["voice"],
        ),
        CounterMetricFamily(
            "vocalis_engine_synthesis_seconds",
            "Seconds of inference spent, by voice",
            labels=["voice"],
        ),
        CounterMetricFamily(
            "vocalis_engine_audio_seconds",
            "Seconds of audio the engine produced (jobs included, cache hits not), by voice",
            labels=["voice"],
        ),
    )
    for voice, work in sorted(engine.work.items()):
        values = (work.syntheses, work.pieces, work.inference_seconds, work.audio_seconds)
        for family, value in zip(families, values, strict=True):
            family.add_metric([voice], value)
    yield from families


def _cache_metrics(cache: CacheFigures) -> Iterator[Metric]:
    lookups = CounterMetricFamily(
        "vocalis_cache_lookups",
        "Response cache lookups by result: hit (answered from the cache) or miss",
        labels=["result"],
    )
    lookups.add_metric(["hit"], cache.hits)
    lookups.add_metric(["miss"], cache.misses)
    yield lookups
    yield GaugeMetricFamily(
        "vocalis_cache_bytes", "Bytes the response cache holds on disk", value=cache.total_bytes
    )
    yield GaugeMetricFamily(
        "vocalis_cache_max_bytes", "The response cache's byte budget", value=cache.max_bytes
    )
    yield GaugeMetricFamily(
        "vocalis_cache_entries", "Files the response cache holds", value=cache.entries
    )
