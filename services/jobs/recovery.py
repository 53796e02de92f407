"""Start-up recovery: every job a previous process left unfinished is resumed, or refunded and told.

Usage::

    recovery = Recovery(records=records, active=active, settle=settle, notify=notify, quota=quota)
    report = await recovery.run(factories)     # before the workers start

    await recovery.prepare()                   # or in two steps: the quick part before serving,
    await recovery.resume(factories, report)   # then the jobs in batches while easel already serves

``prepare`` refunds orphaned reservations and puts interrupted jobs back to ``queued`` in
single statements, so from then on every job being recovered reads as queued. ``resume``
brings the rows back a batch at a time (one index range each, see migration 5), yielding
to the event loop between batches so /healthz and the front ends answer meanwhile; input
images are checked but not kept in RAM (:mod:`services.jobs.inputs`). The cost is linear
in the number of jobs: the fair queue's put is O(log n).

What happens to each unfinished row (oldest first):

* its platform has no registered sink factory, or the factory raises: refunded and
  marked failed, silently (nobody to tell, and never charge for an unseen result);
* its request cannot be rebuilt (input image gone or damaged, undecodable row):
  refunded, marked failed, and the user is told why;
* otherwise it is queued again with its open reservation (never charged twice) and
  announced with ``on_resumed`` (or ``on_queued``); a job that crashed while
  ``delivering`` republishes its stored originals instead of calling the backend.

First, reservations still open without an unfinished job to use them are refunded (this
cannot happen without tampering, since reservation and job are written together, but a
leak would be permanent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.errors import JobCancelled
from services.jobs.active import ActiveJob, ActiveJobs, user_hash
from services.jobs.records import JobRecords, JobStatus, UnfinishedJob
from services.jobs.settlement import Settlement
from services.jobs.sinks import SinkFactory, SinkNotifier
from services.quota import QuotaBook
from services.types import GenerationRequest, Operation

__all__ = ["Recovery", "RecoveryReport"]

log = logging.getLogger(__name__)

# Stands in for the request of a job whose inputs are gone, only to settle it.
_NO_REQUEST = GenerationRequest(operation=Operation.IMAGINE)
_INTERRUPTED = (
    "This job was interrupted when easel restarted and could not be resumed. Your quota was not spent."
)
_INPUT_GONE = "The image this job was working on is gone, so it could not continue. Your quota was not spent."


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What ``start()`` found left over from the previous process."""

    resumed: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovery:
    """See the module docstring."""

    records: JobRecords
    active: ActiveJobs
    settle: Settlement
    notify: SinkNotifier
    quota: QuotaBook

    batch_size: int = 500

    async def run(self, factories: Mapping[str, SinkFactory]) -> RecoveryReport:
        report = RecoveryReport()
        upto = await self.prepare()
        await self.resume(factories, report, upto=upto)
        return report

    async def prepare(self, *, requeue: bool = True) -> int:
        """The part before easel serves: orphaned reservations refunded, interrupted jobs queued.

        ``requeue=False`` on a shared database, where a running row may be another process's.

        Returns the last job row that ``resume`` must look at (later ones are this process's own).
        """
        upto = await self.records.last_rowid()
        unfinished = await self.records.unfinished_ids()
        for reservation in await self.quota.open_reservations():
            if reservation.job_id not in unfinished:
                await self.quota.refund(reservation.id)
                log.warning("quota.orphan_refunded", extra={"job_id": reservation.job_id})
        if requeue:
            await self.records.requeue_interrupted()
        return upto

    async def resume(
        self, factories: Mapping[str, SinkFactory], report: RecoveryReport, *, upto: int | None = None
    ) -> None:
        """Queue every unfinished job again (or refund it), oldest first, a batch at a time."""
        async for batch in self.records.unfinished_batches(self.batch_size, upto=upto):
            for unfinished in batch:
                if self.active.unfinished(unfinished.record.job_id) is None:
                    await self._recover(unfinished, factories, report)
            await asyncio.sleep(0)  # let /healthz and the front ends answer between batches

    async def _recover(
        self, unfinished: UnfinishedJob, factories: Mapping[str, SinkFactory], report: RecoveryReport
    ) -> None:
        job = await self.adopt(unfinished, factories, report)
        if job is None:
            return
        position = self.active.enqueue(job)
        self.active.counts["resumed"] += 1
        report.resumed.append(job.job_id)
        log.info(
            "job.resumed",
            extra={
                "job_id": job.job_id,
                "user": job.user,
                "platform": unfinished.record.platform,
                "position": position,
                "redeliver": job.redeliver is not None,
            },
        )
        try:
            await self.notify.resumed(job.sink, job.job_id, position)
        finally:
            job.announced.set()

    async def adopt(
        self,
        unfinished: UnfinishedJob,
        factories: Mapping[str, SinkFactory],
        report: RecoveryReport | None = None,
        *,
        resumed: bool = True,
    ) -> ActiveJob | None:
        """The in-memory job for a row a previous process (or another worker) left; None if refunded.

        Also what a worker of the shared queue does with each row it claims
        (:mod:`services.jobs.shared`). ``resumed``: the row was started before (running or
        delivering), so its partial results must not mix with the new attempt.
        """
        record = unfinished.record
        job_id = record.job_id
        base_log = {"job_id": job_id, "user": user_hash(record.requester.key), "platform": record.platform}
        factory = factories.get(record.platform)
        job = ActiveJob(
            job_id,
            record.requester,
            record.request or _NO_REQUEST,
            dict(record.origin),
            unfinished.reservation_id,
            None,
        )
        try:
            job.sink = factory(record) if factory is not None else None
        except Exception:
            log.exception("job.sink_factory_failed", extra=base_log)
        if job.sink is None:  # nobody to deliver to: never charge for an unseen result
            reason = "platform not registered" if factory is None else "sink factory failed"
            log.warning("job.recovery_refunded", extra={**base_log, "reason": reason})
            await self._refund(job, _interrupted(_INTERRUPTED), report)
            return None
        if record.request is None:
            log.warning("job.recovery_refunded", extra={**base_log, "reason": unfinished.unreadable})
            error = _interrupted(_INPUT_GONE)
            await self._refund(job, error, report)
            await self.notify.failed(job.sink, job_id, error)
            return None
        job.resumed = resumed
        job.resume_token = unfinished.resume_token
        if record.status is JobStatus.DELIVERING:
            job.redeliver = record
        else:  # its images wait in the store
            job.park_inputs(unfinished.inputs)
        return job

    async def _refund(self, job: ActiveJob, error: JobCancelled, report: RecoveryReport | None) -> None:
        await self.settle.failed(job, error, JobStatus.FAILED)
        self.active.counts["refunded_on_recovery"] += 1
        if report is not None:
            report.refunded.append(job.job_id)


def _interrupted(message: str) -> JobCancelled:
    return JobCancelled(message, log_detail="interrupted by a restart")
