"""The facade every front end and the CLI use: :class:`JobService` (see :mod:`services.jobs`).

It owns the composition of the package (records, the in-memory table, settlement, publishing,
runner, recovery, the jobs claim) and the steps that span them: submit (reserve quota and write the
row in one transaction, then queue), the queries, cancel and delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.backends.base import Backend
from services.backends.costs import Pricing
from services.db import DATABASE_ERRORS, Database
from services.errors import BackendError, JobCancelled, JobNotFound, NotAllowed, StorageError, StorageFull
from services.jobs.active import ActiveJob, ActiveJobs, JobStats, user_hash
from services.jobs.codec import request_images
from services.jobs.gate import RequestGate
from services.jobs.lock import JobsClaim
from services.jobs.pausing import PauseNotices
from services.jobs.pending import PendingRequests
from services.jobs.publishing import Publisher, Publishing
from services.jobs.records import JobRecord, JobRecords, JobStatus, NewJob, stored_error
from services.jobs.recovery import Recovery, RecoveryReport
from services.jobs.roles import Role
from services.jobs.runner import JobRunner
from services.jobs.settlement import Settlement
from services.jobs.sinks import SINK_TIMEOUT_S, JobSink, SinkFactory, SinkNotifier
from services.jobs.storage_watch import StorageWatch
from services.quota import WINDOW_S, QuotaBook, QuotaStatus
from services.store import ImageStore
from services.types import GenerationRequest, InputImage, JobOutcome, Requester

__all__ = ["JobService", "QueuedJob", "SubmittedJob"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SubmittedJob:
    job_id: str
    position: int  # 1 = starts next


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """One waiting job as the admins' queue listing shows it."""

    job_id: str
    requester_key: str
    images: int
    server_id: str = ""  # where it was asked: admins see their own server's jobs


