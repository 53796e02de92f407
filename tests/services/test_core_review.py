"""Release review of the persistent core: quota window, job races, hostile ids, a locked database."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from services.backends.base import ProgressCallback
from services.db import Database
from services.errors import BackendError, EaselError, JobCancelled, JobNotFound, QuotaExceeded, StorageBusy
from services.jobs import JobService, JobStatus
from services.jobs.fair_queue import FairQueue
from services.quota import WINDOW_S, QuotaBook
from services.store import ImageStore
from services.types import (
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    InputImage,
    JobOutcome,
    Progress,
)
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend, render_png
from tests.helpers.clock import T0, FakeClock
from tests.helpers.jobs import ALICE, BOB, ORIGIN, RecordingSink, Services, build_services
from tests.helpers.requests import imagine

# Quota ---------------------------------------------------------------------------------------


async def test_resets_at_when_several_reservations_must_age_out(db: Database) -> None:
    clock = FakeClock()
    book = QuotaBook(db, daily_limit=6, clock=clock)
    await book.reserve(ALICE, 2, "a")  # T0
    clock.now = T0 + 100
    await book.reserve(ALICE, 2, "b")
    clock.now = T0 + 200
    await book.reserve(ALICE, 2, "c")
    clock.now = T0 + 300
    with pytest.raises(QuotaExceeded) as exc_info:
        await book.reserve(ALICE, 3, "d")  # needs a and b gone
    assert exc_info.value.resets_at.timestamp() == pytest.approx(T0 + 100 + WINDOW_S)
    status = await book.status(ALICE)
    assert status.resets_at is not None and status.resets_at.timestamp() == pytest.approx(T0 + WINDOW_S)
    clock.now = T0 + 100 + WINDOW_S + 1  # a and b aged out: exactly what resets_at promised
    await book.reserve(ALICE, 3, "d")
    assert (await book.status(ALICE)).used == 5


async def test_partial_commit_then_refund_and_refund_after_commit_change_nothing(db: Database) -> None:
    book = QuotaBook(db, daily_limit=10)
    reservation = await book.reserve(ALICE, 4, "job")
    assert await book.commit(reservation.id, delivered=1) is True
    assert await book.refund(reservation.id) is False
    assert await book.commit(reservation.id, delivered=4) is False
    assert (await book.status(ALICE)).used == 1
    second = await book.reserve(ALICE, 3, "job2")
    assert await book.commit(second.id, delivered=99) is True  # clamped to what was reserved
    assert (await book.status(ALICE)).used == 4


async def test_operator_lowers_the_daily_limit_between_restarts(db: Database) -> None:
    await QuotaBook(db, daily_limit=25).reserve(ALICE, 20, "big")
    lowered = QuotaBook(db, daily_limit=5)
    status = await lowered.status(ALICE)
    assert (status.limit, status.used, status.remaining) == (5, 20, 0)
    with pytest.raises(QuotaExceeded) as exc_info:
        await lowered.reserve(ALICE, 1, "more")
    assert "0 of your 5" in exc_info.value.user_message
    assert (await QuotaBook(db, daily_limit=0).status(ALICE)).remaining == 0
    await lowered.reserve(BOB, 5, "bob")  # others unaffected


# Jobs ----------------------------------------------------------------------------------------


class HangingSink(RecordingSink):
    """A chat API that never answers anything but ``deliver``."""

    def __init__(self) -> None:
        super().__init__()
        self.never = asyncio.Event()

    async def on_queued(self, job_id: str, position: int) -> None:
        await self.never.wait()

    async def on_started(self, job_id: str) -> None:
        await self.never.wait()

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        await self.never.wait()

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        await self.never.wait()


async def _service(
    data_dir: Path, backend: FakeBackend, publisher: object | None = None, **kw: object
) -> tuple[JobService, Database]:
    db = await Database.open(data_dir)
    jobs = JobService(
        db=db,
        quota=QuotaBook(db, 50),
        store=ImageStore(data_dir, db),
        backend=backend,
        watermarker=publisher or Watermarker("AI generated"),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    return jobs, db


async def test_a_hanging_chat_api_blocks_neither_submit_nor_other_users(tmp_path: Path) -> None:
    backend = FakeBackend(progress_steps=2)
    jobs, db = await _service(tmp_path / "data", backend, max_concurrency=1, sink_timeout_s=0.2)
    hanging, healthy = HangingSink(), RecordingSink()
    jobs.register_platform("stuck", lambda record: hanging)
    jobs.register_platform("test", lambda record: healthy)
    await jobs.start()
    try:
        stuck = await asyncio.wait_for(jobs.submit(ALICE, imagine(), origin={"platform": "stuck"}), 3)
        fine = await asyncio.wait_for(jobs.submit(BOB, imagine("bob"), origin=ORIGIN), 3)
        await healthy.wait_for({fine.job_id})
        await asyncio.wait_for(jobs.wait(stuck.job_id), 5)  # its own job is delivered too
        assert stuck.job_id in hanging.delivered
        # on_failed hanging must not hold the only worker either.
        backend.fail_next(BackendError(log_detail="boom"))
        failing = await jobs.submit(ALICE, imagine("fails"), origin={"platform": "stuck"})
        with pytest.raises(BackendError):
            await asyncio.wait_for(jobs.wait(failing.job_id), 5)
        after = await jobs.submit(BOB, imagine("after"), origin=ORIGIN)
        await healthy.wait_for({after.job_id})
    finally:
        await jobs.stop(grace_s=0)
        await db.close()


class RaisingProgressSink(RecordingSink):
    async def on_progress(self, job_id: str, progress: Progress) -> None:
        raise RuntimeError("edit failed")


async def test_progress_callback_raising_does_not_fail_the_job(tmp_path: Path) -> None:
    svc = await build_services(tmp_path / "data", FakeBackend(progress_steps=3), sink=RaisingProgressSink())
    await svc.jobs.start()
    try:
        submitted = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
        outcome = await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
        assert len(outcome.images) == 1
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


class ShapedBackend(FakeBackend):
    """Returns ``count`` SUCCESS images whatever the request asked for."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        result = await super().generate(replace(request, samples=max(self.count, 1)), progress)
        return replace(result, images=result.images[: self.count])


