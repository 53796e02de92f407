"""The facade every front end and the CLI use: :class:`JobService` (see :mod:`services.jobs`).

It composes the package (records, the in-memory table, settlement, publishing, runner, recovery,
the shared queue on PostgreSQL) and runs the steps that span them: submit (quota and row in one
transaction, then queue), the queries, cancel and delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
import uuid
from collections.abc import Callable, Mapping
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
from services.jobs.queued import QueuedJob, SubmittedJob
from services.jobs.records import JobRecord, JobRecords, JobStatus, NewJob, stored_error
from services.jobs.recovery import Recovery, RecoveryReport
from services.jobs.roles import Role
from services.jobs.runner import JobRunner
from services.jobs.settlement import Settlement
from services.jobs.shared import SharedJobs
from services.jobs.shared_queue import LEASE_S, SharedQueue
from services.jobs.sinks import SINK_TIMEOUT_S, JobSink, SinkFactory, SinkNotifier
from services.jobs.storage_watch import StorageWatch
from services.quota import WINDOW_S, QuotaBook, QuotaStatus
from services.store import ImageStore
from services.types import GenerationRequest, InputImage, JobOutcome, Requester

__all__ = ["JobService", "QueuedJob", "SubmittedJob"]

log = logging.getLogger(__name__)


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
        worker_id: str | None = None,
        lease_s: float = LEASE_S,
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
        shared = db.dialect == "postgresql"  # the queue lives in the shared database (services.jobs.shared)
        self._lock = JobsClaim(db, exclusive=not shared)
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
        self.worker_id = worker_id or f"{socket.gethostname()}:{db.data_dir.resolve()}"
        self._shared: SharedJobs | None = None
        if shared:
            self._shared = SharedJobs(
                queue=SharedQueue(db, self.worker_id, clock, lease_s),
                active=self._active,
                recovery=self._recovery,
                notify=self._notify,
                on_cancel=self._runner.cancel,
            )
            self._runner.next_job = self._shared.next_for_runner
        self.pending = PendingRequests(db, clock=clock, owner=self.worker_id if shared else "")
        self._pauses = PauseNotices(self._active, self._notify, self._shared)
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
        """Lock the data dir, resume or refund what a previous process left, start the workers (``role``).

        With ``recover_in_background`` it returns once the quick part is done (orphans refunded,
        interrupted jobs marked queued, unstarted requests read); a task queues the unfinished jobs
        again a batch at a time and the workers start when it ends (:meth:`recovered` waits for the
        report). On a shared database nothing is scanned: jobs come back by their leases.
        """
        if self._started:
            raise RuntimeError("JobService already started")
        if role is not Role.ALL and self._shared is None:
            raise ValueError(f"role {role} needs a shared PostgreSQL database")
        self.role = role
        await self._lock.acquire()
        try:
            upto = await self._recovery.prepare(requeue=self._shared is None)
            not_started = await self.pending.tell_unstarted(self._factories, self._notify)
            if self._shared is not None:  # no scan: other processes' jobs come back by their leases
                await self._shared.start(self._factories)
                upto = 0
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
        if not self._stopping and self.role.runs_jobs:
            self._runner.start(self.max_concurrency)
        counts = {
            "resumed": len(report.resumed),
            "refunded": len(report.refunded),
            "not_started": not_started,
        }
        log.info(
            "jobs.started", extra={"workers": self.max_concurrency, "backend": self.backend.name, **counts}
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
        if self._shared is not None:  # unfinished jobs' leases given back: another worker goes on
            await self._shared.stop()
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
        if not self.role.takes_submits:
            raise RuntimeError(f"a {self.role} process takes no submits")
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
                # On a shared database: its fair round, and a lease until its place is told.
                placed = None if self._shared is None else await self._shared.queue.place(tx, requester.key)
                await self._records.insert(tx, row, reservation.id, placed)
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
                job.sink = self._factories[platform](job.queued_record(now))
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
        if self._shared is None:
            position = self._active.enqueue(job)
        else:
            position = await self._shared.enqueue(job, pinned=sink is not None)
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
            await self._pauses.queued_while_paused(job)
        finally:
            job.announced.set()
            if self._shared is not None and sink is None:
                await self._shared.queue.open_for_claims(job_id)
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
        if self._shared is not None:  # run by any process: wait until it ends there
            await self._shared.until_settled(job_id, self.get_job)
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
        return self._pauses.switched_off

    def pause(self) -> bool:
        """Stop starting jobs (queued ones wait, running ones finish); False if already paused.

        Every process's workers on a shared database. The requesters of queued jobs are told, once
        each (:class:`PauseAwareSink`), in the background. Authorisation and the audit entry are
        the admin command's business (commands/admin.py).
        """
        return self._pauses.switch(on=False)

    def resume(self) -> bool:
        """Start queued jobs again (those told of the pause hear it); False if generation was not paused."""
        return self._pauses.switch(on=True)

    async def queued(self) -> list[QueuedJob]:
        """The waiting jobs in the order they will start (``/easel admin queue``)."""
        return await self._shared.waiting() if self._shared is not None else self._active.waiting()

    async def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (quota refunded, sink told). False if too late.

        Authorisation (is this the requester?) is the front end's business.
        """
        job = self._active.unfinished(job_id)
        if job is not None:
            return await self._runner.cancel(job)
        if self._shared is not None:
            return await self._shared.cancel(job_id, self._settle)
        await self.get_job(job_id)  # JobNotFound if it never existed
        return False

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
        stats = self._active.stats()
        if self._shared is not None:  # the shared queue's depth, as of its last renewal
            stats = dataclasses.replace(stats, queue_depth=self._shared.depth + stats.queue_depth)
        return stats
