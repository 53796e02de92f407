"""A full disk under the data dir, for real (a small tmpfs): told once, /healthz degraded, jobs wait
and finish once space is freed, the backend is never called twice, and nothing is ever spent in vain.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from bot.health import HealthServer
from services.errors import StorageFull
from services.types import JobOutcome
from tests.fakes.backend import FakeBackend
from tests.helpers.filesystems import fill, tmpfs
from tests.helpers.jobs import ALICE, ORIGIN, RecordingSink, build_services
from tests.helpers.requests import imagine
from tests.helpers.waiting import until


def messages(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == name]


async def test_full_originals_disk_waits_then_finishes_without_a_second_generation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    backend = FakeBackend()
    backend.gate = asyncio.Event()
    services = await build_services(data, backend)
    services.jobs.storage.retry_s = 0.05
    health = HealthServer(stats=services.jobs.stats, ready=lambda: {"test": True}, host="127.0.0.1", port=0)
    with tmpfs(data / "originals", size="512k") as originals:
        await services.jobs.start()
        await health.start()
        try:
            with caplog.at_level(logging.INFO):
                submitted = await services.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
                await backend.until_running()
                fillers = fill(originals)
                backend.gate.set()
                await until(lambda: services.jobs.stats().storage_full, within_s=10)
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"http://127.0.0.1:{health.port}/healthz") as resp:
                        assert resp.status == 503
                        body = await resp.json()
                    assert body["status"] == "degraded" and body["components"]["storage"] is False
                    async with http.get(f"http://127.0.0.1:{health.port}/metrics") as resp:
                        metrics = await resp.text()
                    assert "easel_storage_full 1.0" in metrics
                    assert "easel_storage_full_events_total 1.0" in metrics
                await asyncio.sleep(0.3)  # several retries: still one line for the operator
                (full,) = messages(caplog, "storage.full")
                assert str(originals) in str(getattr(full, "path", ""))
                assert getattr(full, "needed_bytes", 0) > 0
                assert not messages(caplog, "job.failed")
                assert (await services.jobs.get_job(submitted.job_id)).status.value == "running"
                assert submitted.job_id not in services.sink.failed

                for filler in fillers:
                    filler.unlink()  # the operator frees space: no restart
                await services.sink.wait_for({submitted.job_id}, within_s=10)
            assert len(services.sink.delivered[submitted.job_id][0].images) == 2
            assert len(backend.calls) == 1  # the waiting cost time, not a second generation
            assert messages(caplog, "storage.recovered")
            assert not services.jobs.stats().storage_full
            assert (await services.jobs.quota_status(ALICE)).used == 2
        finally:
            await health.close()
            await services.jobs.stop(grace_s=0)
            await services.db.close()


async def test_disk_full_for_too_long_fails_the_job_refunded_with_the_true_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    backend = FakeBackend()
    backend.gate = asyncio.Event()
    services = await build_services(data, backend)
    services.jobs.storage.retry_s = 0.05
    services.jobs.storage.max_wait_s = 0.3
    with tmpfs(data / "originals", size="256k") as originals:
        await services.jobs.start()
        try:
            submitted = await services.jobs.submit(ALICE, imagine(), origin=ORIGIN)
            await backend.until_running()
            fill(originals)
            backend.gate.set()
            await services.sink.wait_for({submitted.job_id}, within_s=10)
            error = services.sink.failed[submitted.job_id]
            assert isinstance(error, StorageFull)
            assert (
                "out of storage space" in error.user_message and "quota was not spent" in error.user_message
            )
            assert "image service could not" not in error.user_message  # the service did its part
            assert (await services.jobs.quota_status(ALICE)).used == 0
            assert list(originals.glob("*/*.png")) == [] and list(originals.glob("*/.*.tmp")) == []
        finally:
            await services.jobs.stop(grace_s=0)
            await services.db.close()


async def test_full_database_disk_refuses_the_request_and_spends_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = FakeBackend()
    with tmpfs(tmp_path / "small", size="2m") as data:
        services = await build_services(data, backend)
        await services.jobs.start()
        try:
            first = await services.jobs.submit(ALICE, imagine(), origin=ORIGIN)  # the WAL and pages exist
            await services.sink.wait_for({first.job_id}, within_s=10)
            fillers = fill(data)
            accepted = 1
            with caplog.at_level(logging.ERROR), pytest.raises(StorageFull) as err:
                for n in range(200):  # until SQLite's free pages are used up too
                    await services.jobs.submit(
                        ALICE, imagine(f"a lighthouse {n} " + "x" * 3000), origin=ORIGIN
                    )
                    accepted += 1
            assert "out of storage space" in err.value.user_message
            assert messages(caplog, "storage.full")
            assert not [r for r in caplog.records if getattr(r, "error_kind", "") == "bug"]
            # The refused request left no job and no reservation behind (the transaction rolled back).
            assert len(await services.db.fetchall("SELECT id FROM jobs")) == accepted
            assert len(await services.db.fetchall("SELECT id FROM quota_reservations")) == accepted
            for filler in fillers:
                filler.unlink()
            assert not services.jobs.stats().storage_full  # freeing space clears it
            again = await services.jobs.submit(ALICE, imagine(), origin=ORIGIN)
            await services.sink.wait_for({again.job_id}, within_s=10)
            assert len(await services.db.fetchall("SELECT id FROM jobs")) == accepted + 1
        finally:
            await services.jobs.stop(grace_s=0)
            await services.db.close()


class FillingSink(RecordingSink):
    """Posts the result, then the disk fills up: the job's final write (charge, row 'done') finds no space.

    SQLite's WAL is checkpointed and truncated first (as a busy server's would be), so that write
    must grow a file on the full file system, as it does in production, instead of reusing old pages.
    """

    def __init__(self, data: Path) -> None:
        super().__init__()
        self.data = data
        self.fill_next = False
        self.fillers: list[Path] = []

    async def deliver(self, outcome: JobOutcome) -> None:
        await super().deliver(outcome)
        if self.fill_next:
            self.fill_next = False
            other = sqlite3.connect(self.data / "easel.sqlite3", isolation_level=None)
            try:
                other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                other.close()
            self.fillers = fill(self.data)


async def test_full_disk_at_the_final_write_after_delivery_waits_charges_once_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = FakeBackend()
    with tmpfs(tmp_path / "small", size="4m") as data:
        sink = FillingSink(data)
        services = await build_services(data, backend, sink=sink)
        services.jobs.storage.retry_s = 0.05
        health = HealthServer(
            stats=services.jobs.stats, ready=lambda: {"test": True}, host="127.0.0.1", port=0
        )
        await services.jobs.start()
        await health.start()
        try:
            first = await services.jobs.submit(ALICE, imagine(), origin=ORIGIN)
            await services.sink.wait_for({first.job_id}, within_s=10)
            sink.fill_next = True
            with caplog.at_level(logging.INFO):
                submitted = await services.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
                await until(lambda: services.jobs.stats().storage_full, within_s=10)
                assert submitted.job_id in sink.delivered  # the result is out; only its last row waits
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"http://127.0.0.1:{health.port}/healthz") as resp:
                        assert resp.status == 503
                        body = await resp.json()
                    assert body["status"] == "degraded" and body["components"]["storage"] is False
                    async with http.get(f"http://127.0.0.1:{health.port}/metrics") as resp:
                        assert "easel_storage_full 1.0" in await resp.text()
                await asyncio.sleep(0.3)  # several retries: still one line for the operator
                (full,) = messages(caplog, "storage.full")
                assert str(data) in str(getattr(full, "path", ""))
                assert (await services.jobs.get_job(submitted.job_id)).status.value == "delivering"

                for filler in sink.fillers:
                    filler.unlink()  # the operator frees space: no restart
                await until(
                    lambda: services.jobs.stats().done == 2 and not services.jobs.stats().storage_full,
                    within_s=10,
                )
            assert (await services.jobs.get_job(submitted.job_id)).status.value == "done"
            assert messages(caplog, "storage.recovered")
            # Never told it failed, never refunded or charged twice, no traceback anywhere.
            assert submitted.job_id not in sink.failed and len(sink.delivered[submitted.job_id]) == 1
            assert not messages(caplog, "job.failed") and not messages(caplog, "job.runner_crashed")
            assert not [r for r in caplog.records if r.exc_info]
            assert (await services.jobs.quota_status(ALICE)).used == 3
            assert len(backend.calls) == 2
        finally:
            await health.close()
            await services.jobs.stop(grace_s=0)
            await services.db.close()
