"""The metrics object alone: bounded labels, and the parts' own counters read when scraped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from vocalis.kit.metrics import Metrics, QueueFigures


def samples(text: bytes) -> dict[tuple[str, frozenset[Any]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def test_invented_methods_and_missing_codes_share_one_label_each() -> None:
    metrics = Metrics()
    for method in ("BREW", "PROPFIND", "sk_live_looks_like_a_key"):
        metrics.request(method, "unmatched", 405, 0.001)
    metrics.request("GET", "/health", 200, 0.001)
    metrics.refused(None)
    metrics.refused("quota_exceeded")
    found = samples(metrics.render(None))
    requests = {
        dict(labels)["method"]: count
        for (name, labels), count in found.items()
        if name == "vocalis_http_requests_total"
    }
    assert requests == {"OTHER": 3, "GET": 1}
    assert found[("vocalis_refusals_total", frozenset({("code", "unknown")}))] == 1
    assert found[("vocalis_refusals_total", frozenset({("code", "quota_exceeded")}))] == 1


@dataclass
class Work:
    syntheses: int = 2
    pieces: int = 5
    inference_seconds: float = 1.5
    audio_seconds: float = 9.0


@dataclass
class Engine:
    concurrency: int = 2
    in_flight: int = 1
    waiting: int = 3
    busy_seconds: float = 1.5
    work: dict[str, Work] = field(default_factory=lambda: {"v1": Work()})


def test_the_engines_counters_are_read_as_they_are_at_each_scrape() -> None:
    metrics = Metrics()
    engine = Engine()
    metrics.watch(engine=lambda: engine, webhooks=lambda: None)
    first = samples(metrics.render(None))
    assert first[("vocalis_engine_queue_depth", frozenset())] == 3
    assert first[("vocalis_engine_pieces_total", frozenset({("voice", "v1")}))] == 5
    assert not [name for name, _ in first if name.startswith("vocalis_webhook_attempts")]
    engine.waiting = 0
    engine.work["v1"].pieces = 6
    second = samples(metrics.render(None))
    assert second[("vocalis_engine_queue_depth", frozenset())] == 0
    assert second[("vocalis_engine_pieces_total", frozenset({("voice", "v1")}))] == 6


def test_database_figures_appear_only_for_the_scrape_that_read_them() -> None:
    metrics = Metrics()
    queues = QueueFigures(
        jobs={"queued": 4, "running": 1},
        oldest_queued_seconds=12.5,
        jobs_failed=2,
        webhooks_pending=3,
        webhooks_given_up={"failed": 1, "abandoned": 0},
        mail_pending=0,
    )
    read = samples(metrics.render(queues))
    assert read[("vocalis_database_up", frozenset())] == 1
    assert read[("vocalis_jobs", frozenset({("state", "queued")}))] == 4
    assert read[("vocalis_jobs_queue_age_seconds", frozenset())] == 12.5
    unread = samples(metrics.render(None))
    assert unread[("vocalis_database_up", frozenset())] == 0
    assert not [name for name, _ in unread if name.startswith("vocalis_jobs")]
