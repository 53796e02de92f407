"""The job runner every front end shares: quota, persistence, fair queue, workers, recovery.

Usage::

    jobs = JobService(db=db, quota=QuotaBook(db, 25), store=ImageStore(data_dir, db),
                      backend=backend, watermarker=Watermarker("AI generated"), max_concurrency=2)
    jobs.register_platform("discord", lambda record: DiscordSink(client, record.origin))
    report = await jobs.start()                 # resumes or refunds what a crash left behind
    submitted = await jobs.submit(requester, request, origin={"platform": "discord", ...})
    outcome = await jobs.wait(submitted.job_id) # or let the sink post it
    await jobs.stop()

The life of a job (status column of ``jobs``)::

    submit ──► queued ──► running ──► delivering ──► done        quota committed per delivered image
                 │           │            │
                 └───────────┴────────────┴────────► failed      quota refunded, sink.on_failed
                 └───────────┴──────────────────────► cancelled   quota refunded, sink.on_failed

* Nothing lost: the quota reservation and the job row are written in one transaction
  before the job is queued; input images are stored by content hash.
* ``delivering`` means the clean originals are stored and the sink is posting them. A
  crash there is resumed by re-publishing the stored originals (the backend is not
  called, nor charged, again); the user may at worst see the post twice, never lose it.
* Never charged twice: a resumed job reuses its reservation, and commit/refund only
  act on a reservation still open (:mod:`services.quota`). A job is charged one unit
  per delivered image (a text-only result, e.g. describe, counts as one).
* ``stop()`` leaves unfinished jobs ``queued``/``running``/``delivering`` in SQLite on
  purpose: they are not the user's fault, so the next ``start()`` resumes them instead
  of refunding and dropping them. In-process waiters get :class:`JobCancelled`.
* One process per data dir: ``start()`` takes an exclusive lock on
  ``<data_dir>/jobs.lock`` so two processes can never recover (and run) the same jobs.
* Register every platform before ``start()``: resumed jobs get their sink from the
  factory during ``start()`` (``on_resumed``, or ``on_queued`` if the sink has none),
  and a job whose platform is not registered is refunded and marked failed.
* ``origin`` is stored as JSON in SQLite: channel/thread/message ids, never secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from services import errors as _errors
from services.backends.base import Backend, ProgressCallback, ResumableBackend
from services.db import Database
from services.errors import BackendError, ContentFiltered, EaselError, JobCancelled, JobNotFound, NotAllowed
from services.fair_queue import FairQueue
from services.job_codec import (
    image_refs,
    request_from_dict,
    request_images,
    request_to_dict,
    requester_from_dict,
    requester_to_dict,
)
from services.quota import QuotaBook, QuotaStatus
from services.store import ImageStore, StoredImage
from services.types import (
    FinishReason,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    InputImage,
    JobOutcome,
    Operation,
    Progress,
    PublishedImage,
    Requester,
)

__all__ = [
    "JobRecord",
    "JobService",
    "JobSink",
    "JobStats",
    "JobStatus",
    "Publisher",
    "RecoveryReport",
    "SinkFactory",
    "SubmittedJob",
    "user_hash",
]

log = logging.getLogger(__name__)

# Finished jobs kept in memory for a wait() that comes late (then the outcome is rebuilt from
# the store, which costs a watermark pass): a few jobs, bounded in bytes of published images.
_FINISHED_CACHE_JOBS = 16
_FINISHED_CACHE_BYTES = 64 * 1024 * 1024
_LOCK_FILENAME = "jobs.lock"
# How long a sink notification other than ``deliver`` may take: a chat API that hangs must not
# hold a worker (nor submit(), nor start()) for ever and so block every other user.
_SINK_TIMEOUT_S = 30.0


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.DELIVERING.value)


class Publisher(Protocol):
    """Makes the published copy of a clean original (``services.watermark.Watermarker``)."""

    async def publish(self, png: bytes) -> bytes: ...


class JobSink(Protocol):
    """How a front end hears about its jobs. Every method may raise; only ``deliver`` matters.

    Errors from ``on_*`` are logged and ignored. If ``deliver`` raises, the job fails and
    its quota is refunded. Optional extra method, called instead of ``on_queued`` for a
    job resumed after a restart: ``async def on_resumed(job_id: str, position: int)``.
    """

    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: Progress) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None: ...

    async def on_failed(self, job_id: str, error: EaselError) -> None: ...


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored. ``request`` is None only when its input images are gone."""

    job_id: str
    requester: Requester
    request: GenerationRequest | None
    origin: Mapping[str, Any]
    status: JobStatus
    created_at: datetime
    n_requested: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None  # the user message of the failure
    error_kind: str | None = None  # its class name in services.errors
    n_delivered: int = 0
    n_filtered: int = 0
    backend: str | None = None
    model: str | None = None
    seeds: tuple[int, ...] = ()  # of the delivered images
    text: str | None = None
    deleted: bool = False

    @property
    def platform(self) -> str:
        return str(self.origin.get("platform", ""))


