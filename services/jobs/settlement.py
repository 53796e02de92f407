"""Ending a job: commit or refund its quota and write its final row, in one transaction.

Usage::

    settle = Settlement(db=db, quota=quota, records=records, active=active, clock=time.time)
    await settle.done(job, outcome)             # charged by the delivering model, row 'done'
    await settle.failed(job, error, JobStatus.FAILED)            # refunded, row 'failed'

Quota and status change together or not at all, so a crash between them can never
leave a job charged but failed, or refunded but done. Commit and refund only act on a
reservation still open (:mod:`services.quota`), so settling a job twice never charges
twice. A delivered job is charged :func:`services.backends.costs.charged_units`: its images ×
the units of the model that made them (a fallback's own price), or its billed tokens; the
ledger clamps that to the reservation, refunding the rest. After the transaction the job's waiters wake up (:meth:`ActiveJobs.finish`);
telling the user is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.backends.base import BackendLimits
from services.backends.costs import DEFAULT_TOKENS_PER_UNIT, charged_units
from services.db import Database
from services.errors import ContentFiltered, EaselError
from services.jobs.active import ActiveJob, ActiveJobs
from services.jobs.gate import RequestGate
from services.jobs.records import JobRecords, JobStatus
from services.quota import QuotaBook
from services.types import JobOutcome

__all__ = ["Settlement"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement:
    """See the module docstring."""

    db: Database
    quota: QuotaBook
    records: JobRecords
    active: ActiveJobs
    clock: Callable[[], float]
    gate: RequestGate | None = None
    limits: Callable[[], BackendLimits] | None = None  # the models' prices; None: one unit per image
    tokens_per_unit: int = DEFAULT_TOKENS_PER_UNIT

    def units_for(self, outcome: JobOutcome) -> int:
        """What delivering ``outcome`` costs (clamped to the reservation by the ledger)."""
        if self.limits is None:
            return len(outcome.images) or (1 if outcome.text is not None else 0)
        return charged_units(outcome, self.limits(), self.tokens_per_unit)

    async def done(self, job: ActiveJob, outcome: JobOutcome) -> None:
        """Charge what the delivered result costs (refunding the rest) and mark the job done."""
        units = self.units_for(outcome)
        async with self.db.transaction() as tx:
            await self.quota.commit(job.reservation_id, units, tx=tx)
            await self.records.mark_done(
                tx, job.job_id, finished_at=self.clock(), n_delivered=len(outcome.images)
            )
        counts = self.active.counts
        counts["done"] += 1
        counts["images_delivered"] += len(outcome.images)
        counts["images_filtered"] += outcome.filtered
        if outcome.filtered and self.gate is not None:
            await self.gate.content_filtered(job.requester, job.job_id, outcome.filtered)
        job.outcome = outcome
        self.active.finish(job, JobStatus.DONE)

    async def failed(self, job: ActiveJob, error: EaselError, status: JobStatus) -> None:
        """Refund the reservation and mark the job ``status`` (failed or cancelled) with ``error``."""
        async with self.db.transaction() as tx:
            await self.quota.refund(job.reservation_id, tx=tx)
            await self.records.mark_failed(tx, job.job_id, status, error, finished_at=self.clock())
        self.active.counts[status.value] += 1
        if isinstance(error, ContentFiltered) and self.gate is not None:
            await self.gate.content_filtered(job.requester, job.job_id, job.request.images_requested)
        job.error = error
        self.active.finish(job, status)
