"""A platform-neutral job stack for service tests: real SQLite, store, quota and watermark, FakeBackend.

``build_services`` wires the same objects the composition root does, minus any chat platform;
``RecordingSink`` stands in for a front end and writes down every event it is told.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.db import Database
from services.errors import EaselError
from services.jobs import JobService
from services.jobs.gate import RequestGate
from services.jobs.publishing import Publisher
from services.jobs.shared_queue import LEASE_S
from services.quota import QuotaBook
from services.store import ImageStore
from services.stores import BlobStore
from services.types import JobOutcome, Progress, Requester
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend

ALICE = Requester("test", "alice")
BOB = Requester("test", "bob")
ORIGIN = {"platform": "test", "channel": "c1"}


class RecordingSink:
    """A front end that writes down what it is told (one instance shared by all jobs)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.delivered: dict[str, list[JobOutcome]] = {}
        self.failed: dict[str, EaselError] = {}
        self.progress: dict[str, list[Progress]] = {}
        self.deliver_error: Exception | None = None
        self.finished = asyncio.Condition()

    async def on_queued(self, job_id: str, position: int) -> None:
        self.events.append(("queued", job_id))

    async def on_resumed(self, job_id: str, position: int) -> None:
        self.events.append(("resumed", job_id))

    async def on_started(self, job_id: str) -> None:
        self.events.append(("started", job_id))

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        self.progress.setdefault(job_id, []).append(progress)

    async def deliver(self, outcome: JobOutcome) -> None:
        self.events.append(("deliver", outcome.job_id))
        if self.deliver_error is not None:
            error, self.deliver_error = self.deliver_error, None
            raise error
        self.delivered.setdefault(outcome.job_id, []).append(outcome)
        async with self.finished:
            self.finished.notify_all()

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        self.events.append(("failed", job_id))
        self.failed[job_id] = error
        async with self.finished:
            self.finished.notify_all()

    async def wait_for(self, job_ids: set[str], within_s: float = 5.0) -> None:
        async def settled() -> None:
            async with self.finished:
                await self.finished.wait_for(lambda: job_ids <= set(self.delivered) | set(self.failed))

        await asyncio.wait_for(settled(), within_s)


@dataclass
class Services:
    db: Database
    quota: QuotaBook
    store: ImageStore
    backend: FakeBackend
    jobs: JobService
    sink: RecordingSink
    data_dir: Path


async def build_services(
    data_dir: Path,
    backend: FakeBackend,
    *,
    daily_limit: int = 50,
    max_concurrency: int = 2,
    sink: RecordingSink | None = None,
    platforms: tuple[str, ...] = ("test",),
    blobs: BlobStore | None = None,
    gate: Callable[[Database], RequestGate] | None = None,
    database_url: str | None = None,
    watermarker: Publisher | None = None,
    worker_id: str | None = None,
    lease_s: float = LEASE_S,
) -> Services:
    """``database_url``: PostgreSQL instead of SQLite in ``data_dir`` (see tests.helpers.postgres)."""
    db = await Database.open(data_dir, url=database_url)
    quota = QuotaBook(db, daily_limit)
    store = ImageStore(data_dir, db, blobs)
    jobs = JobService(
        db=db,
        quota=quota,
        store=store,
        backend=backend,
        watermarker=watermarker or Watermarker("AI generated"),
        max_concurrency=max_concurrency,
        gate=gate(db) if gate is not None else None,
        worker_id=worker_id,
        lease_s=lease_s,
    )
    sink = sink or RecordingSink()
    for platform in platforms:
        jobs.register_platform(platform, lambda record: sink)
    return Services(db, quota, store, backend, jobs, sink, data_dir)
