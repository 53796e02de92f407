"""Crash recovery: a real process is SIGKILLed mid-job; the next one resumes or refunds.

The child process below opens the real services on a data dir, runs one job to
completion, leaves one stuck while its sink is posting (``delivering``), one in the
backend (``running``) and several ``queued`` — then the test kills it with SIGKILL,
so nothing gets a chance to clean up.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from services.db import Database
from services.errors import JobCancelled
from services.jobs import DataDirBusy, JobService, JobStatus
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import Requester
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, ORIGIN, RecordingSink, Services, build_services
from tests.helpers.requests import imagine

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, json, sys
from pathlib import Path

from services.db import Database
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import GenerationRequest, InputImage, Operation, Requester, WeightedPrompt
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend, render_png


def say(*words):
    print(*words, flush=True)


stuck = asyncio.Event()


class Sink:
    async def on_queued(self, job_id, position): pass
    async def on_started(self, job_id): say("started", job_id)
    async def on_progress(self, job_id, progress): pass
    async def on_failed(self, job_id, error): say("failed", job_id)
    async def deliver(self, outcome):
        if outcome.request.positive_prompt == "stuck delivering":
            say("delivering", outcome.job_id)
            stuck.set()
            await asyncio.sleep(3600)
        say("delivered", outcome.job_id, len(outcome.images))


def imagine(prompt, samples=1):
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt(prompt),), samples=samples)


async def main(data_dir, url):
    db = await Database.open(data_dir, url=url)
    quota = QuotaBook(db, 100)
    store = ImageStore(data_dir, db)
    slow = {"running", "queued 1", "queued 2", "remix", "gone"}
    backend = FakeBackend(latency_s=lambda r: 3600.0 if r.positive_prompt in slow else 0.0)
    jobs = JobService(db=db, quota=quota, store=store, backend=backend,
                      watermarker=Watermarker("AI generated"), max_concurrency=2)
    jobs.register_platform("test", lambda record: Sink())
    jobs.register_platform("gone", lambda record: Sink())
    await jobs.start()
    alice, bob = Requester("test", "alice"), Requester("test", "bob")
    origin = {"platform": "test", "channel": "c1"}
    ids = {}
    ids["done"] = (await jobs.submit(alice, imagine("done before crash", 2), origin=origin)).job_id
    await jobs.wait(ids["done"])
    ids["delivering"] = (await jobs.submit(alice, imagine("stuck delivering", 3), origin=origin)).job_id
    ids["running"] = (await jobs.submit(bob, imagine("running", 2), origin=origin)).job_id
    ids["queued1"] = (await jobs.submit(alice, imagine("queued 1"), origin=origin)).job_id
    ids["queued2"] = (await jobs.submit(bob, imagine("queued 2", 2), origin=origin)).job_id
    init = InputImage(png=render_png(32, 32, 99), width=32, height=32)
    remix = GenerationRequest(operation=Operation.REMIX, prompts=(WeightedPrompt("remix"),), init_image=init)
    ids["remix"] = (await jobs.submit(alice, remix, origin=origin)).job_id
    ids["gone"] = (await jobs.submit(bob, imagine("gone"), origin={"platform": "gone"})).job_id
    await stuck.wait()  # one worker is posting "stuck delivering" ...
    await backend.until_running(1)  # ... so the other one is generating "running"
    assert "running" in [call.positive_prompt for call in backend.calls]  # either may have started first
    say("ready", json.dumps(ids))
    await asyncio.sleep(3600)


asyncio.run(main(Path(sys.argv[1]), sys.argv[2] or None))
"""


