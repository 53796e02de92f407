"""One process's side of the shared queue: wakeups, leases kept alive, claimed rows made into jobs.

Usage (by :class:`JobService` when its database is PostgreSQL)::

    shared = SharedJobs(queue=SharedQueue(db, worker_id, clock), records=records, active=active,
                        recovery=recovery, notify=notify, on_cancel=cancel_here)
    await shared.start(factories)      # my previous life's leases given back; LISTEN; renewals
    job = await shared.next_job()      # a worker waits here for the next claimable job
    await shared.stop()                # leases of unfinished jobs given back: others take them now

The rows are the truth (:mod:`services.jobs.shared_queue`); this keeps what one process needs
on top: an :class:`asyncio.Event` set by ``NOTIFY`` (and a short poll as the safety net: leases
of dead workers run out without any notification), the renewal loop (every third of the lease,
at most every 2 s; it also refreshes the queue depth and the pause switch ``/metrics`` read synchronously), and
the cancel channel that stops a job running here when another process asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from services.db import DATABASE_ERRORS, Row
from services.errors import JobCancelled, JobNotFound
from services.jobs.active import ActiveJob, ActiveJobs
from services.jobs.codec import requester_from_dict
from services.jobs.queued import QueuedJob
from services.jobs.records import JobRecord, JobStatus
from services.jobs.recovery import Recovery
from services.jobs.settlement import Settlement
from services.jobs.shared_queue import CANCEL_CHANNEL, JOBS_CHANNEL, SharedQueue
from services.jobs.sinks import SinkFactory, SinkNotifier
from services.tasks import BackgroundTasks

__all__ = ["POLL_S", "SharedJobs"]

log = logging.getLogger(__name__)

POLL_S = 1.0  # idle workers look again this often even without a NOTIFY
CANCEL_WAIT_S = 10.0  # how long cancel() waits for another process's worker to stop the job
RENEW_S = 2.0
WAIT_POLL_S = 0.25  # wait() for a job run elsewhere: how often its row is looked up  # leases renewed (and depth, pause read) at least this often


class SharedJobs:
    """See the module docstring."""

    def __init__(
        self,
        *,
        queue: SharedQueue,
        active: ActiveJobs,
        recovery: Recovery,
        notify: SinkNotifier,
        on_cancel: Callable[[ActiveJob], Coroutine[Any, Any, object]],
        poll_s: float = POLL_S,
    ) -> None:
        self.queue = queue
        self._active = active
        self._recovery = recovery
        self._notify = notify
        self._on_cancel = on_cancel
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._factories: Mapping[str, SinkFactory] = {}
        self._tasks = BackgroundTasks("jobs")
        self.depth = 0  # queued jobs, as of the last renewal (for /metrics)
        self.paused = False  # the shared pause switch, as of the last renewal or our own change

    async def start(self, factories: Mapping[str, SinkFactory]) -> None:
        self._factories = factories
        given_back = await self.queue.release_mine()  # a restart takes its own jobs back at once
        if given_back:
            log.info("jobs.leases_released", extra={"jobs": given_back, "worker": self.queue.worker_id})
        await self.queue.db.listen(JOBS_CHANNEL, lambda _payload: self._wake.set())
        await self.queue.db.listen(CANCEL_CHANNEL, self._cancel_requested)
        await self._refresh()
        self._tasks.spawn(self._renew_forever(), name="leases")

    async def stop(self) -> None:
        await self._tasks.cancel()
        with contextlib.suppress(Exception):  # a dead database: the leases run out by themselves
            await self.queue.release_mine()

    async def enqueue(self, job: ActiveJob, *, pinned: bool) -> int:
        """A submitted job's place: only its row waits (nothing of it stays in RAM).

        A job with a sink of its own (``submit(sink=…)``) can only be delivered here: this process
        holds its lease from the start and runs it from the in-memory queue.
        """
        if pinned:
            await self.queue.pin(job.job_id)
            self._wake.set()
            return self._active.enqueue(job)
        self._active.release(job.job_id)
        return await self.queue.position(job.job_id)

    async def next_for_runner(self) -> ActiveJob | None:
        """The runner's next job: pinned ones first, then the shared queue."""
        local = self._active.queue
        if len(local) and local.open.is_set():
            job = self._active.unfinished(local.get_nowait())
            return job if job is not None and job.phase is JobStatus.QUEUED else None
        return await self.next_job()

    async def until_settled(self, job_id: str, get: Callable[[str], Awaitable[JobRecord]]) -> None:
        """Until ``job_id`` is held here or has ended wherever it ran (``wait()`` on a shared database)."""
        while True:
            if self._active.get(job_id) is not None or (await get(job_id)).status.finished:
                return
            await asyncio.sleep(WAIT_POLL_S)

    async def next_job(self) -> ActiveJob | None:
        """Claim the next job this process can deliver, or wait for a wakeup (or the poll) and say None.

        Returning None after a wait lets the runner look at its in-memory jobs first (pinned ones).
        """
        if not self.paused:
            try:
                claimed = await self.queue.claim(list(self._factories))
            except DATABASE_ERRORS:  # the database is away: look again after the poll interval
                log.warning("jobs.claim_failed", exc_info=True)
                claimed = None
            if claimed is not None:
                return await self._adopt(claimed.row, taken_over=claimed.taken_over)
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_s)
        if self.paused:
            self.paused = await self.queue.paused()  # resumed by another process?
        return None

    async def _adopt(self, row: Row, *, taken_over: bool) -> ActiveJob | None:
        unfinished = await self._recovery.records.unfinished_from(row)
        job = await self._recovery.adopt(
            unfinished, self._factories, resumed=taken_over, park=False
        )  # runs now
        if job is None:
            return None  # refunded (and told, where someone could be)
        self._active.hold(job)
        if taken_over:
            self._active.counts["resumed"] += 1
            log.info("job.taken_over", extra={"job_id": job.job_id, "user": job.user})
            await self._notify.resumed(job.sink, job.job_id, 1)
        job.announced.set()
        return job

    def wake(self) -> None:
        self._wake.set()

    def set_paused(self, paused: bool) -> None:
        """The admins' switch, for every process: ours at once, the others' at their next look."""
        self.paused = paused
        self._tasks.spawn(self.queue.set_paused(paused), name="pause-switch")

    async def waiting(self, limit: int = 100) -> list[QueuedJob]:
        """The first ``limit`` queued jobs of every process, in the order they will start."""
        return [
            QueuedJob(
                str(row["id"]),
                str(row["requester_key"]),
                int(row["n_requested"]),
                requester_from_dict(json.loads(row["requester_json"])).venue.server_id,
            )
            for row in await self.queue.waiting(limit)
        ]

    async def cancel(self, job_id: str, settle: Settlement) -> bool:
        """Cancel a job this process does not hold: refunded here if it waits, else its worker is asked."""
        row = await self.queue.withdraw(job_id)
        if row is not None:
            unfinished = await self._recovery.records.unfinished_from(row)
            job = await self._recovery.adopt(unfinished, self._factories, resumed=False)
            if job is None:
                return False  # nobody to tell: refunded as undeliverable
            cancelled = JobCancelled()
            await asyncio.shield(settle.failed(job, cancelled, JobStatus.CANCELLED))
            log.info("job.cancelled", extra={"job_id": job_id, "user": job.user})
            await self._notify.failed(job.sink, job_id, cancelled)
            return True
        record = await self._recovery.records.get(job_id)
        if record is None:
            raise JobNotFound(log_detail=f"no job {job_id!r}")
        if record.status.finished:
            return False
        await self.queue.ask_to_cancel(job_id)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CANCEL_WAIT_S):
                while not record.status.finished:
                    await asyncio.sleep(0.1)
                    record = await self._recovery.records.get(job_id) or record
        return record.status is JobStatus.CANCELLED

    def _cancel_requested(self, job_id: str) -> None:
        job = self._active.unfinished(job_id)
        if job is not None:
            self._tasks.spawn(self._on_cancel(job), name=f"cancel-{job_id[:8]}")

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(min(self.queue.lease_s / 3, RENEW_S))
            try:
                for job_id in await self.queue.renew():
                    self._cancel_requested(job_id)
                await self._refresh()
            except Exception:  # the database is away: retried at the next tick
                log.warning("jobs.lease_renewal_failed", exc_info=True)

    async def _refresh(self) -> None:
        self.depth = await self.queue.depth()
        self.paused = await self.queue.paused()