async def test_backend_success_without_images_is_refunded(tmp_path: Path) -> None:
    svc = await build_services(tmp_path / "data", ShapedBackend(0))
    await svc.jobs.start()
    try:
        submitted = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
        with pytest.raises(BackendError):
            await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
        assert (await svc.jobs.quota_status(ALICE)).used == 0
        assert (await svc.jobs.get_job(submitted.job_id)).status is JobStatus.FAILED
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


async def test_more_images_than_requested_never_charge_more_than_reserved(tmp_path: Path) -> None:
    svc = await build_services(tmp_path / "data", ShapedBackend(4))
    await svc.jobs.start()
    try:
        submitted = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
        assert (await svc.jobs.quota_status(ALICE)).used == 2
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


class FlakyPublisher:
    """Stamps like the real Watermarker but fails on the second image, after the first is stored."""

    def __init__(self) -> None:
        self.real = Watermarker("AI generated")
        self.calls = 0

    async def publish(
        self, png: bytes, *, job_id: str | None = None, model: str = "", prompt: str = ""
    ) -> bytes:
        self.calls += 1
        if self.calls == 2:
            await asyncio.sleep(0.3)  # let the originals of the other images reach the store
            raise OSError("font file vanished")
        return await self.real.publish(png, job_id=job_id)

    async def credit_original(self, png: bytes, *, model: str, prompt: str) -> bytes:
        return png

    def recredential(self, *, model: str, prompt: str) -> None:
        return None


async def test_watermark_failure_on_one_image_fails_the_job_and_keeps_no_originals(
    tmp_path: Path,
) -> None:
    jobs, db = await _service(tmp_path / "data", FakeBackend(), FlakyPublisher())
    sink = RecordingSink()
    jobs.register_platform("test", lambda record: sink)
    await jobs.start()
    try:
        submitted = await jobs.submit(ALICE, imagine(samples=3), origin=ORIGIN)
        with pytest.raises(BackendError):
            await asyncio.wait_for(jobs.wait(submitted.job_id), 5)
        assert submitted.job_id not in sink.delivered
        assert (await jobs.quota_status(ALICE)).used == 0
        # Nothing half-published is kept: no clean originals of a job the user never saw.
        assert await jobs.store.list_originals(submitted.job_id) == []
        for index in range(3):
            with pytest.raises(JobNotFound):
                await jobs.load_original(submitted.job_id, index)
        assert not (tmp_path / "data" / "originals" / submitted.job_id).exists()
    finally:
        await jobs.stop(grace_s=0)
        await db.close()


class GatedDeliverSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.delivering = asyncio.Event()
        self.release = asyncio.Event()

    async def deliver(self, outcome: JobOutcome) -> None:
        self.delivering.set()
        await self.release.wait()
        await super().deliver(outcome)


async def test_cancel_while_delivering_or_after_done_is_too_late(tmp_path: Path) -> None:
    sink = GatedDeliverSink()
    svc = await build_services(tmp_path / "data", FakeBackend(), sink=sink)
    await svc.jobs.start()
    try:
        submitted = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
        await asyncio.wait_for(sink.delivering.wait(), 5)
        assert await svc.jobs.cancel(submitted.job_id) is False
        sink.release.set()
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
        assert await svc.jobs.cancel(submitted.job_id) is False
        assert (await svc.jobs.get_job(submitted.job_id)).status is JobStatus.DONE
        assert (await svc.jobs.quota_status(ALICE)).used == 2
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


