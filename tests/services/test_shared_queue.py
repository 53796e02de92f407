"""The shared queue on a real PostgreSQL: several processes, one claim per job (issue 15).

Each "process" here is a whole job stack of its own (its own data dir, connection pool and
worker id) on one database; the lease takeover runs a real child process killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from services.errors import JobCancelled
from services.jobs import JobStatus, Role
from services.types import Requester
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, BOB, ORIGIN, Services, build_services
from tests.helpers.requests import imagine

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def stacks(tmp_path: Path, database_url: str) -> AsyncIterator[Callable[..., object]]:
    """``await make(name, backend, **options)``: a job stack on the shared database, stopped at the end."""
    made: list[Services] = []

    async def make(name: str, backend: FakeBackend | None = None, **options: object) -> Services:
        services = await build_services(
            tmp_path / name, backend or FakeBackend(), database_url=database_url, worker_id=name, **options
        )  # type: ignore[arg-type]
        made.append(services)
        return services

    yield make
    for services in made:
        await services.jobs.stop(grace_s=0)
        await services.db.close()


async def _until(check: Callable[[], bool], within_s: float = 15) -> None:
    async with asyncio.timeout(within_s):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


async def test_a_gateway_takes_jobs_and_a_worker_elsewhere_runs_them_in_fair_order(stacks) -> None:  # type: ignore[no-untyped-def]
    gateway = await stacks("gateway")
    worker_backend = FakeBackend()
    worker = await stacks("worker", worker_backend, max_concurrency=1)
    await gateway.jobs.start(role=Role.GATEWAY)

    heavy = [(await gateway.jobs.submit(ALICE, imagine(f"a{n}"), origin=ORIGIN)) for n in range(4)]
    light = await gateway.jobs.submit(BOB, imagine("b0"), origin=ORIGIN)
    # Places are the fair order across every process: Bob's one job goes right after Alice's first.
    assert [s.position for s in heavy] == [1, 2, 3, 4] and light.position == 2
    assert [q.job_id for q in await gateway.jobs.queued()][:2] == [heavy[0].job_id, light.job_id]
    await worker.jobs.start(role=Role.WORKER)  # nothing ran yet: no process ran jobs
    with pytest.raises(RuntimeError, match="takes no submits"):
        await worker.jobs.submit(ALICE, imagine("no"), origin=ORIGIN)

    ids = {s.job_id for s in heavy} | {light.job_id}
    await worker.sink.wait_for(ids, within_s=15)
    started = [r.positive_prompt for r in worker_backend.calls]
    assert started[:2] == ["a0", "b0"]  # the light user was not starved by the heavy one
    assert gateway.backend.calls == []  # the gateway runs nothing
    assert gateway.sink.delivered == {}  # results are posted by the process that made them
    assert (await gateway.jobs.quota_status(ALICE)).used == 4
    # Each person was told their place (by the gateway) before the job started (on the worker).
    assert all(("queued", job_id) in gateway.sink.events for job_id in ids)


async def test_a_killed_worker_loses_its_job_to_another_after_the_lease(
    tmp_path: Path, database_url: str
) -> None:
    """SIGKILL mid-generation: the lease runs out, another worker resumes the job once, charged once."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(tmp_path / "dead"), database_url,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode().split()
    assert line[:1] == ["running"], line
    job_id = line[1]
    child.send_signal(signal.SIGKILL)
    await child.wait()

    survivor = await build_services(
        tmp_path / "alive", FakeBackend(), database_url=database_url, worker_id="alive", lease_s=1.0
    )
    await survivor.jobs.start()
    try:
        await survivor.sink.wait_for({job_id}, within_s=15)
        await asyncio.wait_for(survivor.jobs.wait(job_id), 5)  # settled too (the sink hears first)
        assert ("resumed", job_id) in survivor.sink.events  # told it goes on, not that it failed
        assert len(survivor.sink.delivered[job_id]) == 1
        record = await survivor.jobs.get_job(job_id)
        assert record.status is JobStatus.DONE
        reservations = await survivor.db.fetchall("SELECT state, charged FROM quota_reservations")
        assert [(r["state"], r["charged"]) for r in reservations] == [("committed", 2)]
    finally:
        await survivor.jobs.stop()
        await survivor.db.close()


