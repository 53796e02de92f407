"""Telling the people whose jobs wait that generation is paused, and again when it resumes.

:meth:`JobService.pause` and :meth:`JobService.resume` flip the fair queue's switch at once
and hand the notices to :class:`PauseNotices`, which tells each queued job's sink once per
pause (``on_paused``) and, on resume, tells the same jobs that are still waiting
(``on_unpaused`` with their place). Notices go out one pause or resume at a time, in order,
through :class:`SinkNotifier` (time-boxed, errors logged): a slow chat API delays a notice,
never a job. Only sinks that implement :class:`PauseAwareSink` are told.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from services.jobs.active import ActiveJob, ActiveJobs
from services.jobs.shared import SharedJobs
from services.jobs.sinks import PauseAwareSink, SinkNotifier
from services.tasks import BackgroundTasks

__all__ = ["PauseNotices"]

log = logging.getLogger(__name__)


class PauseNotices:
    def __init__(self, active: ActiveJobs, notify: SinkNotifier, shared: SharedJobs | None = None) -> None:
        self._active = active
        self._notify = notify
        self._shared = shared  # a shared database: the switch is its, for every process
        self._told: set[str] = set()  # jobs told "paused" and not yet "resumed"
        self._order = asyncio.Lock()
        self._tasks = BackgroundTasks("jobs")

    @property
    def switched_off(self) -> bool:
        if self._shared is not None:
            return self._shared.paused
        return not self._active.queue.open.is_set()

    def switch(self, *, on: bool) -> bool:
        """Resume (``on``) or pause generation; False if it already was so. Notices follow in the background."""
        changed = self.switched_off == on
        if on:
            self._active.queue.open.set()
        else:
            self._active.queue.open.clear()
        if self._shared is not None:
            self._shared.set_paused(not on)
        if changed:
            self.resumed() if on else self.paused()
        return changed

    def paused(self) -> None:
        self._tasks.spawn(self._tell_paused(), name="pause-notices")

    def resumed(self) -> None:
        self._tasks.spawn(self._tell_resumed(), name="resume-notices")

    async def queued_while_paused(self, job: ActiveJob) -> None:
        """A job submitted during a pause hears it right after its queue position."""
        if not self.switched_off:
            return
        async with self._order:
            if self.switched_off:
                await self._paused_one(job)

    async def _paused_one(self, job: ActiveJob) -> None:
        if job.job_id in self._told or not isinstance(job.sink, PauseAwareSink):
            return
        self._told.add(job.job_id)
        sink = job.sink
        await self._notify.guarded(job.job_id, "on_paused", lambda: sink.on_paused(job.job_id))

    async def _tell_paused(self) -> None:
        async with self._order:
            waiting = self._waiting()
            for job in waiting:
                if self._active.queue.open.is_set():
                    break  # resumed meanwhile: the resume notices take over
                await self._paused_one(job)
            log.info("jobs.paused", extra={"queued": len(waiting)})

    async def _tell_resumed(self) -> None:
        async with self._order:
            told, self._told = self._told, set()
            for job in self._waiting():
                if job.job_id not in told or not isinstance(job.sink, PauseAwareSink):
                    continue
                if job.job_id not in self._active.queue:
                    continue  # started meanwhile: its own status says so
                position = self._active.queue.position(job.job_id)
                call = functools.partial(job.sink.on_unpaused, job.job_id, position)
                await self._notify.guarded(job.job_id, "on_unpaused", call)
            log.info("jobs.resumed", extra={"told": len(told)})

    def _waiting(self) -> list[ActiveJob]:
        jobs = (self._active.unfinished(job_id) for job_id in self._active.queue.snapshot())
        return [job for job in jobs if job is not None]

    async def close(self) -> None:
        await self._tasks.cancel()