async def test_stop_with_queued_and_running_jobs_then_resume(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.gate = asyncio.Event()
    svc: Services = await build_services(tmp_path / "data", backend, max_concurrency=1)
    await svc.jobs.start()
    running = await svc.jobs.submit(ALICE, imagine("one"), origin=ORIGIN)
    queued = await svc.jobs.submit(BOB, imagine("two"), origin=ORIGIN)
    await asyncio.wait_for(backend.until_running(1), 5)
    waiters = [asyncio.create_task(svc.jobs.wait(j.job_id)) for j in (running, queued)]
    await svc.jobs.stop(grace_s=0)
    for waiter in waiters:
        with pytest.raises(JobCancelled):
            await waiter
    assert (await svc.quota.status(ALICE)).used == 1  # still reserved, not refunded
    await svc.db.close()

    again = await build_services(tmp_path / "data", FakeBackend())
    report = await again.jobs.start()
    try:
        assert sorted(report.resumed) == sorted([running.job_id, queued.job_id])
        await again.sink.wait_for({running.job_id, queued.job_id})
        assert (await again.quota.status(ALICE)).used == 1
        assert (await again.quota.status(BOB)).used == 1
    finally:
        await again.jobs.stop(grace_s=0)
        await again.db.close()


# Database trouble ----------------------------------------------------------------------------


async def test_locked_database_at_submit_is_a_polite_storage_error_and_spends_nothing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    db = await Database.open(data_dir, busy_timeout_ms=100, lock_wait_s=0.5)
    jobs = JobService(
        db=db,
        quota=QuotaBook(db, 50),
        store=ImageStore(data_dir, db),
        backend=FakeBackend(),
        watermarker=Watermarker("AI generated"),
    )
    sink = RecordingSink()
    jobs.register_platform("test", lambda record: sink)
    await jobs.start()
    other = await Database.open(data_dir)  # another process holding the write lock
    try:
        async with other.transaction():
            with pytest.raises(StorageBusy) as exc_info:  # easel's storage, not the image service
                await jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
        assert "quota was not spent" in exc_info.value.user_message
        assert "image service" not in exc_info.value.user_message
        assert "locked" not in exc_info.value.user_message
        assert await db.fetchall("SELECT id FROM quota_reservations") == []
        assert await db.fetchall("SELECT id FROM jobs") == []
        assert (await jobs.quota_status(ALICE)).used == 0
        submitted = await jobs.submit(ALICE, imagine(), origin=ORIGIN)  # fine once it is free
        await asyncio.wait_for(jobs.wait(submitted.job_id), 5)
    finally:
        await other.close()
        await jobs.stop(grace_s=0)
        await db.close()


# Store ---------------------------------------------------------------------------------------


async def test_forged_original_ids_and_indexes_are_not_found(db: Database, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "data", db)
    await store.save_original("job1", 0, GeneratedImage(render_png(16, 16, 1), seed=1, width=16, height=16))
    for job_id, index in [("job1", 2**70), ("job1", -(2**70)), ("job1", -1), ("../../etc", 0), ("", 0)]:
        with pytest.raises(JobNotFound):
            await store.load_original(job_id, index)
    assert await store.delete_job_images("../job1") == 0
    assert (tmp_path / "data" / "originals" / "job1" / "0.png").exists()


async def test_concurrent_writes_of_the_same_input(db: Database, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "data", db)
    image = InputImage(png=render_png(32, 32, 3), width=32, height=32)
    refs = await asyncio.gather(*(store.put_input(image) for _ in range(12)))
    assert len(set(refs)) == 1
    assert [p.name for p in (tmp_path / "data" / "inputs").iterdir()] == [f"{refs[0].sha256}.png"]
    assert (await store.load_input(refs[0])).png == image.png


# Fair queue ----------------------------------------------------------------------------------


def test_positions_after_removals_match_the_start_order() -> None:
    queue = FairQueue()
    for user in range(30):
        for n in range(3):
            queue.put(f"u{user}", f"u{user}-{n}")
    for job in ["u3-0", "u7-1", "u29-2", "u0-0"]:
        assert queue.remove(job)
    order = queue.snapshot()
    assert [queue.position(job) for job in order] == list(range(1, len(order) + 1))
    started = [queue.get_nowait() for _ in range(len(order))]
    assert started == order


def test_a_user_who_leaves_and_rejoins_waits_one_round_not_forever() -> None:
    queue = FairQueue()
    queue.put("a", "a1")
    queue.put("b", "b1")
    assert queue.remove("a1")
    for n in range(2, 6):
        queue.put("b", f"b{n}")
    assert queue.put("a", "a2") == 2  # back in the current round, right after b1
    assert queue.snapshot()[:3] == ["b1", "a2", "b2"]