SinkFactory = Callable[[JobRecord], JobSink]


@dataclass(frozen=True, slots=True)
class SubmittedJob:
    job_id: str
    position: int  # 1 = starts next


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What ``start()`` found left over from the previous process."""

    resumed: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class JobStats(Mapping[str, object]):
    """Counters since this service started, plus current gauges (for /metrics).

    Read as attributes (``stats.queue_depth``) or as a mapping (``stats["queue_depth"]``,
    ``stats.get("jobs_by_status")``); ``jobs_by_status`` maps done/failed/cancelled to counts.
    """

    queue_depth: int
    running: int
    submitted: int
    done: int
    failed: int
    cancelled: int
    resumed: int
    refunded_on_recovery: int
    images_delivered: int
    images_filtered: int

    @property
    def jobs_by_status(self) -> dict[str, int]:
        return {"done": self.done, "failed": self.failed, "cancelled": self.cancelled}

    def __getitem__(self, key: str) -> object:
        if key not in _STATS_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_STATS_KEYS)

    def __len__(self) -> int:
        return len(_STATS_KEYS)


_STATS_KEYS: tuple[str, ...] = (*(f.name for f in fields(JobStats)), "jobs_by_status")


class DataDirBusy(RuntimeError):
    """Another process holds ``EASEL_DATA_DIR``: two job runners must never resume the same jobs."""


def user_hash(key: str) -> str:
    """What logs say instead of a user's id."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass(eq=False)
class _Job:
    """In-memory state of a job this process is running or about to run."""

    job_id: str
    requester: Requester
    request: GenerationRequest
    origin: dict[str, Any]
    reservation_id: str
    sink: JobSink | None
    resumed: bool = False
    redeliver: bool = False  # crashed while delivering: publish the stored originals again
    phase: JobStatus = JobStatus.QUEUED
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    announced: asyncio.Event = field(default_factory=asyncio.Event)  # on_queued done: may start
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: JobOutcome | None = None
    error: EaselError | None = None
    resume_token: str | None = None  # backend's handle on an asynchronous generation

    @property
    def user(self) -> str:
        return user_hash(self.requester.key)


class _DeliveryFailed(Exception):
    """The sink raised from ``deliver``."""


