"""Sink notifications on their own (services.jobs.sinks) and the in-memory job table (services.jobs.active)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.errors import EaselError, JobCancelled
from services.jobs import JobSink, JobStatus, ResumeAwareSink
from services.jobs.active import FINISHED_CACHE_JOBS, ActiveJob, ActiveJobs
from services.jobs.sinks import SinkNotifier
from services.types import GenerationRequest, JobOutcome, Operation, Progress, Requester

ALICE = Requester("test", "alice")


class PlainSink:
    """Implements JobSink only."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    async def on_queued(self, job_id: str, position: int) -> None:
        self.events.append(("queued", job_id, position))

    async def on_started(self, job_id: str) -> None:
        self.events.append(("started", job_id, None))

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        self.events.append(("progress", job_id, progress))

    async def deliver(self, outcome: JobOutcome) -> None:
        self.events.append(("deliver", outcome.job_id, None))

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        self.events.append(("failed", job_id, error))


class ResumingSink(PlainSink):
    async def on_resumed(self, job_id: str, position: int) -> None:
        self.events.append(("resumed", job_id, position))


class BrokenSink(PlainSink):
    async def on_started(self, job_id: str) -> None:
        raise RuntimeError("chat API said no")

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        await asyncio.Event().wait()  # a chat API that never answers


async def test_a_resumed_job_is_announced_with_on_resumed_where_the_sink_has_it() -> None:
    plain, resuming = PlainSink(), ResumingSink()
    assert isinstance(resuming, ResumeAwareSink) and not isinstance(plain, ResumeAwareSink)
    notify = SinkNotifier(timeout_s=1.0)
    await notify.resumed(plain, "j1", 3)
    await notify.resumed(resuming, "j2", 1)
    assert plain.events == [("queued", "j1", 3)]
    assert resuming.events == [("resumed", "j2", 1)]


async def test_every_notification_reaches_the_sink_typed() -> None:
    sink: JobSink = PlainSink()
    notify = SinkNotifier(timeout_s=1.0)
    error = JobCancelled()
    progress = Progress(fraction=0.5)
    await notify.queued(sink, "j1", 2)
    await notify.started(sink, "j1")
    await notify.progress(sink, "j1", progress)
    await notify.failed(sink, "j1", error)
    await notify.failed(None, "j1", error)  # no sink: nothing to tell, no error
    assert isinstance(sink, PlainSink)
    assert sink.events == [
        ("queued", "j1", 2),
        ("started", "j1", None),
        ("progress", "j1", progress),
        ("failed", "j1", error),
    ]


async def test_a_raising_or_hanging_sink_is_logged_and_never_holds_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notify = SinkNotifier(timeout_s=0.05)
    with caplog.at_level(logging.WARNING, logger="services.jobs"):
        await notify.started(BrokenSink(), "j1")
        await asyncio.wait_for(notify.failed(BrokenSink(), "j2", JobCancelled()), 2)
    events = [
        (r.getMessage(), getattr(r, "job_id", None), getattr(r, "method", None)) for r in caplog.records
    ]
    assert events == [("job.sink_error", "j1", "on_started"), ("job.sink_timeout", "j2", "on_failed")]


def _job(job_id: str) -> ActiveJob:
    return ActiveJob(
        job_id, ALICE, GenerationRequest(operation=Operation.IMAGINE), {"platform": "test"}, "r", None
    )


async def test_finished_jobs_stay_findable_for_a_late_wait_within_the_cache_bound() -> None:
    active = ActiveJobs()
    jobs = [_job(f"j{n}") for n in range(FINISHED_CACHE_JOBS + 1)]
    for job in jobs:
        assert active.enqueue(job) >= 1
    assert active.stats().queue_depth == len(jobs)
    for job in jobs:
        active.finish(job, JobStatus.DONE)
        assert job.finished.is_set() and active.unfinished(job.job_id) is None
    assert active.get(jobs[0].job_id) is None  # the oldest made room: wait() reads the store instead
    assert all(active.get(job.job_id) is job for job in jobs[1:])


async def test_abandon_frees_every_waiter_and_empties_the_queue() -> None:
    active = ActiveJobs()
    jobs = [_job("a"), _job("b")]
    for job in jobs:
        active.enqueue(job)
    active.abandon(lambda: JobCancelled("restarting"))
    assert all(job.finished.is_set() and isinstance(job.error, JobCancelled) for job in jobs)
    assert jobs[0].error is not jobs[1].error  # each waiter raises its own exception object
    assert active.get("a") is None and active.stats().queue_depth == 0
