"""The read-only half of :class:`JobService`: a person's history, one job, its outcome, quota.

Split from :mod:`services.jobs.service` so the facade's commands (submit, cancel, delete,
pause) read on their own; the state both use is declared here and set by ``JobService``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from services.errors import JobNotFound
from services.jobs.active import ActiveJobs
from services.jobs.publishing import Publishing
from services.jobs.records import JobRecord, JobRecords, JobStatus, stored_error
from services.jobs.shared import SharedJobs
from services.quota import WINDOW_S, QuotaBook, QuotaStatus
from services.store import ImageStore
from services.types import InputImage, JobOutcome, Requester

__all__ = ["JobQueries"]


class JobQueries:
    """Mixed into :class:`JobService`, which sets every attribute below."""

    store: ImageStore
    quota: QuotaBook
    _records: JobRecords
    _active: ActiveJobs
    _shared: SharedJobs | None
    _publishing: Publishing
    _clock: Callable[[], float]

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
        elif self._active.get(job_id) is None and self._active.cold(job_id):  # waiting as an id here
            await self._active.watch(job_id).wait()
            if self._active.get(job_id) is None and self._active.abandoned is not None:
                raise self._active.abandoned  # stopped while it waited: it goes on at the next start
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