class JobService:
    """Shared by every front end and the CLI; see the module docstring."""

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
        sink_timeout_s: float = _SINK_TIMEOUT_S,
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
        self._clock = clock
        self._factories: dict[str, SinkFactory] = {}
        self._queue = FairQueue()
        self._jobs: dict[str, _Job] = {}
        self._finished: OrderedDict[str, _Job] = OrderedDict()
        self._workers: list[asyncio.Task[None]] = []
        self._started = False
        self._stopping = False
        self._lock_fd: int | None = None
        self._counts: Counter[str] = Counter()

    # Front ends ----------------------------------------------------------------------------

    def register_platform(self, platform: str, factory: SinkFactory) -> None:
        """How to talk back to users of ``platform`` (``origin["platform"]``); register before start()."""
        self._factories[platform] = factory

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> RecoveryReport:
        """Lock the data dir, resume or refund what a previous process left, start the workers."""
        if self._started:
            raise RuntimeError("JobService already started")
        self._lock_data_dir()
        try:
            report = await self._recover()
        except BaseException:
            self._unlock_data_dir()
            raise
        self._stopping = False
        self._started = True
        self._workers = [
            asyncio.create_task(self._worker(), name=f"easel-worker-{n}") for n in range(self.max_concurrency)
        ]
        log.info(
            "jobs.started",
            extra={
                "workers": self.max_concurrency,
                "backend": self.backend.name,
                "resumed": len(report.resumed),
                "refunded": len(report.refunded),
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
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        running = [job.task for job in self._jobs.values() if job.task is not None and not job.task.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for job in list(self._jobs.values()):
            if not job.finished.is_set():
                job.error = JobCancelled(
                    "easel is restarting; this job will continue when it is back.",
                    log_detail="stopped before the job finished",
                )
                job.finished.set()
        self._jobs.clear()
        self._queue = FairQueue()
        self._started = False
        self._unlock_data_dir()
        log.info("jobs.stopped")

    def _lock_data_dir(self) -> None:
        path = self.db.data_dir / _LOCK_FILENAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirBusy(
                f"another easel process is running jobs on {self.db.data_dir}; "
                "stop it or use another EASEL_DATA_DIR"
            ) from None
        self._lock_fd = fd

    def _unlock_data_dir(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # Submitting ----------------------------------------------------------------------------

    async def submit(
        self,
        requester: Requester,
        request: GenerationRequest,
        *,
        origin: Mapping[str, Any],
        sink: JobSink | None = None,
    ) -> SubmittedJob:
        """Reserve quota, persist and queue a job; raises :class:`QuotaExceeded` before writing.

        ``origin`` is JSON-able and names the platform (``origin["platform"]``) whose
        registered factory builds the job's sink; ``sink`` overrides that for this run
        only (after a restart the factory is used).
        """
        if not self._started or self._stopping:
            raise RuntimeError("JobService is not running (call start() first)")
        origin_dict = dict(origin)
        platform = origin_dict.get("platform")
        if not isinstance(platform, str) or not platform:
            raise ValueError('origin must name its platform: origin["platform"]')
        if sink is None and platform not in self._factories:
            raise ValueError(f"no sink factory registered for platform {platform!r}")
        origin_json = json.dumps(origin_dict)  # TypeError now, not at restart
        job_id = uuid.uuid4().hex
        images = request_images(request)
        refs = {name: await self.store.ref_for(image) for name, image in images.items()}
        request_json = json.dumps(request_to_dict(request, refs))
        now = self._clock()
        n = request.images_requested
        try:
            async with self.db.transaction() as tx:
                reservation = await self.quota.reserve(requester, n, job_id, tx=tx)
                await tx.execute(
                    "INSERT INTO jobs (id, requester_key, requester_json, platform, origin_json, request_json,"
                    " status, reservation_id, created_at, n_requested) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                    (
                        job_id,
                        requester.key,
                        json.dumps(requester_to_dict(requester)),
                        platform,
                        origin_json,
                        request_json,
                        reservation.id,
                        now,
                        n,
                    ),
                )
        except sqlite3.Error as exc:  # locked by another process, disk full: rolled back, nothing spent
            log.error(
                "job.submit_failed", exc_info=True, extra={"job_id": job_id, "user": user_hash(requester.key)}
            )
            raise BackendError(log_detail=f"could not store the job: {type(exc).__name__}") from exc
        job = _Job(job_id, requester, request, origin_dict, reservation.id, sink)
        self._jobs[job_id] = job
        self._counts["submitted"] += 1
        try:
            for name, image in images.items():
                await self.store.put_input(image, refs[name])
            if job.sink is None:
                job.sink = self._factories[platform](self._record_of(job, now))
        except Exception as exc:
            log.exception("job.submit_failed", extra={"job_id": job_id, "user": job.user})
            error = BackendError(log_detail=f"could not store the job: {type(exc).__name__}")
            await self._settle_failed(job, error, JobStatus.FAILED)
            raise error from exc
        position = self._queue.put(requester.key, job_id)
        log.info(
            "job.queued",
            extra={
                "job_id": job_id,
                "user": job.user,
                "platform": platform,
                "backend": self.backend.name,
                "operation": request.operation.value,
                "images": n,
                "position": position,
            },
        )
        try:
            await self._notify(job, "on_queued", job_id, position)
        finally:
            job.announced.set()
        return SubmittedJob(job_id, position)

    def _record_of(self, job: _Job, created_at: float) -> JobRecord:
        return JobRecord(
            job_id=job.job_id,
            requester=job.requester,
            request=job.request,
            origin=dict(job.origin),
            status=job.phase,
            created_at=_dt(created_at) or datetime.now(UTC),
            n_requested=job.request.images_requested,
        )

    # Workers -------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            job_id = await self._queue.get()
            job = self._jobs.get(job_id)
            if job is None or job.phase is not JobStatus.QUEUED:
                continue
            job.phase = JobStatus.RUNNING
            job.task = asyncio.create_task(self._run(job), name=f"easel-job-{job_id[:8]}")
            await asyncio.wait([job.task])
            if not job.task.cancelled() and job.task.exception() is not None:
                # Only if settling itself failed (the database is gone?): free the waiters.
                log.error("job.runner_crashed", exc_info=job.task.exception(), extra={"job_id": job_id})
                if not job.finished.is_set():
                    job.error = BackendError(log_detail="job runner crashed")
                    self._finish(job, JobStatus.FAILED)

    async def _run(self, job: _Job) -> None:
        started = time.monotonic()
        base_log = {"job_id": job.job_id, "user": job.user, "backend": self.backend.name}
        try:
            await job.announced.wait()
            if job.redeliver:
                outcome = await self._outcome_from_store(job.job_id, job.request, job.requester)
                log.info("job.redelivering", extra=base_log)
            else:
                await self.db.execute(
                    "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?",
                    (self._clock(), job.job_id),
                )
                if job.resumed:  # originals of an interrupted attempt must not mix with this one
                    await self.store.delete_job_images(job.job_id)
                log.info("job.started", extra={**base_log, "resumed": job.resumed})
                await self._notify(job, "on_started", job.job_id)
                result = await self._generate(job)
                outcome = await self._publish(job, result)
            job.phase = JobStatus.DELIVERING
            try:
                if job.sink is None:
                    raise RuntimeError("no sink to deliver to")
                await job.sink.deliver(outcome)
            except Exception as exc:
                raise _DeliveryFailed() from exc
            units = len(outcome.images) or (1 if outcome.text is not None else 0)
            await asyncio.shield(self._settle_done(job, outcome, units))
        except asyncio.CancelledError:
            if not job.cancel_requested:
                raise  # shutdown: stays unfinished in SQLite, resumed by the next start
            await asyncio.shield(self._settle_failed(job, JobCancelled(), JobStatus.CANCELLED))
            log.info("job.cancelled", extra={**base_log, "duration_ms": _ms(started)})
            await self._notify(job, "on_failed", job.job_id, job.error)
            return
        except _DeliveryFailed as exc:
            log.error(
                "job.failed",
                exc_info=exc.__cause__,
                extra={**base_log, "duration_ms": _ms(started), "error_kind": "delivery_failed"},
            )
            undelivered = EaselError(log_detail=f"sink.deliver raised {type(exc.__cause__).__name__}")
            await asyncio.shield(self._settle_failed(job, undelivered, JobStatus.FAILED))
            await self._notify(job, "on_failed", job.job_id, undelivered)
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
            await asyncio.shield(self._settle_failed(job, error, JobStatus.FAILED))
            await self._notify(job, "on_failed", job.job_id, error)
            return
        except Exception:
            log.exception("job.failed", extra={**base_log, "duration_ms": _ms(started), "error_kind": "bug"})
            generic = BackendError(log_detail="unexpected error in the job runner")
            await asyncio.shield(self._settle_failed(job, generic, JobStatus.FAILED))
            await self._notify(job, "on_failed", job.job_id, generic)
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

    async def _generate(self, job: _Job) -> GenerationResult:
        """Call the backend; backends with asynchronous generations get a resume token persisted
        on the job row, so a restart polls the same generation rather than paying again."""
        progress = self._progress_forwarder(job)
        if not isinstance(self.backend, ResumableBackend):
            return await self.backend.generate(job.request, progress=progress)

        async def save(token: str) -> None:
            job.resume_token = token
            await self.db.execute("UPDATE jobs SET resume_token = ? WHERE id = ?", (token, job.job_id))

        return await self.backend.generate_resumable(
            job.request, progress, resume_token=job.resume_token, on_resume_token=save
        )

    def _progress_forwarder(self, job: _Job) -> ProgressCallback:
        async def forward(progress: Progress) -> None:
            await self._notify(job, "on_progress", job.job_id, progress)

        return forward

    async def _publish(self, job: _Job, result: GenerationResult) -> JobOutcome:
        """Store clean originals, stamp the published copies, record what is about to be delivered."""
        success = [
            (i, img) for i, img in enumerate(result.images) if img.finish_reason is FinishReason.SUCCESS
        ]
        filtered = sum(1 for img in result.images if img.finish_reason is FinishReason.CONTENT_FILTERED)
        if not success and result.text is None:
            if filtered:
                raise ContentFiltered(log_detail=f"all {filtered} images content-filtered")
            raise BackendError(log_detail=f"backend returned {len(result.images)} images, none usable")
        settled = await asyncio.gather(
            *(self._publish_one(job.job_id, i, img) for i, img in success), return_exceptions=True
        )
        failures = [r for r in settled if isinstance(r, BaseException)]
        if failures:  # every sibling has finished writing: keep no originals of an unseen job
            await self.store.delete_job_images(job.job_id)
            raise failures[0]
        published = [r for r in settled if not isinstance(r, BaseException)]
        await self.db.execute(
            "UPDATE jobs SET status = 'delivering', backend = ?, model = ?, n_filtered = ?, seeds_json = ?,"
            " result_text = ? WHERE id = ?",
            (
                result.backend,
                result.model,
                filtered,
                json.dumps([img.seed for _, img in success]),
                result.text,
                job.job_id,
            ),
        )
        return self._outcome(job.job_id, job.request, job.requester, tuple(published), result, filtered)

    async def _publish_one(self, job_id: str, index: int, image: GeneratedImage) -> PublishedImage:
        saved, stamped = await asyncio.gather(
            self.store.save_original(job_id, index, image),
            self.watermarker.publish(image.png),
            return_exceptions=True,  # both finish before the job may fail and clean up
        )
        for outcome in (saved, stamped):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(stamped, bytes)
        return PublishedImage(
            index=index,
            data=stamped,
            filename=f"easel-{job_id[:8]}-{index + 1}.png",
            content_type="image/png",
            seed=image.seed,
            width=image.width,
            height=image.height,
        )

    def _outcome(
        self,
        job_id: str,
        request: GenerationRequest,
        requester: Requester,
        images: tuple[PublishedImage, ...],
        result: GenerationResult,
        filtered: int,
    ) -> JobOutcome:
        return JobOutcome(
            job_id=job_id,
            request=request,
            requester=requester,
            images=images,
            backend=result.backend,
            model=result.model,
            filtered=filtered,
            text=result.text,
            metadata={"operation": request.operation.value},
        )

    async def _outcome_from_store(
        self, job_id: str, request: GenerationRequest, requester: Requester
    ) -> JobOutcome:
        """Re-publish a job's stored originals (redelivery after a crash, late wait())."""
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        stored = [
            s for s in await self.store.list_originals(job_id) if s.finish_reason is FinishReason.SUCCESS
        ]
        if row is None or (not stored and row["result_text"] is None):
            raise JobNotFound(log_detail=f"no stored originals for {job_id}")

        async def republish(info: StoredImage) -> PublishedImage:
            original = await self.store.load_original(job_id, info.index)
            return PublishedImage(
                index=info.index,
                data=await self.watermarker.publish(original.png),
                filename=f"easel-{job_id[:8]}-{info.index + 1}.png",
                content_type="image/png",
                seed=info.seed,
                width=info.width,
                height=info.height,
            )

        published = await asyncio.gather(*(republish(info) for info in stored))
        result = GenerationResult(
            images=(), backend=row["backend"] or "", model=row["model"] or "", text=row["result_text"]
        )
        outcome = self._outcome(job_id, request, requester, tuple(published), result, int(row["n_filtered"]))
        return outcome

    # Settling (quota + status in one transaction) ------------------------------------------

    async def _settle_done(self, job: _Job, outcome: JobOutcome, units: int) -> None:
        async with self.db.transaction() as tx:
            await self.quota.commit(job.reservation_id, units, tx=tx)
            await tx.execute(
                "UPDATE jobs SET status = 'done', finished_at = ?, n_delivered = ? WHERE id = ?",
                (self._clock(), len(outcome.images), job.job_id),
            )
        self._counts["done"] += 1
        self._counts["images_delivered"] += len(outcome.images)
        self._counts["images_filtered"] += outcome.filtered
        job.outcome = outcome
        self._finish(job, JobStatus.DONE)

    async def _settle_failed(self, job: _Job, error: EaselError, status: JobStatus) -> None:
        async with self.db.transaction() as tx:
            await self.quota.refund(job.reservation_id, tx=tx)
            await tx.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, error_kind = ?, error = ? WHERE id = ?",
                (status.value, self._clock(), type(error).__name__, error.user_message, job.job_id),
            )
        self._counts[status.value] += 1
        job.error = error
        self._finish(job, status)

    def _finish(self, job: _Job, status: JobStatus) -> None:
        job.phase = status
        job.finished.set()
        self._jobs.pop(job.job_id, None)
        self._finished[job.job_id] = job
        while len(self._finished) > _FINISHED_CACHE_JOBS or (
            len(self._finished) > 1 and _cached_bytes(self._finished.values()) > _FINISHED_CACHE_BYTES
        ):
            self._finished.popitem(last=False)

    async def _notify(self, job: _Job, method: str, *args: Any) -> None:
        handler = getattr(job.sink, method, None) if job.sink is not None else None
        if handler is None:
            return
        try:
            async with asyncio.timeout(self.sink_timeout_s):
                await handler(*args)
        except TimeoutError:
            log.warning("job.sink_timeout", extra={"job_id": job.job_id, "method": method})
        except Exception:
            log.warning("job.sink_error", exc_info=True, extra={"job_id": job.job_id, "method": method})

    # Recovery ------------------------------------------------------------------------------

    async def _recover(self) -> RecoveryReport:
        report = RecoveryReport()
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE status IN (?, ?, ?) ORDER BY created_at", _UNFINISHED
        )
        for row in rows:
            await self._recover_one(row, report)
        # Reservations left open without a resumable job (cannot happen without tampering,
        # since reservation and job are written together — but a leak would be permanent).
        for reservation in await self.quota.open_reservations():
            if reservation.job_id not in self._jobs:
                await self.quota.refund(reservation.id)
                log.warning("quota.orphan_refunded", extra={"job_id": reservation.job_id})
        return report

    async def _recover_one(self, row: sqlite3.Row, report: RecoveryReport) -> None:
        job_id: str = row["id"]
        requester = requester_from_dict(json.loads(row["requester_json"]))
        origin: dict[str, Any] = json.loads(row["origin_json"])
        request, missing = await self._rebuild_request(row)
        base_log = {"job_id": job_id, "user": user_hash(requester.key), "platform": row["platform"]}
        factory = self._factories.get(row["platform"])
        placeholder = _Job(job_id, requester, request or _NO_REQUEST, origin, row["reservation_id"], None)
        try:
            placeholder.sink = factory(self._record_from_row(row, request)) if factory is not None else None
        except Exception:
            log.exception("job.sink_factory_failed", extra=base_log)
        if placeholder.sink is None:  # nobody to deliver to: never charge for an unseen result
            reason = "platform not registered" if factory is None else "sink factory failed"
            log.warning("job.recovery_refunded", extra={**base_log, "reason": reason})
            await self._settle_failed(placeholder, _interrupted(), JobStatus.FAILED)
            self._counts["refunded_on_recovery"] += 1
            report.refunded.append(job_id)
            return
        if request is None:
            log.warning("job.recovery_refunded", extra={**base_log, "reason": missing})
            error = _interrupted(
                "The image this job was working on is gone, so it could not continue. "
                "Your quota was not spent."
            )
            await self._settle_failed(placeholder, error, JobStatus.FAILED)
            self._counts["refunded_on_recovery"] += 1
            report.refunded.append(job_id)
            await self._notify(placeholder, "on_failed", job_id, error)
            return
        job = placeholder
        job.resumed = True
        job.resume_token = row["resume_token"]
        job.redeliver = row["status"] == JobStatus.DELIVERING.value
        if not job.redeliver:
            await self.db.execute("UPDATE jobs SET status = 'queued' WHERE id = ?", (job_id,))
        self._jobs[job_id] = job
        position = self._queue.put(requester.key, job_id)
        self._counts["resumed"] += 1
        report.resumed.append(job_id)
        log.info("job.resumed", extra={**base_log, "position": position, "redeliver": job.redeliver})
        try:
            if getattr(job.sink, "on_resumed", None) is not None:
                await self._notify(job, "on_resumed", job_id, position)
            else:
                await self._notify(job, "on_queued", job_id, position)
        finally:
            job.announced.set()

    async def _rebuild_request(self, row: sqlite3.Row) -> tuple[GenerationRequest | None, str]:
        """The stored request with its input images, or (None, why not)."""
        try:
            data = json.loads(row["request_json"])
            images: dict[str, InputImage] = {}
            for name, ref in image_refs(data).items():
                images[name] = await self.store.load_input(ref)
            return request_from_dict(data, images), ""
        except JobNotFound as exc:
            return None, exc.log_detail
        except (ValueError, KeyError, TypeError) as exc:
            return None, f"undecodable request: {exc}"

    def _record_from_row(self, row: sqlite3.Row, request: GenerationRequest | None) -> JobRecord:
        return JobRecord(
            job_id=row["id"],
            requester=requester_from_dict(json.loads(row["requester_json"])),
            request=request,
            origin=json.loads(row["origin_json"]),
            status=JobStatus(row["status"]),
            created_at=_dt(row["created_at"]) or datetime.now(UTC),
            n_requested=int(row["n_requested"]),
            started_at=_dt(row["started_at"]),
            finished_at=_dt(row["finished_at"]),
            error=row["error"],
            error_kind=row["error_kind"],
            n_delivered=int(row["n_delivered"]),
            n_filtered=int(row["n_filtered"]),
            backend=row["backend"],
            model=row["model"],
            seeds=tuple(json.loads(row["seeds_json"])) if row["seeds_json"] else (),
            text=row["result_text"],
            deleted=row["deleted_at"] is not None,
        )

    # Queries and commands ------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobRecord:
        """The stored job (``JobNotFound`` if unknown)."""
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise JobNotFound(log_detail=f"no job {job_id!r}")
        request, _ = await self._rebuild_request(row)
        return self._record_from_row(row, request)

    async def wait(self, job_id: str) -> JobOutcome:
        """The job's outcome once it is finished; raises the job's :class:`EaselError`."""
        job = self._jobs.get(job_id) or self._finished.get(job_id)
        if job is not None:
            await job.finished.wait()
            if job.error is not None:
                raise job.error
            assert job.outcome is not None
            return job.outcome
        record = await self.get_job(job_id)
        if record.status is JobStatus.DONE and not record.deleted and record.request is not None:
            return await self._outcome_from_store(job_id, record.request, record.requester)
        if record.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise _error_from(record.error_kind, record.error)
        raise JobNotFound(log_detail=f"job {job_id} is {record.status} and not running in this process")

    async def load_original(self, job_id: str, index: int) -> InputImage:
        """The clean stored original of image ``index`` (``JobNotFound`` if gone or deleted)."""
        return await self.store.load_original(job_id, index)

    async def quota_status(self, requester: Requester) -> QuotaStatus:
        return await self.quota.status(requester)

    async def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (quota refunded, sink told). False if too late.

        Authorisation (is this the requester?) is the front end's business.
        """
        job = self._jobs.get(job_id)
        if job is None:
            await self.get_job(job_id)  # JobNotFound if it never existed
            return False
        if job.phase is JobStatus.QUEUED and self._queue.remove(job_id):
            await asyncio.shield(self._settle_failed(job, JobCancelled(), JobStatus.CANCELLED))
            log.info(
                "job.cancelled", extra={"job_id": job_id, "user": job.user, "backend": self.backend.name}
            )
            await self._notify(job, "on_failed", job_id, job.error)
            return True
        if job.phase is JobStatus.RUNNING and job.task is not None and not job.task.done():
            job.cancel_requested = True
            job.task.cancel()
            if sum(1 for j in self._jobs.values() if j.phase is JobStatus.RUNNING) == 1:
                # GPU hosts interrupt whatever is running: only safe when it is this job alone.
                with contextlib.suppress(Exception):
                    await self.backend.cancel()
            await job.finished.wait()
            return job.phase is JobStatus.CANCELLED
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
        job = self._jobs.get(job_id)
        if job is not None and not job.phase.finished:
            await self.cancel(job_id)
        changed = await self.db.execute(
            "UPDATE jobs SET deleted_at = ? WHERE id = ?", (self._clock(), job_id)
        )
        if not changed:
            raise JobNotFound(log_detail=f"no job {job_id!r}")
        await self.store.delete_job_images(job_id)
        log.info("job.deleted", extra={"job_id": job_id})

    def stats(self) -> JobStats:
        return JobStats(
            queue_depth=len(self._queue),
            running=sum(
                1 for j in self._jobs.values() if j.phase in (JobStatus.RUNNING, JobStatus.DELIVERING)
            ),
            submitted=self._counts["submitted"],
            done=self._counts["done"],
            failed=self._counts["failed"],
            cancelled=self._counts["cancelled"],
            resumed=self._counts["resumed"],
            refunded_on_recovery=self._counts["refunded_on_recovery"],
            images_delivered=self._counts["images_delivered"],
            images_filtered=self._counts["images_filtered"],
        )


# Stands in for the request of a job whose inputs are gone, only to settle it.
_NO_REQUEST = GenerationRequest(operation=Operation.IMAGINE)


def _interrupted(message: str | None = None) -> JobCancelled:
    return JobCancelled(
        message
        or "This job was interrupted when easel restarted and could not be resumed. Your quota was not spent.",
        log_detail="interrupted by a restart",
    )


def _error_from(kind: str | None, message: str | None) -> EaselError:
    """Rebuild a stored failure for a late ``wait()``."""
    cls = getattr(_errors, kind, None) if kind in _errors.__all__ else None
    if not isinstance(cls, type) or not issubclass(cls, EaselError) or cls is _errors.QuotaExceeded:
        cls = EaselError
    return cls(message)


def _cached_bytes(jobs: Iterable[_Job]) -> int:
    return sum(len(image.data) for job in jobs if job.outcome is not None for image in job.outcome.images)


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
