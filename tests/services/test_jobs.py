"""JobService end to end: real SQLite, store, quota, watermark; the image service is FakeBackend."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.errors import (
    BackendError,
    BackendUnavailable,
    ContentFiltered,
    EaselError,
    JobCancelled,
    JobNotFound,
    NotAllowed,
    QuotaExceeded,
)
from services.jobs import JobStatus, SubmittedJob
from services.types import (
    GenerationRequest,
    InputImage,
    Operation,
    Requester,
    WeightedPrompt,
)
from tests.fakes.backend import FakeBackend, render_png
from tests.helpers.images import decode
from tests.helpers.jobs import ALICE, BOB, ORIGIN, RecordingSink, Services, build_services
from tests.helpers.requests import imagine


@pytest.fixture
async def svc(tmp_path: Path, storage: str | None) -> AsyncIterator[Services]:
    services = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await services.jobs.start()
    yield services
    await services.jobs.stop(grace_s=0)
    await services.db.close()


async def test_job_end_to_end(svc: Services) -> None:
    svc.backend.progress_steps = 3
    submitted = await svc.jobs.submit(ALICE, imagine(samples=2, seed=42, width=96, height=64), origin=ORIGIN)
    assert isinstance(submitted, SubmittedJob) and submitted.position == 1
    outcome = await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)

    job_id = submitted.job_id
    assert [name for name, jid in svc.sink.events if jid == job_id] == ["queued", "started", "deliver"]
    assert svc.sink.delivered[job_id] == [outcome]
    assert [p.fraction for p in svc.sink.progress[job_id]] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert (outcome.backend, outcome.model, outcome.filtered) == ("fake", "fake-model-1", 0)
    assert [(i.index, i.seed, i.width, i.height) for i in outcome.images] == [
        (0, 42, 96, 64),
        (1, 43, 96, 64),
    ]
    assert outcome.images[0].filename == f"easel-{job_id[:8]}-1.png"
    assert outcome.images[1].content_type == "image/png"

    for image in outcome.images:
        original = await svc.jobs.load_original(job_id, image.index)
        # The stored original has the backend's pixels (clean, no watermark) and the A1111 parameters.
        made = decode(render_png(96, 64, image.seed))
        assert decode(original.png).tobytes() == made.tobytes()
        assert f"Seed: {image.seed}, Size: 96x64" in decode(original.png).info["parameters"]
        assert (original.width, original.height) == (96, 64)
        # The published copy is a watermarked PNG of the same size, different pixels.
        published = decode(image.data)
        clean = decode(original.png)
        assert published.size == clean.size == (96, 64)
        assert published.tobytes() != clean.tobytes()
        corner = (0, 0, 20, 20)  # the mark sits bottom-right; the opposite corner is untouched
        assert published.convert("RGB").crop(corner).tobytes() == clean.convert("RGB").crop(corner).tobytes()

    status = await svc.jobs.quota_status(ALICE)
    assert (status.used, status.remaining) == (2, 48)
    record = await svc.jobs.get_job(job_id)
    assert record.status is JobStatus.DONE
    assert (record.n_requested, record.n_delivered, record.seeds) == (2, 2, (42, 43))
    assert record.request == imagine(samples=2, seed=42, width=96, height=64)
    assert record.origin == ORIGIN and record.platform == "test" and record.requester == ALICE
    assert record.started_at is not None and record.finished_at is not None
    stats = svc.jobs.stats()
    assert (stats.submitted, stats.done, stats.images_delivered, stats.queue_depth) == (1, 1, 2, 0)
    assert stats["images_delivered"] == 2 and stats.get("running") == 0  # also a Mapping, for /metrics
    assert stats.get("jobs_by_status") == {"done": 1, "failed": 0, "cancelled": 0}
    assert dict(stats)["submitted"] == 1


async def test_backend_error_refunds_and_reports(svc: Services) -> None:
    svc.backend.fail_next(BackendUnavailable(log_detail="HTTP 503"))
    submitted = await svc.jobs.submit(ALICE, imagine(samples=3), origin=ORIGIN)
    with pytest.raises(BackendUnavailable):
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    await svc.sink.wait_for({submitted.job_id})
    assert isinstance(svc.sink.failed[submitted.job_id], BackendUnavailable)
    assert submitted.job_id not in svc.sink.delivered
    assert (await svc.jobs.quota_status(ALICE)).used == 0
    record = await svc.jobs.get_job(submitted.job_id)
    assert (record.status, record.error_kind) == (JobStatus.FAILED, "BackendUnavailable")
    assert record.error == BackendUnavailable().user_message
    assert svc.jobs.stats().failed == 1


async def test_unexpected_exception_is_generic_and_the_pool_keeps_working(
    svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    svc.backend.fail_next(RuntimeError("secret-ish internals"))
    bad = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
    with caplog.at_level(logging.ERROR, logger="services.jobs"), pytest.raises(BackendError) as exc_info:
        await asyncio.wait_for(svc.jobs.wait(bad.job_id), 5)
    assert type(exc_info.value) is BackendError
    assert "secret-ish" not in exc_info.value.user_message
    assert any(r.exc_info and "secret-ish" in str(r.exc_info[1]) for r in caplog.records)
    for _ in range(3):  # every worker is still alive
        good = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(good.job_id), 5)
    assert (await svc.jobs.quota_status(ALICE)).used == 3


async def test_partial_content_filter_commits_only_delivered(svc: Services) -> None:
    svc.backend.filtered = {1, 3}
    submitted = await svc.jobs.submit(ALICE, imagine(samples=4), origin=ORIGIN)
    outcome = await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    assert [i.index for i in outcome.images] == [0, 2]
    assert outcome.filtered == 2
    assert (await svc.jobs.quota_status(ALICE)).used == 2
    record = await svc.jobs.get_job(submitted.job_id)
    assert (record.n_delivered, record.n_filtered) == (2, 2)
    with pytest.raises(JobNotFound):  # withheld images are not kept for buttons
        await svc.jobs.load_original(submitted.job_id, 1)


async def test_everything_filtered_is_content_filtered_and_free(svc: Services) -> None:
    svc.backend.filtered = {0, 1}
    submitted = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
    with pytest.raises(ContentFiltered):
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    assert (await svc.jobs.quota_status(ALICE)).used == 0
    assert isinstance(svc.sink.failed[submitted.job_id], ContentFiltered)


async def test_failing_deliver_refunds_and_the_next_job_runs(
    svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    svc.sink.deliver_error = ConnectionResetError("platform went away")
    first = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
    with caplog.at_level(logging.ERROR, logger="services.jobs"), pytest.raises(EaselError):
        await asyncio.wait_for(svc.jobs.wait(first.job_id), 5)
    assert any(
        r.getMessage() == "job.failed" and getattr(r, "error_kind", "") == "delivery_failed"
        for r in caplog.records
    )
    assert (await svc.jobs.get_job(first.job_id)).status is JobStatus.FAILED
    assert first.job_id in svc.sink.failed  # told, best effort
    assert (await svc.jobs.quota_status(ALICE)).used == 0

    second = await svc.jobs.submit(ALICE, imagine(samples=1), origin=ORIGIN)
    await asyncio.wait_for(svc.jobs.wait(second.job_id), 5)
    assert len(svc.sink.delivered[second.job_id]) == 1
    assert (await svc.jobs.quota_status(ALICE)).used == 1


async def test_quota_exceeded_writes_nothing(svc: Services) -> None:
    svc.jobs.quota.daily_limit = 2
    await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
    with pytest.raises(QuotaExceeded) as exc_info:
        await svc.jobs.submit(ALICE, imagine(samples=1), origin=ORIGIN)
    assert (exc_info.value.used, exc_info.value.requested) == (2, 1)
    rows = await svc.db.fetchall("SELECT id FROM jobs")
    assert len(rows) == 1
    assert len(await svc.db.fetchall("SELECT id FROM quota_reservations")) == 1
    await svc.jobs.submit(BOB, imagine(samples=2), origin=ORIGIN)  # per user


async def test_heavy_user_does_not_starve_a_light_one(tmp_path: Path, storage: str | None) -> None:
    backend = FakeBackend()
    backend.gate = asyncio.Event()
    svc = await build_services(tmp_path / "data", backend, max_concurrency=1, database_url=storage)
    await svc.jobs.start()
    try:
        heavy = [await svc.jobs.submit(ALICE, imagine(f"heavy {i}"), origin=ORIGIN) for i in range(10)]
        light = await svc.jobs.submit(BOB, imagine("light"), origin=ORIGIN)
        assert light.position <= 2
        backend.gate.set()
        await svc.sink.wait_for({j.job_id for j in [*heavy, light]}, within_s=10)
        order = [r.positive_prompt for r in backend.calls]
        assert order.index("light") <= 1, order
        assert backend.max_running == 1
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


async def test_concurrency_is_bounded(tmp_path: Path, storage: str | None) -> None:
    svc = await build_services(
        tmp_path / "data", FakeBackend(latency_s=0.05), max_concurrency=2, database_url=storage
    )
    await svc.jobs.start()
    try:
        submitted = [await svc.jobs.submit(ALICE, imagine(f"p{i}"), origin=ORIGIN) for i in range(6)]
        await svc.sink.wait_for({s.job_id for s in submitted})
        assert svc.backend.max_running == 2
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


async def test_cancel_queued_and_running_jobs(tmp_path: Path, storage: str | None) -> None:
    backend = FakeBackend()
    backend.gate = asyncio.Event()
    svc = await build_services(tmp_path / "data", backend, max_concurrency=1, database_url=storage)
    await svc.jobs.start()
    try:
        running = await svc.jobs.submit(ALICE, imagine("first", samples=2), origin=ORIGIN)
        queued = await svc.jobs.submit(ALICE, imagine("second", samples=2), origin=ORIGIN)
        await asyncio.wait_for(backend.until_running(1), 5)
        assert (await svc.jobs.quota_status(ALICE)).used == 4

        assert await svc.jobs.cancel(queued.job_id) is True
        assert (await svc.jobs.get_job(queued.job_id)).status is JobStatus.CANCELLED
        assert isinstance(svc.sink.failed[queued.job_id], JobCancelled)
        assert await svc.jobs.cancel(running.job_id) is True
        assert backend.cancels == 1
        assert (await svc.jobs.get_job(running.job_id)).status is JobStatus.CANCELLED
        with pytest.raises(JobCancelled):
            await svc.jobs.wait(running.job_id)
        assert (await svc.jobs.quota_status(ALICE)).used == 0
        assert await svc.jobs.cancel(running.job_id) is False  # already finished
        with pytest.raises(JobNotFound):
            await svc.jobs.cancel("0" * 32)

        backend.gate.set()  # the worker is free again
        after = await svc.jobs.submit(ALICE, imagine("third"), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(after.job_id), 5)
        assert svc.jobs.stats().cancelled == 2
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


async def test_remix_inputs_are_stored_and_the_request_rebuilt(svc: Services) -> None:
    init = InputImage(png=render_png(40, 30, seed=5), width=40, height=30)
    request = GenerationRequest(
        operation=Operation.REMIX,
        prompts=(WeightedPrompt("as a watercolour"),),
        init_image=init,
        strength=0.4,
    )
    submitted = await svc.jobs.submit(ALICE, request, origin=ORIGIN)
    outcome = await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    assert (outcome.images[0].width, outcome.images[0].height) == (40, 30)
    assert len(list((svc.data_dir / "inputs").iterdir())) == 1
    assert (await svc.jobs.get_job(submitted.job_id)).request == request


async def test_mark_deleted_forgets_originals(svc: Services) -> None:
    submitted = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
    await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    await svc.jobs.load_original(submitted.job_id, 0)
    await svc.jobs.mark_deleted(submitted.job_id)
    with pytest.raises(JobNotFound):
        await svc.jobs.load_original(submitted.job_id, 0)
    assert (await svc.jobs.get_job(submitted.job_id)).deleted
    assert (await svc.jobs.quota_status(ALICE)).used == 1  # deleting does not refund
    with pytest.raises(JobNotFound):
        await svc.jobs.mark_deleted("f" * 32)


async def test_delete_is_allowed_to_the_requester_or_a_moderator_only(svc: Services) -> None:
    mallory = Requester("test", "mallory")
    first = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
    second = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
    for submitted in (first, second):
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    with pytest.raises(NotAllowed):
        await svc.jobs.delete(first.job_id, by=mallory)
    await svc.jobs.load_original(first.job_id, 0)  # untouched by the refused delete
    record = await svc.jobs.delete(first.job_id, by=ALICE)
    assert record.requester == ALICE and (await svc.jobs.get_job(first.job_id)).deleted
    await svc.jobs.delete(second.job_id, by=mallory, moderator=True)
    with pytest.raises(JobNotFound):
        await svc.jobs.load_original(second.job_id, 0)
    with pytest.raises(JobNotFound):
        await svc.jobs.delete("f" * 32, by=ALICE)


async def test_submit_needs_a_platform_sink_and_a_running_service(
    svc: Services, tmp_path: Path, storage: str | None
) -> None:
    with pytest.raises(ValueError, match="platform"):
        await svc.jobs.submit(ALICE, imagine(), origin={"channel": "x"})
    with pytest.raises(ValueError, match="registered"):
        await svc.jobs.submit(ALICE, imagine(), origin={"platform": "irc"})
    # An explicit sink works without a registered platform (this run only).
    own = RecordingSink()
    submitted = await svc.jobs.submit(ALICE, imagine(), origin={"platform": "irc"}, sink=own)
    await own.wait_for({submitted.job_id})
    assert (await svc.db.fetchall("SELECT COUNT(*) AS c FROM jobs"))[0]["c"] == 1

    stopped = await build_services(tmp_path / "other", FakeBackend(), database_url=storage)
    with pytest.raises(RuntimeError):
        await stopped.jobs.submit(ALICE, imagine(), origin=ORIGIN)
    await stopped.db.close()


async def test_get_job_of_unknown_id(svc: Services) -> None:
    with pytest.raises(JobNotFound):
        await svc.jobs.get_job("nope")
    with pytest.raises(JobNotFound):
        await svc.jobs.wait("nope")


async def test_structured_logs_hash_the_user(svc: Services, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="services.jobs"):
        submitted = await svc.jobs.submit(ALICE, imagine(), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    events = {r.getMessage(): r for r in caplog.records}
    assert {"job.queued", "job.started", "job.done"} <= set(events)
    done = events["job.done"]
    assert done.job_id == submitted.job_id  # type: ignore[attr-defined]
    assert done.backend == "fake" and isinstance(done.duration_ms, int)  # type: ignore[attr-defined]
    assert all("alice" not in str(vars(r)) for r in caplog.records)
