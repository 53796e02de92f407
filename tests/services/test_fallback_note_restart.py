""" "Made by X — Y was unavailable" survives a restart: a job that failed over and is posted again
from its stored row (redelivery after a stop mid-post, a late ``wait()``) carries the same note.

Real parts: the Stability fake answering 503, the OpenAI fake as the fallback, the router, the
job service on a data dir that a second service opens after the first one stopped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from commands import COMMANDS, Invocation
from commands.replies import made_by_text
from services.backends.openai.backend import OpenAIImagesBackend
from services.backends.routing import RoutingBackend
from services.backends.stability import StabilityV2Backend
from services.db import Database
from services.jobs import JobService, JobStatus
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import JobOutcome
from services.watermark import Watermarker
from tests.fakes.openai.server import FakeOpenAI
from tests.fakes.stability.server import FakeStabilityServer
from tests.helpers.jobs import ALICE, ORIGIN, RecordingSink

NOTE = "Made by gpt-image-2 — ultra was unavailable."


class StuckSink(RecordingSink):
    """Posting never finishes: the process stops while the job is ``delivering``."""

    def __init__(self) -> None:
        super().__init__()
        self.posting = asyncio.Event()

    async def deliver(self, outcome: JobOutcome) -> None:
        self.posting.set()
        await asyncio.Event().wait()


def _routing(stability: FakeStabilityServer, openai: FakeOpenAI) -> RoutingBackend:
    return RoutingBackend(
        {
            "stability": StabilityV2Backend(
                stability.api_key, host=stability.url, model="core", models=["core", "ultra"],
                retry_base_delay_s=0.01, max_attempts=1, timeout_s=2.0, poll_interval_s=0.01,
            ),
            "openai": OpenAIImagesBackend(openai.api_key, base_url=openai.url, retry_base_delay_s=0.01),
        },
        fallbacks={"ultra": "gpt-image-2"},
    )  # fmt: skip


async def _service(
    data_dir: Path, routing: RoutingBackend, sink: RecordingSink
) -> tuple[JobService, Database]:
    await routing.start()
    db = await Database.open(data_dir)
    jobs = JobService(
        db=db,
        quota=QuotaBook(db, daily_limit=100),
        store=ImageStore(data_dir, db),
        backend=routing,
        watermarker=Watermarker("AI generated"),
    )
    jobs.register_platform("test", lambda record: sink)
    await jobs.start()
    return jobs, db


async def test_a_failed_over_job_keeps_its_note_when_posted_again_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    openai = await FakeOpenAI().start()
    try:
        async with FakeStabilityServer() as stability:
            stability.inject(status=503, times=10, path="/v2beta/")
            routing, stuck = _routing(stability, openai), StuckSink()
            jobs, db = await _service(data, routing, stuck)
            try:
                request = await COMMANDS["imagine"].build(
                    Invocation(text="a lighthouse --model ultra"), routing.limits
                )
                job_id = (await jobs.submit(ALICE, request, origin=ORIGIN)).job_id
                await asyncio.wait_for(stuck.posting.wait(), 30)
                await jobs.stop(grace_s=0)
            finally:
                await routing.close()
                await db.close()
            generations = len(openai.calls("/v1/images/generations"))

            routing, sink = _routing(stability, openai), RecordingSink()
            jobs, db = await _service(data, routing, sink)
            try:
                await sink.wait_for({job_id}, within_s=30)
                (redelivered,) = sink.delivered[job_id]
                assert (redelivered.model, redelivered.fallback_from) == ("gpt-image-2", "ultra")
                assert made_by_text(redelivered.model, redelivered.fallback_from) == NOTE
                assert len(openai.calls("/v1/images/generations")) == generations  # re-posted, not re-made
                assert (await jobs.get_job(job_id)).status is JobStatus.DONE
                late = await jobs.wait(job_id)  # a late wait() rebuilds the outcome from the row too
                assert made_by_text(late.model, late.fallback_from) == NOTE
            finally:
                await jobs.stop()
                await routing.close()
                await db.close()
    finally:
        await openai.close()


async def test_a_job_its_own_model_made_gets_no_note_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    openai = await FakeOpenAI().start()
    try:
        async with FakeStabilityServer() as stability:
            routing, sink = _routing(stability, openai), RecordingSink()
            jobs, db = await _service(data, routing, sink)
            try:
                request = await COMMANDS["imagine"].build(
                    Invocation(text="a lighthouse --model ultra"), routing.limits
                )
                job_id = (await jobs.submit(ALICE, request, origin=ORIGIN)).job_id
                await sink.wait_for({job_id}, within_s=30)
                await jobs.stop()
            finally:
                await routing.close()
                await db.close()
            routing = _routing(stability, openai)
            jobs, db = await _service(data, routing, RecordingSink())
            try:
                late = await jobs.wait(job_id)
                assert (late.model, late.fallback_from) == ("ultra", None)
                assert made_by_text(late.model, late.fallback_from) is None
            finally:
                await jobs.stop()
                await routing.close()
                await db.close()
    finally:
        await openai.close()
