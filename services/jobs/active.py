"""The jobs this process holds in memory: the fair queue, their state, the recently finished, counters.

Usage::

    active = ActiveJobs()
    position = active.enqueue(ActiveJob(job_id, requester, request, origin, reservation_id, sink))
    job = active.get(job_id)            # queued or running here, or finished not long ago
    active.finish(job, JobStatus.DONE)  # waiters wake up; the job moves to the finished cache
    active.stats()                      # JobStats for /metrics

SQLite is the truth about a job; this is what one process needs on top of it to run
jobs and answer ``wait()`` without reading the disk: tasks, events and the outcome of a
finished job (kept for a ``wait()`` that comes late, bounded in jobs and in bytes).
One event loop owns it; nothing here is thread-safe.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from services.errors import EaselError
from services.jobs.fair_queue import FairQueue
from services.jobs.inputs import without_inputs
from services.jobs.queued import QueuedJob
from services.jobs.records import JobRecord, JobStatus
from services.jobs.sinks import JobSink
from services.store import ImageRef
from services.types import GenerationRequest, GenerationResult, JobOutcome, Requester

__all__ = [
    "FINISHED_CACHE_BYTES",
    "FINISHED_CACHE_JOBS",
    "ActiveJob",
    "ActiveJobs",
    "Flag",
    "JobStats",
    "user_hash",
]

# Finished jobs kept in memory for a wait() that comes late (then the outcome is rebuilt from
# the store, which costs a watermark pass): a few jobs, bounded in bytes of published images.
FINISHED_CACHE_JOBS = 16
FINISHED_CACHE_BYTES = 64 * 1024 * 1024


class Flag:
    """A one-way :class:`asyncio.Event` that costs nothing until someone waits on it.

    Every queued job has two (announced, finished), and an Event's waiter deque alone is
    ~600 bytes: with tens of thousands of jobs queued that was most of their memory (issue 15).
    """

    __slots__ = ("_event", "_set")

    def __init__(self) -> None:
        self._set = False
        self._event: asyncio.Event | None = None

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        if self._set:
            return
        if self._event is None:
            self._event = asyncio.Event()
        await self._event.wait()


def user_hash(key: str) -> str:
    """What logs say instead of a user's id."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(eq=False, slots=True)
class ActiveJob:
    """In-memory state of a job this process is running or about to run."""

    job_id: str
    requester: Requester
    request: GenerationRequest
    origin: dict[str, Any]
    reservation_id: str
    sink: JobSink | None
    resumed: bool = False
    redeliver: JobRecord | None = None  # crashed while delivering: publish this row's stored originals again
    phase: JobStatus = JobStatus.QUEUED
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    announced: Flag = field(default_factory=Flag)  # on_queued done: may start
    finished: Flag = field(default_factory=Flag)
    outcome: JobOutcome | None = None
    error: EaselError | None = None
    resume_token: str | None = None  # backend's handle on an asynchronous generation
    generated: GenerationResult | None = None  # what the backend returned, kept while storing it waits
    inputs: Mapping[str, ImageRef] | None = None  # input images in the store, loaded when the job starts

    def park_inputs(self, refs: Mapping[str, ImageRef]) -> None:
        """Drop the request's image bytes while the job waits; :mod:`services.jobs.inputs` reloads them."""
        if refs:
            self.request = without_inputs(self.request)
            self.inputs = dict(refs)

    @property
    def user(self) -> str:
        return user_hash(self.requester.key)

    def queued_record(self, created_at: float) -> JobRecord:
        """What the sink factory gets for a job just submitted (its row, without reading it back)."""
        return JobRecord(
            job_id=self.job_id,
            requester=self.requester,
            request=self.request,
            origin=dict(self.origin),
            status=self.phase,
            created_at=datetime.fromtimestamp(created_at, UTC),
            n_requested=self.request.images_requested,
        )


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
    storage_full: bool = False  # easel cannot store results now (services.jobs.storage_watch)
    storage_full_events: int = 0

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


