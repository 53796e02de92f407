"""/history's source: a person's last jobs, newest first, with status; other people's never shown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.jobs.records import JobStatus
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, BOB, ORIGIN, build_services
from tests.helpers.requests import imagine


async def test_history_lists_the_last_jobs_of_one_person(tmp_path: Path) -> None:
    svc = await build_services(tmp_path / "data", FakeBackend())
    await svc.jobs.start()
    try:
        ids = []
        for n in range(22):
            submitted = await svc.jobs.submit(ALICE, imagine(f"lighthouse {n}"), origin=ORIGIN)
            await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
            ids.append(submitted.job_id)
        await svc.jobs.submit(BOB, imagine("bob's fox"), origin=ORIGIN)
        history = await svc.jobs.history(ALICE)
        assert [r.job_id for r in history] == list(reversed(ids))[:20]
        assert all(r.status is JobStatus.DONE for r in history)
        assert history[0].request is not None and history[0].request.positive_prompt == "lighthouse 21"
        assert [r.requester.key for r in await svc.jobs.history(BOB)] == [BOB.key]
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()