_CHILD = r"""
import asyncio, sys
from pathlib import Path
from services.db import Database
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import GenerationRequest, Operation, Requester, WeightedPrompt
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import RecordingSink


async def main(data_dir, url):
    db = await Database.open(data_dir, url=url)
    backend = FakeBackend(latency_s=3600.0)
    jobs = JobService(db=db, quota=QuotaBook(db, 10), store=ImageStore(data_dir, db), backend=backend,
                      watermarker=Watermarker("x"), worker_id="dead", lease_s=1.0)
    jobs.register_platform("test", lambda record: RecordingSink())
    await jobs.start()
    request = GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("long"),), samples=2)
    submitted = await jobs.submit(Requester("test", "alice"), request, origin={"platform": "test"})
    await backend.until_running(1)
    print("running", submitted.job_id, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
"""


async def test_cancel_reaches_a_job_waiting_or_running_in_another_process(stacks) -> None:  # type: ignore[no-untyped-def]
    gateway = await stacks("gateway")
    await gateway.jobs.start(role=Role.GATEWAY)
    waiting = await gateway.jobs.submit(ALICE, imagine("never started"), origin=ORIGIN)
    assert await gateway.jobs.cancel(waiting.job_id)  # nobody runs it: withdrawn and refunded here
    assert isinstance(gateway.sink.failed[waiting.job_id], JobCancelled)

    backend = FakeBackend()
    backend.gate = asyncio.Event()  # generation never ends by itself
    worker = await stacks("worker", backend)
    await worker.jobs.start(role=Role.WORKER)
    running = await gateway.jobs.submit(ALICE, imagine("stopped midway"), origin=ORIGIN)
    await asyncio.wait_for(backend.until_running(1), 15)
    assert await asyncio.wait_for(gateway.jobs.cancel(running.job_id), 15)  # the worker stopped it
    assert isinstance(worker.sink.failed[running.job_id], JobCancelled)
    assert (await gateway.jobs.get_job(running.job_id)).status is JobStatus.CANCELLED
    assert (await gateway.jobs.quota_status(ALICE)).used == 0
    assert not await gateway.jobs.cancel(running.job_id)  # too late now


async def test_pause_in_one_process_stops_every_worker(stacks) -> None:  # type: ignore[no-untyped-def]
    gateway = await stacks("gateway")
    worker = await stacks("worker")
    await gateway.jobs.start(role=Role.GATEWAY)
    await worker.jobs.start(role=Role.WORKER)
    assert gateway.jobs.pause() and gateway.jobs.paused
    await _until(lambda: worker.jobs.paused)  # the worker reads the switch from the database
    held = await gateway.jobs.submit(ALICE, imagine("held"), origin=ORIGIN)
    await asyncio.sleep(1.5)  # longer than a worker's poll: it would have started by now
    assert worker.backend.calls == []
    assert [q.job_id for q in await worker.jobs.queued()] == [held.job_id]
    assert worker.jobs.resume()
    await worker.sink.wait_for({held.job_id}, within_s=15)


async def test_a_restart_tells_only_its_own_unstarted_requests(stacks) -> None:  # type: ignore[no-untyped-def]
    first = await stacks("first")
    other = await stacks("other")
    alice_request = await first.jobs.pending.record(ALICE, "imagine", ORIGIN)
    bob_request = await other.jobs.pending.record(Requester("test", "bob"), "imagine", ORIGIN)
    await first.jobs.start()
    await first.jobs.pending.wait_told()
    assert set(first.sink.failed) == {alice_request}  # the other process's request is its own business
    rows = await first.db.fetchall("SELECT id FROM pending_requests")
    assert [r["id"] for r in rows] == [bob_request]