class ActiveJobs:
    """See the module docstring."""

    def __init__(self) -> None:
        self.queue = FairQueue()
        self.counts: Counter[str] = Counter()  # keys: the counters of JobStats
        self._jobs: dict[str, ActiveJob] = {}
        self._started: dict[str, ActiveJob] = {}  # left the queue, not finished: a few, not the queue
        self._finished: OrderedDict[str, ActiveJob] = OrderedDict()
        self.storage_full = False  # set and cleared by StorageWatch

    def enqueue(self, job: ActiveJob) -> int:
        """Hold ``job`` and queue it; returns its position (1 = starts next)."""
        self.hold(job)
        return self.queue.put(job.requester.key, job.job_id)

    def hold(self, job: ActiveJob) -> None:
        """Hold ``job`` without queueing it (yet)."""
        self._jobs[job.job_id] = job

    def release(self, job_id: str) -> None:
        """Stop holding a job that waits elsewhere (the shared queue's row): nothing of it stays in RAM."""
        self._jobs.pop(job_id, None)

    def unfinished(self, job_id: str) -> ActiveJob | None:
        """The job if it is queued or running here."""
        return self._jobs.get(job_id)

    def get(self, job_id: str) -> ActiveJob | None:
        """The job if it is queued or running here, or finished here not long ago."""
        return self._jobs.get(job_id) or self._finished.get(job_id)

    def running(self) -> list[ActiveJob]:
        return [job for job in self._started.values() if job.phase is JobStatus.RUNNING]

    def start(self, job: ActiveJob) -> None:
        """A worker took ``job`` off the queue: it runs now (counted without walking the queue)."""
        job.phase = JobStatus.RUNNING
        self._started[job.job_id] = job

    def finish(self, job: ActiveJob, status: JobStatus) -> None:
        """``job`` is settled: wake its waiters and move it to the bounded finished cache."""
        job.phase = status
        job.finished.set()
        self._jobs.pop(job.job_id, None)
        self._started.pop(job.job_id, None)
        self._finished[job.job_id] = job
        while len(self._finished) > FINISHED_CACHE_JOBS or (
            len(self._finished) > 1 and self._cached_bytes() > FINISHED_CACHE_BYTES
        ):
            self._finished.popitem(last=False)

    def abandon(self, error: Callable[[], EaselError]) -> None:
        """Shutdown: waiters of every unfinished job get an ``error()``; the queue starts empty again.

        The jobs stay unfinished in SQLite, for the next start to resume.
        """
        for job in self._jobs.values():
            if not job.finished.is_set():
                job.error = error()
                job.finished.set()
        self._jobs.clear()
        self._started.clear()
        self.queue = FairQueue()

    def waiting(self) -> list[QueuedJob]:
        """The queued jobs in the order they will start."""
        jobs = (self._jobs.get(job_id) for job_id in self.queue.snapshot())
        return [
            QueuedJob(
                job.job_id, job.requester.key, job.request.images_requested, job.requester.venue.server_id
            )
            for job in jobs
            if job is not None
        ]

    def tasks(self) -> list[asyncio.Task[None]]:
        """The tasks of jobs running now."""
        return [job.task for job in self._started.values() if job.task is not None and not job.task.done()]

    def stats(self) -> JobStats:
        return JobStats(
            queue_depth=len(self.queue),
            running=len(self._started),  # RUNNING or DELIVERING
            submitted=self.counts["submitted"],
            done=self.counts["done"],
            failed=self.counts["failed"],
            cancelled=self.counts["cancelled"],
            resumed=self.counts["resumed"],
            refunded_on_recovery=self.counts["refunded_on_recovery"],
            images_delivered=self.counts["images_delivered"],
            images_filtered=self.counts["images_filtered"],
            storage_full=self.storage_full,
            storage_full_events=self.counts["storage_full_events"],
        )

    def _cached_bytes(self) -> int:
        return sum(
            len(image.data)
            for job in self._finished.values()
            if job.outcome is not None
            for image in job.outcome.images
        )
