"""Queued jobs kept as ids: their row becomes a job again when a worker (or a notice) needs it.

Usage (by :class:`JobService` on SQLite)::

    cold = ColdJobs(records=records, active=active, recovery=recovery, factories=factories)
    active.cool(job)                        # announced and waiting: only (id, person) stay in RAM
    job = await cold.warm(job_id)           # the runner takes it: row read, sink built, inputs loaded
    listing = await cold.listing(ids)       # /easel admin queue without building any job

Why: a waiting job held its request, origin, sink and events in memory for as long as it
waited (1.7 kB each before any front end's sink, issue 15), though its row already holds all
of it. The fair queue keeps the order (an id and a person per job); warming a job is what a
restart does for every job it recovers (:meth:`Recovery.adopt`), so sinks are built from the
stored origin exactly as after a restart. Jobs with a sink of their own (``submit(sink=…)``,
nothing to rebuild it from) stay in memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from services.jobs.active import ActiveJob, ActiveJobs
from services.jobs.codec import requester_from_dict
from services.jobs.queued import QueuedJob
from services.jobs.records import JobRecords
from services.jobs.recovery import Recovery
from services.jobs.sinks import SinkFactory

__all__ = ["ColdJobs"]

_LISTING_BATCH = 500


class ColdJobs:
    """See the module docstring."""

    def __init__(
        self,
        *,
        records: JobRecords,
        active: ActiveJobs,
        recovery: Recovery,
        factories: Mapping[str, SinkFactory],
    ) -> None:
        self._records = records
        self._active = active
        self._recovery = recovery
        self._factories = factories  # the service's own dict: platforms registered later are seen

    async def warm(self, job_id: str, *, hold: bool = True) -> ActiveJob | None:
        """The waiting job ``job_id`` rebuilt from its row; None if it ended or could not be rebuilt.

        A row that cannot become a job (its platform gone, its inputs gone) is refunded and told,
        as recovery does. ``hold=False``: a look only (pause notices), the job stays cold.
        """
        row = await self._records.unfinished_row(job_id)
        if row is None:
            return None
        unfinished = await self._records.unfinished_from(row)
        resumed = job_id in self._active.resumed_ids
        job = await self._recovery.adopt(unfinished, self._factories, resumed=resumed, park=not hold)
        if job is None:
            self._active.resumed_ids.discard(job_id)
            return None
        job.announced.set()
        if hold:
            self._active.hold(job)
        return job

    async def listing(self, job_ids: Sequence[str]) -> list[QueuedJob]:
        """The admins' view of ``job_ids`` in that order, read in batches (hot jobs from memory)."""
        found: dict[str, QueuedJob] = {}
        cold = [job_id for job_id in job_ids if self._active.unfinished(job_id) is None]
        for start in range(0, len(cold), _LISTING_BATCH):
            for row in await self._records.queued_rows(cold[start : start + _LISTING_BATCH]):
                requester = requester_from_dict(json.loads(row["requester_json"]))
                found[row["id"]] = QueuedJob(
                    row["id"], requester.key, int(row["n_requested"]), requester.venue.server_id
                )
        listing: list[QueuedJob] = []
        for job_id in job_ids:
            job = self._active.unfinished(job_id)
            if job is not None:
                listing.append(
                    QueuedJob(
                        job_id, job.requester.key, job.request.images_requested, job.requester.venue.server_id
                    )
                )
            elif job_id in found:
                listing.append(found[job_id])
        return listing
