"""The admins' pause switch (issue 10): queued jobs wait, resume starts them; an admin cancel refunds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.jobs import JobStatus
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, BOB, ORIGIN, Services, build_services
from tests.helpers.requests import imagine


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    services = await build_services(tmp_path / "data", FakeBackend())
    await services.jobs.start()
    yield services
    await services.jobs.stop(grace_s=0)
    await services.db.close()


async def test_paused_jobs_wait_in_the_queue_and_run_after_resume(svc: Services) -> None:
    assert svc.jobs.pause() and not svc.jobs.pause() and svc.jobs.paused
    first = await svc.jobs.submit(ALICE, imagine(samples=1), origin=ORIGIN)
    second = await svc.jobs.submit(BOB, imagine(samples=2), origin=ORIGIN)
    await asyncio.sleep(0.2)  # give a worker every chance to (wrongly) start one
    assert [q.job_id for q in (await svc.jobs.queued())] == [first.job_id, second.job_id]
    assert [(q.requester_key, q.images) for q in (await svc.jobs.queued())] == [(ALICE.key, 1), (BOB.key, 2)]
    assert (await svc.jobs.get_job(first.job_id)).status is JobStatus.QUEUED
    assert svc.backend.calls == []

    assert await svc.jobs.cancel(second.job_id)  # an admin cancels a waiting job: refunded
    assert (await svc.jobs.quota_status(BOB)).used == 0
    assert svc.jobs.resume() and not svc.jobs.resume() and not svc.jobs.paused
    outcome = await asyncio.wait_for(svc.jobs.wait(first.job_id), 10)
    assert len(outcome.images) == 1
    assert (await svc.jobs.queued()) == []
    assert ("failed", second.job_id) in svc.sink.events  # BOB was told his job was cancelled