class JobService:
    """Shared by every front end and the CLI; see :mod:`services.jobs`."""

    def __init__(
        self,
        *,
        db: Database,
        quota: QuotaBook,
        store: ImageStore,
        backend: Backend,
        watermarker: Publisher,
        max_concurrency: int = 2,
        clock: Callable[[], float] = time.time,
        sink_timeout_s: float = SINK_TIMEOUT_S,
        gate: RequestGate | None = None,
        pricing: Pricing | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.db = db
        self.quota = quota
        self.store = store
        self.backend = backend
        self.watermarker = watermarker
        self.max_concurrency = max_concurrency
        self.sink_timeout_s = sink_timeout_s
        self.gate = gate
        self.pricing = pricing or Pricing(lambda: backend.limits)  # how jobs are charged
        self._clock = clock
        self._factories: dict[str, SinkFactory] = {}
        self._lock = JobsClaim(db)
        self._records = JobRecords(db, store)
        self._active = ActiveJobs()
        self.storage = StorageWatch(data_dir=db.data_dir, active=self._active)
        self._notify = SinkNotifier(sink_timeout_s)
        self._settle = Settlement(
            db=db,
            quota=quota,
            records=self._records,
            active=self._active,
            clock=clock,
            gate=gate,
            pricing=self.pricing,
        )
        self._publishing = Publishing(store=store, watermarker=watermarker, records=self._records)
        self._runner = JobRunner(
            active=self._active,
            backend=backend,
            records=self._records,
            publishing=self._publishing,
            settle=self._settle,
            notify=self._notify,
            clock=clock,
            storage=self.storage,
        )
        self._recovery = Recovery(
            records=self._records, active=self._active, settle=self._settle, notify=self._notify, quota=quota
        )
        self.pending = PendingRequests(db, clock=clock)
        self._pauses = PauseNotices(self._active, self._notify)
        self.role = Role.ALL
        self._started = False
        self._stopping = False
        self._recovering: asyncio.Task[RecoveryReport] | None = None

    # Front ends ----------------------------------------------------------------------------

    def register_platform(self, platform: str, factory: SinkFactory) -> None:
        """How to talk back to users of ``platform`` (``origin["platform"]``); register before start()."""
        self._factories[platform] = factory

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self, *, recover_in_background: bool = False, role: Role = Role.ALL) -> RecoveryReport:
        """Lock the data dir, resume or refund what a previous process left, start the workers.

        With ``recover_in_background`` it returns once the quick part is done (orphaned
        reservations refunded, interrupted jobs marked queued, unstarted requests read):
        submits are taken at once and the unfinished jobs are queued again by a task, a batch
        at a time; the workers start when it ends (so the fair order holds across old and new
        jobs). The report fills as it goes; :meth:`recovered` waits for it.
        """
        if self._started:
            raise RuntimeError("JobService already started")
        if role is not Role.ALL and self.db.dialect != "postgresql":
            raise ValueError(f"role {role} needs a shared PostgreSQL database")
        self.role = role
        await self._lock.acquire()
        try:
            upto = await self._recovery.prepare()
            not_started = await self.pending.tell_unstarted(self._factories, self._notify)
        except BaseException:
            await self._lock.release()
            raise
        self._stopping = False
        self._started = True
        report = RecoveryReport()
        recovering = asyncio.create_task(
            self._recover(report, upto, len(not_started), background=recover_in_background),
            name="easel-recovery",
        )
        self._recovering = recovering
        if not recover_in_background:
            try:
                await self.recovered()
            except BaseException:  # e.g. the store is down: refuse to start, nothing refunded
                self._recovering = None
                self._started = False
                await self._lock.release()
                raise
        return report

    async def recovered(self) -> RecoveryReport:
        """Wait until the jobs a previous process left are all queued again (or refunded)."""
        if self._recovering is None:
            raise RuntimeError("JobService is not started")
        return await asyncio.shield(self._recovering)

    @property
    def recovering(self) -> bool:
        """True while :meth:`start` is still queueing the jobs a previous process left."""
        return self._recovering is not None and not self._recovering.done()

    async def _recover(
        self, report: RecoveryReport, upto: int, not_started: int, *, background: bool
    ) -> RecoveryReport:
        try:
            await self._recovery.resume(self._factories, report, upto=upto)
        except Exception:
            if not background:
                raise
            # Already serving: run what is queued; the rest stays unfinished for the next start.
            log.exception("jobs.recovery_failed", extra={"resumed": len(report.resumed)})
        if not self._stopping:
            self._runner.start(self.max_concurrency)
        log.info(
            "jobs.started",
            extra={
                "workers": self.max_concurrency,
                "backend": self.backend.name,
                "resumed": len(report.resumed),
                "refunded": len(report.refunded),
                "not_started": not_started,
            },
        )
        return report

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop taking jobs, give running ones ``grace_s`` to finish, then interrupt them.

        Interrupted and queued jobs stay unfinished in SQLite (resumed by the next start);
        waiters in this process get :class:`JobCancelled`. Closes nothing it did not open.
        """
        if not self._started:
            return
        self._stopping = True
        if self._recovering is not None and not self._recovering.done():
            self._recovering.cancel()  # the rest stays unfinished in SQLite for the next start
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovering
        self._recovering = None
        await self._pauses.close()
        await self._runner.stop(grace_s)
        await self.pending.close()
        self._active.abandon(
            lambda: JobCancelled(
                "easel is restarting; this job will continue when it is back.",
                log_detail="stopped before the job finished",
            )
        )
        self._started = False
        await self._lock.release()
        log.info("jobs.stopped")

    # Submitting ----------------------------------------------------------------------------

    async def submit(
        self,
        requester: Requester,
        request: GenerationRequest,
        *,
        origin: Mapping[str, Any],
        sink: JobSink | None = None,
        pending_id: str | None = None,
    ) -> SubmittedJob:
        """Reserve quota (images × the model's units, :meth:`Pricing.reserve`), persist and queue a job;
        raises :class:`QuotaExceeded` before writing.

        ``origin`` is JSON-able and names the platform (``origin["platform"]``) whose
        registered factory builds the job's sink; ``sink`` overrides that for this run
        only (after a restart the factory is used). ``pending_id`` is the request's row in
        :mod:`services.jobs.pending`, deleted in the transaction that writes the job.
        """
        if not self._started or self._stopping:
            raise RuntimeError("JobService is not running (call start() first)")
        origin_dict = dict(origin)
        platform = origin_dict.get("platform")
        if not isinstance(platform, str) or not platform:
            raise ValueError('origin must name its platform: origin["platform"]')
        if sink is None and platform not in self._factories:
            raise ValueError(f"no sink factory registered for platform {platform!r}")
        if self.gate is not None:  # prompt policy: refused before anything is written or spent
            await self.gate.check(requester, request)
        job_id = uuid.uuid4().hex
        images = request_images(request)
        refs = {name: await self.store.ref_for(image) for name, image in images.items()}
        now = self._clock()
        row = NewJob.encode(job_id, requester, origin_dict, request, refs, created_at=now)  # TypeError now
        try:
            async with self.db.transaction() as tx:
                units = self.pricing.reserve(request)
                reservation = await self.quota.reserve(requester, units, job_id, tx=tx)
                await self._records.insert(tx, row, reservation.id)
                if pending_id is not None:
                    await self.pending.forget(pending_id, tx=tx)
        except StorageFull as no_space:  # rolled back: nothing spent; the operator sees storage.full
            self.storage.report(no_space)
            raise
        except DATABASE_ERRORS as exc:  # anything else the database refuses: rolled back, nothing spent
            log.error(
                "job.submit_failed", exc_info=True, extra={"job_id": job_id, "user": user_hash(requester.key)}
            )
            raise BackendError(log_detail=f"could not store the job: {type(exc).__name__}") from exc
        job = ActiveJob(job_id, requester, request, origin_dict, reservation.id, sink)
        self._active.hold(job)
        self._active.counts["submitted"] += 1
        try:
            for name, image in images.items():
                await self.store.put_input(image, refs[name])
            if job.sink is None:
                job.sink = self._factories[platform](_queued_record(job, now))
            job.park_inputs(refs)  # stored: only references wait in RAM (services.jobs.inputs)
        except StorageError as full:  # the input image did not fit: refunded, the user is told so
            if isinstance(full, StorageFull):
                self.storage.report(full)
            await self._settle.failed(job, full, JobStatus.FAILED)
            raise
        except Exception as exc:
            log.exception("job.submit_failed", extra={"job_id": job_id, "user": job.user})
            failure = BackendError(log_detail=f"could not store the job: {type(exc).__name__}")
            await self._settle.failed(job, failure, JobStatus.FAILED)
            raise failure from exc
        position = self._active.enqueue(job)
        log.info(
            "job.queued",
            extra={
                "job_id": job_id,
                "user": job.user,
                "platform": platform,
                "backend": self.backend.name,
                "operation": request.operation.value,
                "images": row.n_requested,
                "units": units,
                "position": position,
            },
        )
        try:
            await self._notify.queued(job.sink, job_id, position)
            if self.paused:
                await self._pauses.queued_while_paused(job)
        finally:
            job.announced.set()
        return SubmittedJob(job_id, position)

    # Queries and commands ------------------------------------------------------------------

    async def history(self, requester: Requester, limit: int = 20) -> list[JobRecord]:
        """The person's last ``limit`` jobs, newest first, whatever platform they were asked on."""
        return await self._records.recent_of(requester.key, limit)

    async def find_job(self, prefix: str) -> JobRecord | None:
        """The job an invisible mark names (its id prefix), or None (:mod:`services.provenance.verify`)."""
        return await self._records.find_by_prefix(prefix)

    async def get_job(self, job_id: str) -> JobRecord:
        """The stored job (``JobNotFound`` if unknown)."""
        record = await self._records.get(job_id)
        if record is None:
            raise JobNotFound(log_detail=f"no job {job_id!r}")
        return record

    async def wait(self, job_id: str) -> JobOutcome:
        """The job's outcome once it is finished; raises the job's :class:`EaselError`."""
        job = self._active.get(job_id)
        if job is not None:
            await job.finished.wait()
            if job.error is not None:
                raise job.error
            assert job.outcome is not None
            return job.outcome
        record = await self.get_job(job_id)
        if record.status is JobStatus.DONE and not record.deleted and record.request is not None:
            return await self._publishing.republish(record)
        if record.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise stored_error(record.error_kind, record.error)
        raise JobNotFound(log_detail=f"job {job_id} is {record.status} and not running in this process")

    async def load_original(self, job_id: str, index: int) -> InputImage:
        """The clean stored original of image ``index`` (``JobNotFound`` if gone or deleted)."""
        return await self.store.load_original(job_id, index)

    async def quota_status(self, requester: Requester) -> QuotaStatus:
        """The person's units (:meth:`QuotaBook.status`) and the images their jobs made in the window."""
        images = await self._records.images_since(requester.key, self._clock() - WINDOW_S)
        return dataclasses.replace(await self.quota.status(requester), images=images)

    @property
    def paused(self) -> bool:
        return not self._active.queue.open.is_set()

    def pause(self) -> bool:
        """Stop starting jobs (queued ones wait, running ones finish); False if already paused.

        The requesters of queued jobs are told, once each (:class:`PauseAwareSink`), in the
        background. Authorisation and the audit entry are the admin command's business (commands/admin.py).
        """
        was_running = self._active.queue.open.is_set()
        self._active.queue.open.clear()
        if was_running:
            self._pauses.paused()
        return was_running

    def resume(self) -> bool:
        """Start queued jobs again (those told of the pause hear it); False if generation was not paused."""
        was_paused = not self._active.queue.open.is_set()
        self._active.queue.open.set()
        if was_paused:
            self._pauses.resumed()
        return was_paused

    def queued(self) -> list[QueuedJob]:
        """The waiting jobs in the order they will start (``/easel admin queue``)."""
        jobs = (self._active.unfinished(job_id) for job_id in self._active.queue.snapshot())
        return [
            QueuedJob(
                job.job_id, job.requester.key, job.request.images_requested, job.requester.venue.server_id
            )
            for job in jobs
            if job is not None
        ]

    async def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (quota refunded, sink told). False if too late.

        Authorisation (is this the requester?) is the front end's business.
        """
        job = self._active.unfinished(job_id)
        if job is None:
            await self.get_job(job_id)  # JobNotFound if it never existed
            return False
        return await self._runner.cancel(job)

    async def delete(self, job_id: str, *, by: Requester, moderator: bool = False) -> JobRecord:
        """Delete a result for ``by``: the one rule for every front end.

        Allowed for the stored requester, or when the front end vouches that ``by`` is a
        moderator on its platform (Discord: Manage Messages). Anything carried in a button is
        never trusted. Raises :class:`NotAllowed` or :class:`JobNotFound`; returns the record
        so the front end can remove the post.
        """
        record = await self.get_job(job_id)
        if record.requester.key != by.key and not moderator:
            raise NotAllowed(log_detail=f"{user_hash(by.key)} may not delete job {job_id}")
        await self.mark_deleted(job_id)
        return record

    async def mark_deleted(self, job_id: str) -> None:
        """The user deleted the post: forget the stored originals (buttons answer "gone")."""
        job = self._active.unfinished(job_id)
        if job is not None and not job.phase.finished:
            await self.cancel(job_id)
        if not await self._records.mark_deleted(job_id, deleted_at=self._clock()):
            raise JobNotFound(log_detail=f"no job {job_id!r}")
        await self.store.delete_job_images(job_id)
        log.info("job.deleted", extra={"job_id": job_id})

    def stats(self) -> JobStats:
        self.storage.is_full()  # freeing space clears the condition even with no job retrying
        return self._active.stats()


def _queued_record(job: ActiveJob, created_at: float) -> JobRecord:
    """What the sink factory gets for a job just submitted (its row, without reading it back)."""
    return JobRecord(
        job_id=job.job_id,
        requester=job.requester,
        request=job.request,
        origin=dict(job.origin),
        status=job.phase,
        created_at=datetime.fromtimestamp(created_at, UTC),
        n_requested=job.request.images_requested,
    )
