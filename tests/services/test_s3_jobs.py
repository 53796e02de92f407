"""Jobs through JobService with the S3 image store (moto on 127.0.0.1), and the store's faults.

Faults a bucket can have: it does not exist, it refuses our key, its server goes away mid-run.
Each must fail the job with StorageUnavailable (polite message, operator detail in the log),
charge nothing, and leave the service serving the next job once the store is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from commands.followups import upscale, vary
from services.db import Database
from services.errors import StorageUnavailable
from services.jobs import JobStatus
from services.stores import S3Location, S3Options, open_blob_store
from services.types import InputImage, Operation
from tests.fakes.backend import FakeBackend, render_png
from tests.fakes.s3.server import ACCESS_KEY, REGION, SECRET_KEY, FakeS3
from tests.helpers.jobs import ALICE, BOB, ORIGIN, Services, build_services
from tests.helpers.logs import assert_not_logged
from tests.helpers.requests import imagine

Start = Callable[[str, S3Options], Awaitable[Services]]


def _details(caplog: pytest.LogCaptureFixture) -> str:
    """The operator details of the structured log lines (``job.failed``'s ``detail`` field)."""
    return " | ".join(str(r.__dict__["detail"]) for r in caplog.records if "detail" in r.__dict__)


def _options(server: FakeS3, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> S3Options:
    return S3Options(
        endpoint_url=server.endpoint_url,
        region=REGION,
        access_key_id=access_key,
        secret_access_key=secret_key,
        timeout_s=5.0,
        max_attempts=2,
    )


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """``svc = await start(bucket, options)``: a running job stack whose images live in that bucket."""
    started: list[Services] = []

    async def make(bucket: str, options: S3Options) -> Services:
        data = tmp_path / f"data{len(started)}"
        blobs = open_blob_store(S3Location(bucket, "imgs/"), data, options)
        svc = await build_services(data, FakeBackend(), blobs=blobs)
        await svc.jobs.start()
        started.append(svc)
        return svc

    yield make
    for svc in started:
        await svc.jobs.stop(grace_s=0)
        await svc.store.close()
        await svc.db.close()


async def test_job_then_upscale_and_vary_from_the_stored_original(
    start: Start, s3_server: FakeS3, s3_bucket: str
) -> None:
    svc = await start(s3_bucket, _options(s3_server))
    first = await svc.jobs.submit(ALICE, imagine(samples=2, seed=5, width=64, height=64), origin=ORIGIN)
    outcome = await asyncio.wait_for(svc.jobs.wait(first.job_id), 10)
    assert len(outcome.images) == 2
    keys = s3_server.keys(s3_bucket)
    assert keys == [f"imgs/originals/{first.job_id}/0.png", f"imgs/originals/{first.job_id}/1.png"]
    assert not (svc.data_dir / "originals").exists()  # nothing went to the local disk
    stored = s3_server.read(s3_bucket, f"imgs/originals/{first.job_id}/1.png")
    assert (await svc.jobs.load_original(first.job_id, 1)).png == stored

    up = await upscale(svc.jobs, first.job_id, 1, svc.backend.limits)
    assert up.operation is Operation.UPSCALE and up.init_image is not None and up.init_image.png == stored
    varied = await vary(svc.jobs, first.job_id, 0, svc.backend.limits)
    assert varied.operation is Operation.REMIX and varied.init_image is not None
    second = await svc.jobs.submit(ALICE, up, origin=ORIGIN)
    third = await svc.jobs.submit(ALICE, varied, origin=ORIGIN)
    for job in (second, third):
        done = await asyncio.wait_for(svc.jobs.wait(job.job_id), 10)
        assert len(done.images) == 1
    # The remix's init image went to the bucket too (content-addressed), and the results beside it.
    keys = s3_server.keys(s3_bucket)
    assert any(k.startswith("imgs/inputs/") for k in keys)
    assert f"imgs/originals/{second.job_id}/0.png" in keys and f"imgs/originals/{third.job_id}/0.png" in keys
    assert (await svc.jobs.quota_status(ALICE)).used == 4

    await svc.jobs.delete(first.job_id, by=ALICE)
    assert not s3_server.keys(s3_bucket, f"imgs/originals/{first.job_id}/")


async def test_missing_bucket_fails_politely_charges_nothing_and_recovers(
    start: Start, s3_server: FakeS3, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = "easel-not-created-yet"
    svc = await start(bucket, _options(s3_server))
    with caplog.at_level(logging.INFO):
        job = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
        with pytest.raises(StorageUnavailable) as exc_info:
            await asyncio.wait_for(svc.jobs.wait(job.job_id), 10)
    assert "Your quota was not spent" in exc_info.value.user_message
    assert bucket not in exc_info.value.user_message  # the operator's detail stays in the log
    assert "does not exist" in _details(caplog) and bucket in _details(caplog)
    await svc.sink.wait_for({job.job_id})
    assert isinstance(svc.sink.failed[job.job_id], StorageUnavailable)
    assert job.job_id not in svc.sink.delivered
    assert (await svc.jobs.quota_status(ALICE)).used == 0
    record = await svc.jobs.get_job(job.job_id)
    assert (record.status, record.error_kind) == (JobStatus.FAILED, "StorageUnavailable")

    # A remix's init image is stored at submit: refused there, reservation refunded, the error raised.
    init = InputImage(png=render_png(64, 64, seed=1), width=64, height=64)
    remix = replace(imagine(), operation=Operation.REMIX, init_image=init, strength=0.5)
    with pytest.raises(StorageUnavailable):
        await svc.jobs.submit(ALICE, remix, origin=ORIGIN)
    assert (await svc.jobs.quota_status(ALICE)).used == 0

    s3_server.client().create_bucket(Bucket=bucket)  # the operator fixes it: the next job works
    again = await svc.jobs.submit(BOB, imagine(samples=1), origin=ORIGIN)
    assert len((await asyncio.wait_for(svc.jobs.wait(again.job_id), 10)).images) == 1
    assert (await svc.jobs.quota_status(BOB)).used == 1


async def test_wrong_credentials_are_access_denied_and_never_logged(
    start: Start, s3_server: FakeS3, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = s3_server.new_bucket()
    key_id, secret = s3_server.iam_user()
    s3_server.require_auth(True)
    try:
        wrong = await start(bucket, _options(s3_server, key_id, "not-the-secret-" + secret[:8]))
        with caplog.at_level(logging.INFO):
            job = await wrong.jobs.submit(ALICE, imagine(samples=1), origin=ORIGIN)
            with pytest.raises(StorageUnavailable):
                await asyncio.wait_for(wrong.jobs.wait(job.job_id), 10)
        assert "access denied" in _details(caplog)
        assert_not_logged(caplog, secret[:8])
        assert (await wrong.jobs.quota_status(ALICE)).used == 0

        right = await start(bucket, _options(s3_server, key_id, secret))
        ok = await right.jobs.submit(BOB, imagine(samples=1), origin=ORIGIN)
        assert len((await asyncio.wait_for(right.jobs.wait(ok.job_id), 10)).images) == 1
        assert_not_logged(caplog, secret)
    finally:
        s3_server.require_auth(False)
    assert len(s3_server.keys(bucket)) == 1


async def test_server_stopped_mid_run_fails_the_job_and_charges_nothing(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakeS3().start()
    try:
        bucket = server.new_bucket()
        svc = await start(bucket, _options(server))
        before = await svc.jobs.submit(ALICE, imagine(samples=1), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(before.job_id), 10)
        endpoint = server.endpoint_url
        server.stop()

        with caplog.at_level(logging.INFO):
            job = await svc.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
            with pytest.raises(StorageUnavailable):
                await asyncio.wait_for(svc.jobs.wait(job.job_id), 30)
        assert "unreachable" in _details(caplog) and endpoint in _details(caplog)
        assert (await svc.jobs.quota_status(ALICE)).used == 1  # only the job delivered before
        with pytest.raises(StorageUnavailable):  # an upscale button now: storage, not "image deleted"
            await svc.jobs.load_original(before.job_id, 0)
    finally:
        server.stop()


async def test_queued_inputs_in_a_bucket_survive_a_restart_during_an_outage(tmp_path: Path) -> None:
    """S3 down while queued jobs are recovered: start refuses with StorageUnavailable, nothing is
    failed or refunded, and once the store is back the same jobs run."""
    server = FakeS3().start()
    data = tmp_path / "data"
    try:
        bucket = server.new_bucket()
        location = S3Location(bucket, "")
        svc = await build_services(
            data, FakeBackend(), max_concurrency=1, blobs=open_blob_store(location, data, _options(server))
        )
        await svc.jobs.start()
        svc.backend.gate = asyncio.Event()  # never set: the first job holds the only worker
        init = InputImage(png=render_png(64, 64, seed=3), width=64, height=64)
        remix = replace(imagine(), operation=Operation.REMIX, init_image=init, strength=0.5)
        first = await svc.jobs.submit(ALICE, remix, origin=ORIGIN)
        queued = await svc.jobs.submit(BOB, remix, origin=ORIGIN)
        await svc.backend.until_running(1)
        await svc.jobs.stop(grace_s=0)
        await svc.store.close()
        await svc.db.close()
        server.stop()

        down = await build_services(
            data, FakeBackend(), blobs=open_blob_store(location, data, _options(server))
        )
        try:
            with pytest.raises(StorageUnavailable):
                await down.jobs.start()
        finally:
            await down.store.close()
            await down.db.close()
        for job in (first, queued):
            assert (await _status(data, job.job_id)) in {"queued", "running"}

        back = FakeS3().start()  # the store is back (moto keeps the bucket; a new port)
        try:
            up = await build_services(
                data, FakeBackend(), blobs=open_blob_store(location, data, _options(back))
            )
            await up.jobs.start()
            try:
                for job in (first, queued):
                    assert len((await asyncio.wait_for(up.jobs.wait(job.job_id), 10)).images) == 1
                assert (await up.jobs.quota_status(ALICE)).used == 1
                assert (await up.jobs.quota_status(BOB)).used == 1
            finally:
                await up.jobs.stop(grace_s=0)
                await up.store.close()
                await up.db.close()
        finally:
            back.stop()
    finally:
        server.stop()


async def _status(data: Path, job_id: str) -> str:
    db = await Database.open(data)
    try:
        row = await db.fetchone("SELECT status FROM jobs WHERE id = ?", (job_id,))
        assert row is not None
        return str(row["status"])
    finally:
        await db.close()