async def _run_child_until_ready(data_dir: Path, log_path: Path, url: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    stderr = await asyncio.to_thread(log_path.open, "wb")
    with stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, str(data_dir), url or "",
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while True:
            raw = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            if not raw:
                detail = await asyncio.to_thread(log_path.read_text)
                raise AssertionError(f"child exited early: {lines}\n{detail}")
            line = raw.decode().strip()
            lines.append(line)
            if line.startswith("ready "):
                ids: dict[str, str] = json.loads(line.split(" ", 1)[1])
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert proc.stdout is not None
        lines += (await proc.stdout.read()).decode().splitlines()
    assert proc.returncode == -signal.SIGKILL
    assert f"delivered {ids['done']} 2" in lines
    assert f"delivering {ids['delivering']}" in lines
    return ids


async def test_sigkill_mid_job_then_resume_exactly_once(tmp_path: Path, storage: str | None) -> None:
    data_dir = tmp_path / "data"
    ids = await _run_child_until_ready(data_dir, tmp_path / "child.log", storage)

    # What the crash left in the database.
    db = await Database.open(data_dir, url=storage)
    rows = {r["id"]: r["status"] for r in await db.fetchall("SELECT id, status FROM jobs")}
    assert rows[ids["done"]] == "done"
    assert rows[ids["delivering"]] == "delivering"
    assert rows[ids["running"]] == "running"
    assert {rows[ids[k]] for k in ("queued1", "queued2", "remix", "gone")} == {"queued"}
    # The remix job's input image disappears (an operator cleaned up, a disk was swapped…).
    remix_row = await db.fetchone("SELECT request_json FROM jobs WHERE id = ?", (ids["remix"],))
    assert remix_row is not None
    sha = json.loads(remix_row["request_json"])["images"]["init_image"]["sha256"]
    (data_dir / "inputs" / f"{sha}.png").unlink()
    await db.close()

    backend = FakeBackend()
    svc = await build_services(
        data_dir, backend, daily_limit=100, database_url=storage
    )  # only "test" is registered now
    report = await svc.jobs.start()
    shared = storage is not None  # PostgreSQL: the queue is the table, jobs come back by their claims
    try:
        resumed = {ids[k] for k in ("delivering", "running", "queued1", "queued2")}
        if shared:  # nothing scanned at start; a platform nobody serves here may be served elsewhere
            assert (report.resumed, report.refunded) == ([], [])
        else:
            assert set(report.resumed) == resumed
            assert set(report.refunded) == {ids["remix"], ids["gone"]}
        await svc.sink.wait_for(resumed | {ids["remix"]})
        for job_id in resumed:  # settled too (the sink hears first; on PostgreSQL the row may lag it)
            await asyncio.wait_for(svc.jobs.wait(job_id), 5)

        # Every resumed job delivered exactly once; the finished one not again.
        assert {job: len(outcomes) for job, outcomes in svc.sink.delivered.items()} == dict.fromkeys(
            resumed, 1
        )
        assert [len(svc.sink.delivered[ids[k]][0].images) for k in ("delivering", "running", "queued2")] == [
            3,
            2,
            2,
        ]
        # The job that crashed while posting was re-published from its stored originals:
        # the image service was not asked (nor paid) again.
        assert sorted(r.positive_prompt for r in backend.calls) == ["queued 1", "queued 2", "running"]
        # The sink heard about resumptions (on a shared queue: the jobs taken over from the dead
        # process; its queued ones simply start), and about the job that could not be resumed.
        told = {ids["delivering"], ids["running"]} if shared else resumed
        assert {job for name, job in svc.sink.events if name == "resumed"} == told
        assert isinstance(svc.sink.failed[ids["remix"]], JobCancelled)
        assert ids["gone"] not in svc.sink.failed  # no sink for that platform any more

        statuses = {r["id"]: r["status"] for r in await svc.db.fetchall("SELECT id, status FROM jobs")}
        assert statuses == {
            **dict.fromkeys(resumed | {ids["done"]}, "done"),
            ids["remix"]: "failed",
            ids["gone"]: "queued" if shared else "failed",  # waits for a process that serves "gone"
        }

        # Quota: one reservation per job (never a second one), charged == images delivered.
        reservations = await svc.db.fetchall("SELECT job_id, state, charged FROM quota_reservations")
        assert sorted(r["job_id"] for r in reservations) == sorted(ids.values())
        delivered_alice = 2 + 3 + 1  # done, delivering, queued1
        delivered_bob = 2 + 2  # running, queued2
        assert (await svc.jobs.quota_status(ALICE)).used == delivered_alice
        waiting_bob = 1 if shared else 0  # his "gone" job still holds its reservation
        assert (await svc.jobs.quota_status(Requester("test", "bob"))).used == delivered_bob + waiting_bob
        assert {r["job_id"]: r["state"] for r in reservations if r["state"] != "committed"} == {
            ids["remix"]: "refunded",
            ids["gone"]: "reserved" if shared else "refunded",
        }
        assert svc.jobs.stats().resumed == len(told)
        assert svc.jobs.stats().refunded_on_recovery == (1 if shared else 2)
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()

    # A second restart finds nothing to do.
    again = await build_services(data_dir, FakeBackend(), database_url=storage)
    report = await again.jobs.start()
    assert (report.resumed, report.refunded) == ([], [])
    await again.jobs.stop()
    await again.db.close()


async def test_stop_leaves_running_jobs_for_the_next_start(tmp_path: Path, storage: str | None) -> None:
    backend = FakeBackend()
    backend.gate = asyncio.Event()  # never set: the job is mid-generation when we stop
    first = await build_services(tmp_path / "data", backend, max_concurrency=1, database_url=storage)
    await first.jobs.start()
    running = await first.jobs.submit(ALICE, imagine("long", samples=2), origin=ORIGIN)
    queued = await first.jobs.submit(ALICE, imagine("next"), origin=ORIGIN)
    await asyncio.wait_for(backend.until_running(1), 5)
    waiter = asyncio.create_task(first.jobs.wait(running.job_id))
    await first.jobs.stop(grace_s=0)
    with pytest.raises(JobCancelled):
        await waiter
    assert (await first.jobs.get_job(running.job_id)).status is JobStatus.RUNNING
    assert (await first.jobs.get_job(queued.job_id)).status is JobStatus.QUEUED
    assert first.sink.failed == {}  # users are not told "failed": the job continues
    await first.db.close()

    second = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    report = await second.jobs.start()
    try:
        # SQLite: recovered at start. PostgreSQL: nothing scanned; the stopped process gave its
        # leases back, so the jobs are claimed at once (taken over, not waited out).
        assert report.resumed == ([] if storage else [running.job_id, queued.job_id])
        outcome = await asyncio.wait_for(second.jobs.wait(running.job_id), 5)
        await asyncio.wait_for(second.jobs.wait(queued.job_id), 5)
        assert len(outcome.images) == 2
        assert (await second.jobs.quota_status(ALICE)).used == 3
        rows = await second.db.fetchall("SELECT COUNT(*) AS c FROM quota_reservations")
        assert rows[0]["c"] == 2
    finally:
        await second.jobs.stop()
        await second.db.close()


async def test_a_job_nobody_can_be_told_about_is_refunded_not_run(
    tmp_path: Path, storage: str | None
) -> None:
    backend = FakeBackend()
    backend.gate = asyncio.Event()
    first = await build_services(tmp_path / "data", backend, max_concurrency=1, database_url=storage)
    await first.jobs.start()
    submitted = await first.jobs.submit(ALICE, imagine(samples=3), origin=ORIGIN)
    await asyncio.wait_for(backend.until_running(1), 5)
    await first.jobs.stop(grace_s=0)
    await first.db.close()

    def broken_factory(record: object) -> RecordingSink:
        raise RuntimeError("front end not ready")

    second = await build_services(tmp_path / "data", FakeBackend(), platforms=(), database_url=storage)
    second.jobs.register_platform("test", broken_factory)
    report = await second.jobs.start()
    try:
        if storage is None:
            assert (report.resumed, report.refunded) == ([], [submitted.job_id])
        else:  # claimed from the shared queue, then refunded when no sink could be built
            with pytest.raises(JobCancelled):
                await asyncio.wait_for(second.jobs.wait(submitted.job_id), 10)
        assert (await second.jobs.quota_status(ALICE)).used == 0
        record = await second.jobs.get_job(submitted.job_id)
        assert (record.status, record.error_kind) == (JobStatus.FAILED, "JobCancelled")
        assert second.backend.calls == []
    finally:
        await second.jobs.stop()
        await second.db.close()


async def test_orphan_reservation_is_refunded_at_start(tmp_path: Path, storage: str | None) -> None:
    db = await Database.open(tmp_path / "data", url=storage)
    quota = QuotaBook(db, 10)
    await quota.reserve(ALICE, 4, "no-such-job")
    assert (await quota.status(ALICE)).used == 4
    jobs = JobService(db=db, quota=quota, store=ImageStore(tmp_path / "data", db), backend=FakeBackend(),
                      watermarker=Watermarker("x"))  # fmt: skip
    await jobs.start()
    try:
        assert (await quota.status(ALICE)).used == 0
    finally:
        await jobs.stop()
        await db.close()


async def test_one_process_per_data_dir(tmp_path: Path, storage: str | None) -> None:
    first = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    second = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await _only_one_runs_jobs(first, second, "another easel process")


async def _only_one_runs_jobs(first: Services, second: Services, refusal: str) -> None:
    """While ``first`` runs jobs ``second`` may not start; once ``first`` stopped, it may."""
    await first.jobs.start()
    try:
        with pytest.raises(DataDirBusy, match=refusal):
            await second.jobs.start()
    finally:
        await first.jobs.stop()
    await second.jobs.start()
    await second.jobs.stop()
    await first.db.close()
    await second.db.close()


async def test_processes_sharing_a_database_share_its_queue_and_run_each_job_once(
    tmp_path: Path, database_url: str
) -> None:
    """Two data dirs, one PostgreSQL database: one claim per job, not one runner per database."""
    first = await build_services(tmp_path / "a", FakeBackend(latency_s=0.02), database_url=database_url)
    second = await build_services(tmp_path / "b", FakeBackend(latency_s=0.02), database_url=database_url)
    await first.jobs.start()
    await second.jobs.start()
    try:
        people = [Requester("test", f"p{n}") for n in range(6)]
        ids = [
            (await first.jobs.submit(person, imagine(f"{person.user_id} {k}"), origin=ORIGIN)).job_id
            for k in range(4)
            for person in people
        ]
        async with asyncio.timeout(30):
            while True:
                if set(ids) <= set(first.sink.delivered) | set(second.sink.delivered):
                    break
                await asyncio.sleep(0.05)
        delivered = {**first.sink.delivered, **second.sink.delivered}
        assert set(delivered) == set(ids)
        assert all(
            len(first.sink.delivered.get(j, [])) + len(second.sink.delivered.get(j, [])) == 1 for j in ids
        )
        assert not first.sink.failed and not second.sink.failed
        assert first.backend.calls and second.backend.calls  # both took work from the one queue
        assert len(first.backend.calls) + len(second.backend.calls) == len(ids)
        for person in people:
            assert (await first.jobs.quota_status(person)).used == 4
    finally:
        await first.jobs.stop()
        await second.jobs.stop()
        await first.db.close()
        await second.db.close()


async def test_late_wait_rebuilds_a_finished_outcome(tmp_path: Path, storage: str | None) -> None:
    first = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await first.jobs.start()
    submitted = await first.jobs.submit(ALICE, imagine(samples=2, seed=3), origin=ORIGIN)
    original = await asyncio.wait_for(first.jobs.wait(submitted.job_id), 5)
    failing = FakeBackend()
    first.backend.fail_next(JobCancelled("nope"))
    bad = await first.jobs.submit(ALICE, imagine(), origin=ORIGIN)
    with pytest.raises(JobCancelled):
        await first.jobs.wait(bad.job_id)
    await first.jobs.stop()
    await first.db.close()

    second = await build_services(tmp_path / "data", failing, database_url=storage)
    await second.jobs.start()
    try:
        rebuilt = await second.jobs.wait(submitted.job_id)
        assert [i.data for i in rebuilt.images] == [i.data for i in original.images]
        assert rebuilt.model == original.model
        with pytest.raises(JobCancelled) as exc_info:
            await second.jobs.wait(bad.job_id)
        assert exc_info.value.user_message == "nope"
        assert failing.calls == []
    finally:
        await second.jobs.stop()
        await second.db.close()
