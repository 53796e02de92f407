"""End to end through the real JobService (SQLite, store, quota, watermark) with the GPU host backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.backends.a1111 import A1111Backend
from services.db import Database
from services.errors import EaselError, JobCancelled
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import GenerationRequest, JobOutcome, Operation, Progress, WeightedPrompt
from services.watermark import Watermarker
from tests.fakes.a1111 import FakeA1111
from tests.helpers.jobs import ALICE, ORIGIN

Factory = Callable[..., Awaitable[FakeA1111]]


class Sink:
    def __init__(self) -> None:
        self.progress: list[Progress] = []
        self.delivered: list[JobOutcome] = []
        self.failed: list[EaselError] = []

    async def on_queued(self, job_id: str, position: int) -> None:
        pass

    async def on_started(self, job_id: str) -> None:
        pass

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        self.progress.append(progress)

    async def deliver(self, outcome: JobOutcome) -> None:
        self.delivered.append(outcome)

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        self.failed.append(error)


@dataclass
class Stack:
    jobs: JobService
    quota: QuotaBook
    sink: Sink
    host: FakeA1111


@pytest.fixture
async def stack(tmp_path: Path, a1111_factory: Factory) -> AsyncIterator[Stack]:
    host = await a1111_factory(generation_s=0.6)
    backend = A1111Backend([host.url], progress_interval_s=0.1, reprobe_interval_s=0)
    await backend.start()
    db = await Database.open(tmp_path / "data")
    quota = QuotaBook(db, 10)
    jobs = JobService(
        db=db,
        quota=quota,
        store=ImageStore(tmp_path / "data", db),
        backend=backend,
        watermarker=Watermarker("AI generated"),
        max_concurrency=2,
    )
    sink = Sink()
    jobs.register_platform("test", lambda record: sink)
    await jobs.start()
    try:
        yield Stack(jobs, quota, sink, host)
    finally:
        await jobs.stop(grace_s=0)
        await db.close()
        await backend.close()


async def test_imagine_job_through_the_job_service(stack: Stack) -> None:
    request = GenerationRequest(
        operation=Operation.IMAGINE,
        prompts=(WeightedPrompt("a lighthouse"),),
        width=96,
        height=64,
        samples=2,
        seed=5,
    )
    submitted = await stack.jobs.submit(ALICE, request, origin=ORIGIN)
    outcome = await asyncio.wait_for(stack.jobs.wait(submitted.job_id), 5)

    assert (outcome.backend, outcome.model) == ("gpu-host", "sd_xl_base_1.0")
    assert [(i.seed, i.width, i.height) for i in outcome.images] == [(5, 96, 64), (6, 96, 64)]
    assert stack.sink.delivered == [outcome]
    assert stack.sink.progress and all(p.preview_png for p in stack.sink.progress)
    body = stack.host.last("/sdapi/v1/txt2img").json
    assert (body["seed"], body["batch_size"]) == (5, 2)
    original = await stack.jobs.load_original(submitted.job_id, 1)
    assert (original.width, original.height) == (96, 64)
    assert (await stack.jobs.quota_status(ALICE)).used == 2


async def test_cancelling_a_running_job_interrupts_the_gpu(stack: Stack) -> None:
    stack.host.generation_s = 3.0
    request = GenerationRequest(
        operation=Operation.IMAGINE, prompts=(WeightedPrompt("slow"),), width=64, height=64
    )
    submitted = await stack.jobs.submit(ALICE, request, origin=ORIGIN)
    deadline = time.monotonic() + 3
    while not stack.host.running:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert await stack.jobs.cancel(submitted.job_id)
    with pytest.raises(JobCancelled):
        await asyncio.wait_for(stack.jobs.wait(submitted.job_id), 3)
    assert stack.host.interrupts >= 1
    assert (await stack.jobs.quota_status(ALICE)).used == 0
