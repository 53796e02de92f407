"""The worker pool: take the next job from the fair queue, run it, settle it, tell its sink.

Usage::

    runner = JobRunner(active=active, backend=backend, records=records, publishing=publishing,
                       settle=settle, notify=notify, clock=time.time, storage=watch)
    runner.start(workers=2)
    ...
    cancelled = await runner.cancel(job)     # queued or running; False if too late
    await runner.stop(grace_s=5.0)           # interrupted jobs stay unfinished in SQLite

Running one job: mark it running, call the backend (a :class:`ResumableBackend` gets
the job's stored resume token and persists a new one, so a restart polls the same
generation instead of paying for a new one), publish the result, hand it to the sink's
``deliver`` and settle. A full disk while storing keeps the result and waits for space
(:mod:`services.jobs.storage_watch`) rather than failing the job, and so does a full disk at
the final write after delivery (the result is out: charged once space is back). Every way a
job can end is settled here exactly once: done (quota committed for what was delivered, priced
by the delivering model), failed or cancelled (refunded, sink told). Only
a shutdown leaves a job unsettled, on purpose: it is not the user's fault, so the next
start resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from services.backends.base import Backend, ProgressCallback, ResumableBackend
from services.errors import BackendError, EaselError, JobCancelled, StorageFull
from services.jobs.active import ActiveJob, ActiveJobs
from services.jobs.inputs import with_inputs
from services.jobs.publishing import Publishing
from services.jobs.records import JobRecords, JobStatus
from services.jobs.settlement import Settlement
from services.jobs.sinks import SinkNotifier
from services.jobs.storage_watch import StorageWatch
from services.types import GenerationResult, JobOutcome, Progress

__all__ = ["JobRunner"]

log = logging.getLogger(__name__)


class _DeliveryFailed(Exception):
    """The sink raised from ``deliver``."""


@dataclass(eq=False, kw_only=True)
class JobRunner:
    """See the module docstring."""

    active: ActiveJobs
    backend: Backend
    records: JobRecords
    publishing: Publishing
    settle: Settlement
    notify: SinkNotifier
    clock: Callable[[], float]
    storage: StorageWatch
    next_job: Callable[[], Awaitable[ActiveJob | None]] | None = None  # default: the in-memory fair queue
    _workers: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    def start(self, workers: int) -> None:
        self._workers = [
            asyncio.create_task(self._worker(), name=f"easel-worker-{n}") for n in range(workers)
        ]

    async def stop(self, grace_s: float) -> None:
        """Take no more jobs; give running ones ``grace_s`` to finish, then interrupt them."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        running = self.active.tasks()
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def cancel(self, job: ActiveJob) -> bool:
        """Cancel a queued or running job (quota refunded, sink told). False if too late."""
        if job.phase is JobStatus.QUEUED and self.active.queue.remove(job.job_id):
            cancelled = JobCancelled()
            await asyncio.shield(self.settle.failed(job, cancelled, JobStatus.CANCELLED))
            log.info(
                "job.cancelled", extra={"job_id": job.job_id, "user": job.user, "backend": self.backend.name}
            )
            await self.notify.failed(job.sink, job.job_id, cancelled)
            return True
        if job.phase is JobStatus.RUNNING and job.task is not None and not job.task.done():
            job.cancel_requested = True
            job.task.cancel()
            if len(self.active.running()) == 1:
                # GPU hosts interrupt whatever is running: only safe when it is this job alone.
                with contextlib.suppress(Exception):
                    await self.backend.cancel()
            await job.finished.wait()
            return job.phase is JobStatus.CANCELLED
        return False

    async def _next_queued(self) -> ActiveJob | None:
        job = self.active.unfinished(await self.active.queue.get())
        return job if job is not None and job.phase is JobStatus.QUEUED else None

    async def _worker(self) -> None:
        next_job = self.next_job or self._next_queued
        while True:
            job = await next_job()
            if job is None:
                continue
            job_id = job.job_id
            self.active.start(job)
            job.task = asyncio.create_task(self._run(job), name=f"easel-job-{job_id[:8]}")
            await asyncio.wait([job.task])
            if not job.task.cancelled() and job.task.exception() is not None:
                # Only if settling itself failed (the database is gone?): free the waiters.
                log.error("job.runner_crashed", exc_info=job.task.exception(), extra={"job_id": job_id})
                if not job.finished.is_set():
                    job.error = BackendError(log_detail="job runner crashed")
                    self.active.finish(job, JobStatus.FAILED)

    async def _run(self, job: ActiveJob) -> None:
        started = time.monotonic()
        base_log = {"job_id": job.job_id, "user": job.user, "backend": self.backend.name}
        try:
            await job.announced.wait()
            outcome = await self._produce_until_stored(job, base_log)
            await self._deliver(job, outcome, base_log)
        except asyncio.CancelledError:
            if not job.cancel_requested:
                raise  # shutdown: stays unfinished in SQLite, resumed by the next start
            cancelled = JobCancelled()
            await asyncio.shield(self.settle.failed(job, cancelled, JobStatus.CANCELLED))
            log.info("job.cancelled", extra={**base_log, "duration_ms": _ms(started)})
            await self.notify.failed(job.sink, job.job_id, cancelled)
            return
        except _DeliveryFailed as exc:
            log.error(
                "job.failed",
                exc_info=exc.__cause__,
                extra={**base_log, "duration_ms": _ms(started), "error_kind": "delivery_failed"},
            )
            undelivered = EaselError(log_detail=f"sink.deliver raised {type(exc.__cause__).__name__}")
            await self._fail(job, undelivered, JobStatus.FAILED)
            return
        except EaselError as error:
            log.warning(
                "job.failed",
                extra={
                    **base_log,
                    "duration_ms": _ms(started),
                    "error_kind": type(error).__name__,
                    "detail": error.log_detail,
                },
            )
            await self._fail(job, error, JobStatus.FAILED)
            return
        except Exception:
            log.exception("job.failed", extra={**base_log, "duration_ms": _ms(started), "error_kind": "bug"})
            await self._fail(
                job, BackendError(log_detail="unexpected error in the job runner"), JobStatus.FAILED
            )
            return
        log.info(
            "job.done",
            extra={
                **base_log,
                "duration_ms": _ms(started),
                "model": outcome.model,
                "images": len(outcome.images),
                "filtered": outcome.filtered,
            },
        )

    async def _produce_until_stored(self, job: ActiveJob, base_log: Mapping[str, object]) -> JobOutcome:
        """Generate and store the result; while the disk is full, keep the result and retry storing it.

        The backend is called at most once here: a full disk costs the job time, never a second
        generation. Past the watch's ``max_wait_s`` the :class:`StorageFull` is the job's failure.
        """
        waiting_since: float | None = None
        while True:
            try:
                outcome = await self._produce(job, base_log)
            except StorageFull as error:
                self.storage.report(error)
                now = time.monotonic()
                if waiting_since is None:
                    waiting_since = now
                    log.warning("job.waiting_for_storage", extra={**base_log, "path": error.path})
                if now - waiting_since >= self.storage.max_wait_s:
                    raise
                await asyncio.sleep(self.storage.retry_s)
                continue
            self.storage.recovered()
            return outcome

    async def _produce(self, job: ActiveJob, base_log: Mapping[str, object]) -> JobOutcome:
        if job.redeliver is not None:
            outcome = await self.publishing.republish(job.redeliver)
            log.info("job.redelivering", extra=base_log)
            return outcome
        if job.generated is None:
            if job.inputs:  # read back from the store only now (services.jobs.inputs)
                job.request = await with_inputs(job.request, job.inputs, self.records.store)
                job.inputs = None
            await self.records.mark_running(job.job_id, started_at=self.clock())
            if job.resumed:  # originals of an interrupted attempt must not mix with this one
                await self.publishing.discard(job.job_id)
            log.info("job.started", extra={**base_log, "resumed": job.resumed})
            await self.notify.started(job.sink, job.job_id)
            job.generated = await self._generate(job)
        return await self.publishing.publish(job.job_id, job.request, job.requester, job.generated)

    async def _deliver(self, job: ActiveJob, outcome: JobOutcome, base_log: Mapping[str, object]) -> None:
        """Hand the outcome to the sink, then charge it (:meth:`Settlement.done` prices it)."""
        job.phase = JobStatus.DELIVERING
        try:
            if job.sink is None:
                raise RuntimeError("no sink to deliver to")
            await job.sink.deliver(outcome)
        except Exception as exc:
            raise _DeliveryFailed() from exc
        await self._settle_done_until_stored(job, outcome, base_log)

    async def _settle_done_until_stored(
        self, job: ActiveJob, outcome: JobOutcome, base_log: Mapping[str, object]
    ) -> None:
        """Write the job's last row; a full disk here is waited out, never turned into a failure.

        The result is already posted, so neither refunding it nor telling the user it failed would
        be true. The transaction rolled back whole (quota still reserved, row still 'delivering'),
        so retrying it charges once; a restart meanwhile re-posts the stored result, charged once.
        There is no give-up time: the job holds its worker until space is freed or easel stops.
        """
        waiting = False
        while True:
            try:
                await asyncio.shield(self.settle.done(job, outcome))
            except StorageFull as error:
                self.storage.report(error)
                if not waiting:
                    waiting = True
                    log.warning(
                        "job.waiting_for_storage", extra={**base_log, "path": error.path, "step": "settle"}
                    )
                await asyncio.sleep(self.storage.retry_s)
                continue
            if waiting:
                self.storage.recovered()
            return

    async def _fail(self, job: ActiveJob, error: EaselError, status: JobStatus) -> None:
        await asyncio.shield(self.settle.failed(job, error, status))
        await self.notify.failed(job.sink, job.job_id, error)

    async def _generate(self, job: ActiveJob) -> GenerationResult:
        """Call the backend; backends with asynchronous generations get a resume token persisted
        on the job row, so a restart polls the same generation rather than paying again."""
        progress = self._progress_forwarder(job)
        if not isinstance(self.backend, ResumableBackend):
            return await self.backend.generate(job.request, progress=progress)

        async def save(token: str) -> None:
            job.resume_token = token
            await self.records.save_resume_token(job.job_id, token)

        return await self.backend.generate_resumable(
            job.request, progress, resume_token=job.resume_token, on_resume_token=save
        )

    def _progress_forwarder(self, job: ActiveJob) -> ProgressCallback:
        async def forward(progress: Progress) -> None:
            await self.notify.progress(job.sink, job.job_id, progress)

        return forward


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
