"""The ``jobs`` table on its own (services.jobs.records), and recovery of rows it cannot read back.

Real SQLite and a real image store on a per-test data dir; no service running unless a
test starts one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services import errors
from services.db import Database
from services.errors import BudgetExceeded, EaselError, JobCancelled, QuotaExceeded
from services.jobs import JobService, JobStatus
from services.jobs.records import JobRecords, NewJob, stored_error
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import (
    GenerationRequest,
    InputImage,
    JobOutcome,
    Operation,
    Progress,
    Requester,
    WeightedPrompt,
)
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend, render_png

ALICE = Requester("test", "alice", "Alice")
ORIGIN = {"platform": "test", "channel": "c1", "thread": None}


@dataclass
class Table:
    db: Database
    store: ImageStore
    quota: QuotaBook
    records: JobRecords


@pytest.fixture
async def table(tmp_path: Path) -> AsyncIterator[Table]:
    db = await Database.open(tmp_path / "data")
    store = ImageStore(tmp_path / "data", db)
    yield Table(db, store, QuotaBook(db, 50), JobRecords(db, store))
    await db.close()


def _remix() -> GenerationRequest:
    image = InputImage(png=render_png(32, 32, seed=5), width=32, height=32)
    return GenerationRequest(
        operation=Operation.REMIX, prompts=(WeightedPrompt("a red barn"),), samples=2, init_image=image
    )


async def _insert(table: Table, job_id: str, request: GenerationRequest, created_at: float = 1_000.0) -> str:
    """Write a job the way submit does: inputs stored, reservation and row in one transaction."""
    refs = {}
    if request.init_image is not None:
        refs["init_image"] = await table.store.put_input(request.init_image)
    row = NewJob.encode(job_id, ALICE, ORIGIN, request, refs, created_at=created_at)
    async with table.db.transaction() as tx:
        reservation = await table.quota.reserve(ALICE, row.n_requested, job_id, tx=tx)
        await table.records.insert(tx, row, reservation.id)
    return reservation.id


async def test_a_job_row_reads_back_as_it_was_written_through_every_phase(table: Table) -> None:
    request = _remix()
    reservation_id = await _insert(table, "job1", request)

    queued = await table.records.get("job1")
    assert queued is not None
    assert (queued.status, queued.requester, queued.request) == (JobStatus.QUEUED, ALICE, request)
    assert (dict(queued.origin), queued.platform, queued.n_requested) == (ORIGIN, "test", 2)
    assert queued.created_at.timestamp() == 1_000.0 and queued.started_at is None

    await table.records.mark_running("job1", started_at=1_001.0)
    await table.records.save_resume_token("job1", "gen-42")
    [unfinished] = await table.records.unfinished()
    assert unfinished.record.status is JobStatus.RUNNING
    assert (unfinished.reservation_id, unfinished.resume_token, unfinished.unreadable) == (
        reservation_id,
        "gen-42",
        "",
    )
    assert unfinished.record.started_at is not None and unfinished.record.started_at.timestamp() == 1_001.0

    await table.records.mark_delivering(
        "job1", backend="fake", model="fake-model-1", n_filtered=1, seeds=[7], text=None
    )
    async with table.db.transaction() as tx:
        await table.records.mark_done(tx, "job1", finished_at=1_002.0, n_delivered=1)
    done = await table.records.get("job1")
    assert done is not None
    assert (done.status, done.backend, done.model, done.seeds, done.n_filtered, done.n_delivered) == (
        JobStatus.DONE,
        "fake",
        "fake-model-1",
        (7,),
        1,
        1,
    )
    assert await table.records.unfinished() == []

    assert not done.deleted
    assert await table.records.mark_deleted("job1", deleted_at=1_003.0)
    deleted = await table.records.get("job1")
    assert deleted is not None and deleted.deleted


async def test_unknown_jobs_are_none_and_cannot_be_marked_deleted(table: Table) -> None:
    assert await table.records.get("nope") is None
    assert not await table.records.mark_deleted("nope", deleted_at=1.0)


async def test_the_recovery_scan_returns_unfinished_jobs_oldest_first(table: Table) -> None:
    imagine = GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("x"),))
    for job_id, created_at in (("late", 30.0), ("early", 10.0), ("finished", 20.0), ("middle", 25.0)):
        await _insert(table, job_id, imagine, created_at)
    async with table.db.transaction() as tx:
        await table.records.mark_failed(tx, "finished", JobStatus.CANCELLED, JobCancelled(), finished_at=40.0)
    assert [u.record.job_id for u in await table.records.unfinished()] == ["early", "middle", "late"]


async def test_a_row_whose_input_image_is_gone_reads_back_without_its_request(table: Table) -> None:
    request = _remix()
    await _insert(table, "job1", request)
    assert request.init_image is not None
    for path in (table.db.data_dir / "inputs").iterdir():
        path.write_bytes(b"not the stored image")  # damaged: the content hash no longer matches

    record = await table.records.get("job1")
    assert record is not None and record.request is None and record.requester == ALICE
    [unfinished] = await table.records.unfinished()
    assert unfinished.record.request is None and "missing or damaged" in unfinished.unreadable


async def test_an_undecodable_request_reads_back_without_its_request(table: Table) -> None:
    await _insert(
        table, "job1", GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("x"),))
    )
    await table.db.execute("UPDATE jobs SET request_json = ? WHERE id = ?", ('{"v": 99}', "job1"))
    [unfinished] = await table.records.unfinished()
    assert unfinished.record.request is None
    assert unfinished.unreadable.startswith("undecodable request:")


_STORABLE = [
    cls
    for cls in (getattr(errors, name) for name in errors.__all__)
    if issubclass(cls, EaselError) and cls not in (QuotaExceeded, BudgetExceeded)
]


@pytest.mark.parametrize("cls", _STORABLE, ids=lambda cls: cls.__name__)
async def test_every_stored_failure_comes_back_as_its_own_class(table: Table, cls: type[EaselError]) -> None:
    await _insert(
        table, "job1", GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("x"),))
    )
    async with table.db.transaction() as tx:
        await table.records.mark_failed(
            tx, "job1", JobStatus.FAILED, cls("what the user saw"), finished_at=2.0
        )
    record = await table.records.get("job1")
    assert record is not None and record.error_kind == cls.__name__
    rebuilt = stored_error(record.error_kind, record.error)
    assert type(rebuilt) is cls and rebuilt.user_message == "what the user saw"


def test_an_unknown_or_missing_stored_failure_is_a_plain_easel_error() -> None:
    for kind in ("QuotaExceeded", "KeyError", "", None):
        rebuilt = stored_error(kind, None)
        assert type(rebuilt) is EaselError and rebuilt.user_message == EaselError.default_message


class _Sink:
    """A front end without ``on_resumed``: a resumed job is announced with ``on_queued``."""

    def __init__(self) -> None:
        self.failed: dict[str, EaselError] = {}
        self.told = asyncio.Event()

    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: Progress) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None: ...

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        self.failed[job_id] = error
        self.told.set()


async def test_recovery_refunds_and_tells_a_job_whose_row_cannot_be_read(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = await Database.open(data_dir)
    backend = FakeBackend()
    backend.gate = asyncio.Event()  # the first process never finishes the job
    quota = QuotaBook(db, 10)

    def service() -> JobService:
        jobs = JobService(
            db=db, quota=quota, store=ImageStore(data_dir, db), backend=backend, watermarker=Watermarker("x")
        )
        jobs.register_platform("test", lambda record: sink)
        return jobs

    sink = _Sink()
    first = service()
    await first.start()
    submitted = await first.submit(ALICE, _remix(), origin=ORIGIN)
    await backend.until_running()
    await first.stop(grace_s=0)
    assert (await quota.status(ALICE)).used == 2  # still reserved: the job is unfinished
    await db.execute("UPDATE jobs SET request_json = ? WHERE id = ?", ("{not json", submitted.job_id))

    second = service()
    report = await second.start()
    try:
        assert (report.resumed, report.refunded) == ([], [submitted.job_id])
        await asyncio.wait_for(sink.told.wait(), 5)
        told = sink.failed[submitted.job_id]
        assert isinstance(told, JobCancelled) and "is gone" in told.user_message
        assert (await quota.status(ALICE)).used == 0
        record = await second.get_job(submitted.job_id)
        assert (record.status, record.error_kind, record.request) == (JobStatus.FAILED, "JobCancelled", None)
        assert second.stats().refunded_on_recovery == 1
    finally:
        await second.stop(grace_s=0)

    third = service()  # a late wait() in a later process rebuilds the failure from the row
    await third.start()
    try:
        with pytest.raises(JobCancelled, match="is gone"):
            await third.wait(submitted.job_id)
    finally:
        await third.stop(grace_s=0)
        await db.close()
