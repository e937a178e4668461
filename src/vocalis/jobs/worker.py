"""The worker loop: claim a job, synthesize it while heartbeating the lease, store, finish.

Runs inside the API process (`VOCALIS_WORKER=inline`) or as `vocalis worker` processes
(`external`), any number of them on any number of machines sharing the database and storage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from vocalis.audio.formats import AudioFormat
from vocalis.audio.marking import Marker
from vocalis.engine import SpeechEngine
from vocalis.jobs import queue
from vocalis.jobs.batch import BatchEntry, build_zip
from vocalis.jobs.models import Job
from vocalis.jobs.queue import JobPolicy
from vocalis.kit.clock import Clock
from vocalis.kit.db import Database
from vocalis.kit.errors import VocalisError
from vocalis.kit.ids import process_id
from vocalis.kit.wakeup import Wakeup
from vocalis.storage.files import AudioStore
from vocalis.synthesis.service import rendition, synthesize_file

log = logging.getLogger(__name__)

MAX_HEARTBEAT_INTERVAL = 5.0  # also how soon a worker elsewhere notices a cancel


@dataclass(frozen=True)
class Result:
    content: bytes
    extension: str
    audio_ms: int


class JobWorker:
    def __init__(
        self,
        *,
        database: Database,
        engine: SpeechEngine,
        store: AudioStore,
        clock: Clock,
        policy: JobPolicy,
        marker: Marker,
        concurrency: int = 1,
        poll_seconds: float = 1.0,
        worker_id: str | None = None,
        on_finished: Callable[[], None] = lambda: None,
    ) -> None:
        self.worker_id = worker_id or process_id()
        self._database = database
        self._engine = engine
        self._store = store
        self._clock = clock
        self._policy = policy
        self._marker = marker
        self._concurrency = concurrency
        self._poll = poll_seconds
        self._on_finished = on_finished
        self._wakeup = Wakeup()
        self._stopping = False
        self._claiming = 0  # slots between asking for a job and having started it
        self._claims_settled = asyncio.Event()
        self._claims_settled.set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._working: dict[str, tuple[asyncio.Task[Result], asyncio.Event]] = {}

    def wake(self) -> None:
        """A job was just committed: look now instead of at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        await self._engine.wait_ready()
        log.info("worker %s started (%d at a time)", self.worker_id, self._concurrency)
        await asyncio.gather(*(self._slot() for _ in range(self._concurrency)))

    async def stop(self, grace: float) -> None:
        """Stop claiming; let running jobs finish for `grace` seconds, then hand them back."""
        self._stopping = True
        self._wakeup.set()
        # A job claimed as the signal came is ours too: it gets the grace period like the others
        # (left alone, it would sit leased to a process that is gone until the lease ran out).
        with suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._claims_settled.wait()
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _slot(self) -> None:
        while not self._stopping:
            self._wakeup.arm()
            started = await self._claim_and_start()
            if started is None:
                await self._wakeup.wait(self._poll)
                continue
            job_id, task = started
            try:
                await task
            finally:
                self._running.pop(job_id, None)

    async def _claim_and_start(self) -> tuple[str, asyncio.Task[None]] | None:
        """Claim a due job and start it, counted among the running at once."""
        self._claiming += 1
        self._claims_settled.clear()
        try:
            job = await self._claim()
        except Exception:
            log.exception("claiming a job failed; retrying")
            job = None
        finally:
            self._claiming -= 1
            if not self._claiming:
                self._claims_settled.set()
        if job is None:
            return None
        task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
        self._running[job.id] = task
        return job.id, task

    async def _claim(self) -> Job | None:
        now = self._clock.now()
        # Mostly nothing is due: a read says so without a write transaction (a poll a second).
        if not await self._database.has_rows(queue.due_jobs(now)):
            return None
        async with self._database.session(write=True) as session:
            return await queue.claim_next(
                session, worker_id=self.worker_id, now=now, policy=self._policy
            )

    def forget(self, job_id: str) -> None:
        """The job was canceled through this process: stop working on it now, not at the next
        heartbeat (other processes' workers find out from their heartbeat)."""
        running = self._working.get(job_id)
        if running is not None:
            work, lost = running
            lost.set()
            work.cancel()

    async def _execute(self, job: Job) -> None:
        log.info("job %s: attempt %d on %s", job.id, job.attempts, self.worker_id)
        work = asyncio.create_task(self._produce(job))
        lost = asyncio.Event()
        self._working[job.id] = (work, lost)
        beat = asyncio.create_task(self._heartbeat(job.id, work, lost))
        try:
            result = await work
        except asyncio.CancelledError:
            if lost.is_set():
                log.info("job %s: no longer ours (canceled or taken over); stopped", job.id)
                return
            await self._release(job.id)  # shutting down: give it back untouched
            raise
        except VocalisError as exc:  # the job itself is wrong (e.g. its voice is gone)
            await self._fail(job, exc.code, exc.detail, retryable=False)
            return
        except Exception as exc:
            log.exception("job %s: attempt %d failed", job.id, job.attempts)
            await self._fail(
                job, "synthesis_failed", f"{type(exc).__name__}: {exc}", retryable=True
            )
            return
        finally:
            beat.cancel()
            self._working.pop(job.id, None)
        await self._finish(job, result)

    async def _heartbeat(
        self, job_id: str, work: asyncio.Task[Result], lost: asyncio.Event
    ) -> None:
        interval = min(self._policy.lease.total_seconds() / 3, MAX_HEARTBEAT_INTERVAL)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._database.session(write=True) as session:
                    ours = await queue.heartbeat(
                        session,
                        job_id,
                        worker_id=self.worker_id,
                        now=self._clock.now(),
                        policy=self._policy,
                    )
            except Exception:
                log.warning("job %s: heartbeat failed; will retry", job_id, exc_info=True)
                continue
            if not ours:
                lost.set()
                work.cancel()
                return

    async def _produce(self, job: Job) -> Result:
        request = job.request or {}
        audio_format = AudioFormat(job.format)
        speed = float(request.get("speed", 1.0))
        sample_rate = request.get("sample_rate")
        created = self._clock.now()
        if job.kind == "batch":
            entries = []
            for item in request["items"]:
                prepared = await asyncio.to_thread(
                    self._engine.prepare, item["text"], item["voice"]
                )
                how = rendition(prepared, speed, audio_format, sample_rate)
                speech = await synthesize_file(
                    self._engine, prepared, how, marker=self._marker, created=created
                )
                entries.append(
                    BatchEntry(
                        item["id"],
                        prepared.voice.id,
                        prepared.characters,
                        speech.audio_ms / 1000,
                        speech.content,
                    )
                )
            archive = await asyncio.to_thread(build_zip, job.id, audio_format, entries)
            total_ms = sum(round(entry.duration_seconds * 1000) for entry in entries)
            return Result(archive, "zip", total_ms)
        prepared = await asyncio.to_thread(self._engine.prepare, request["text"], request["voice"])
        how = rendition(prepared, speed, audio_format, sample_rate)
        speech = await synthesize_file(
            self._engine, prepared, how, marker=self._marker, created=created
        )
        return Result(speech.content, audio_format.extension, speech.audio_ms)

    async def _finish(self, job: Job, result: Result) -> None:
        # One file per attempt: a worker that lost its lease can never overwrite the winner's.
        path = await self._store.write(
            job.account_id, f"{job.id}-{job.attempts}.{result.extension}", result.content
        )
        async with self._database.session(write=True) as session:
            done = await queue.complete(
                session,
                job.id,
                worker_id=self.worker_id,
                now=self._clock.now(),
                policy=self._policy,
                audio_ms=result.audio_ms,
                audio_bytes=len(result.content),
                result_path=path,
            )
        if done:
            log.info("job %s: succeeded (%d ms of audio)", job.id, result.audio_ms)
            self._on_finished()
        else:
            await self._store.delete(path)
            log.info("job %s: finished but no longer ours; result discarded", job.id)

    async def _fail(self, job: Job, code: str, detail: str, *, retryable: bool) -> None:
        async with self._database.session(write=True) as session:
            status = await queue.fail(
                session,
                job.id,
                worker_id=self.worker_id,
                now=self._clock.now(),
                policy=self._policy,
                code=code,
                detail=detail,
                retryable=retryable,
            )
        log.info("job %s: attempt failed (%s), now %s", job.id, code, status)
        if status == "failed":
            self._on_finished()

    async def _release(self, job_id: str) -> None:
        async def give_back() -> None:
            async with self._database.session(write=True) as session:
                await queue.release(
                    session, job_id, worker_id=self.worker_id, now=self._clock.now()
                )

        await asyncio.shield(give_back())
