"""A lean HTTP/1.1 load generator: keep-alive connections on raw asyncio streams, one process.

`bench/run.py` starts it as a separate process so that the client's work is not counted as the
server's, and keeps it cheap (no HTTP library, requests prepared as bytes beforehand) because on
a small machine the client competes with the server for the same cores.

    python bench/loadgen.py SPEC.json RESULT.json   # writes one JSON object to RESULT.json

The spec names `host`, `port`, `method`, `path`, `headers`, and either `bodies` (one list of
request bodies per client: each client sends its own in order, then stops) or `body`, `clients`
and `seconds` (every client repeats the same request; `warmup` seconds are not counted).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """What the clients saw; `started`/`ended` bound the requests that are counted."""

    started: float = 0.0
    ended: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    cache: dict[str, int] = field(default_factory=dict)
    body_bytes: int = 0
    weight: int = 0  # the characters of the texts sent, when the spec gives them

    def add(self, latency: float, status: int, headers: dict[str, str], size: int) -> None:
        self.latencies.append(latency)
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        label = headers.get("x-cache", "-")
        self.cache[label] = self.cache.get(label, 0) + 1
        self.body_bytes += size

    def as_dict(self) -> dict[str, Any]:
        return {
            "elapsed": self.ended - self.started,
            "latencies": self.latencies,
            "statuses": self.statuses,
            "cache": self.cache,
            "body_bytes": self.body_bytes,
            "weight": self.weight,
        }


def encode_request(spec: dict[str, Any], body: str | None) -> bytes:
    payload = body.encode() if body is not None else b""
    lines = [f"{spec['method']} {spec['path']} HTTP/1.1", f"Host: {spec['host']}:{spec['port']}"]
    lines += [f"{name}: {value}" for name, value in spec.get("headers", {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    """One keep-alive connection; reconnects when the server closes it (HTTP/1.0 servers)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, dict[str, str], int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(request)
        status, headers = await read_head(self.reader)
        size = await read_body(self.reader, headers)
        if headers.get("connection", "").lower() == "close" or "content-length" not in headers:
            self.close()
        return status, headers, size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> int:
    if "content-length" in headers:
        return len(await reader.readexactly(int(headers["content-length"])))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        size = 0
        while chunk := int((await reader.readline()).split(b";")[0], 16):
            size += len(await reader.readexactly(chunk + 2)) - 2
        await reader.readline()
        return size
    return len(await reader.read())


async def fixed_client(spec: dict[str, Any], bodies: list[str], tally: Tally) -> None:
    connection = Connection(spec["host"], spec["port"])
    try:
        for body in bodies:
            request = encode_request(spec, body)
            began = time.perf_counter()
            status, headers, size = await connection.send(request)
            tally.add(time.perf_counter() - began, status, headers, size)
            tally.weight += len(json.loads(body).get("text", ""))
    finally:
        connection.close()


async def timed_client(spec: dict[str, Any], tally: Tally, stop: asyncio.Event) -> None:
    connection = Connection(spec["host"], spec["port"])
    request = encode_request(spec, spec.get("body"))
    try:
        while not stop.is_set():
            began = time.perf_counter()
            status, headers, size = await connection.send(request)
            finished = time.perf_counter()
            if tally.started <= began and finished <= tally.ended:
                tally.add(finished - began, status, headers, size)
    finally:
        connection.close()


async def run_fixed(spec: dict[str, Any]) -> Tally:
    tally = Tally(started=time.perf_counter())
    await asyncio.gather(*(fixed_client(spec, bodies, tally) for bodies in spec["bodies"]))
    tally.ended = time.perf_counter()
    return tally


async def run_timed(spec: dict[str, Any]) -> Tally:
    now = time.perf_counter()
    warmup = spec.get("warmup", 0.5)
    tally = Tally(started=now + warmup, ended=now + warmup + spec["seconds"])
    stop = asyncio.Event()
    clients = [asyncio.create_task(timed_client(spec, tally, stop)) for _ in range(spec["clients"])]
    await asyncio.sleep(warmup + spec["seconds"])
    stop.set()
    await asyncio.gather(*clients)
    return tally


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    try:  # a cheaper event loop where it is installed (uvicorn[standard] brings it)
        from uvloop import run
    except ImportError:
        run = asyncio.run
    runner = run_fixed if "bodies" in spec else run_timed
    result = run(runner(spec)).as_dict()
    with open(sys.argv[2], "w") as handle:  # a file, not stdout: a pipe can take a result in pieces
        json.dump(result, handle)


if __name__ == "__main__":
    main()
