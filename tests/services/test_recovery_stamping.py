"""Killed while the published copies are being stamped: the originals are already stored and the row
says so ('delivering'), so the next start re-posts them from the store and never calls the service
again (before, the row still read 'running' and the job was generated a second time)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, ORIGIN, build_services
from tests.helpers.requests import imagine
from tests.helpers.waiting import until


class HeldStamps:
    """easel's own watermarker, except that stamping the published copy waits until released:
    the moment a real server spends in CPU work, stretched so the test can kill easel inside it."""

    def __init__(self) -> None:
        self.real = Watermarker("AI generated")
        self.release = asyncio.Event()
        self.stamping = 0

    async def publish(
        self, png: bytes, *, job_id: str | None = None, model: str = "", prompt: str = ""
    ) -> bytes:
        self.stamping += 1
        await self.release.wait()
        return await self.real.publish(png, job_id=job_id, model=model, prompt=prompt)

    async def credit_original(self, png: bytes, *, model: str, prompt: str) -> bytes:
        return await self.real.credit_original(png, model=model, prompt=prompt)


async def test_a_crash_while_stamping_costs_a_repost_not_a_second_generation(tmp_path: Path) -> None:
    backend = FakeBackend()
    held = HeldStamps()
    first = await build_services(tmp_path, backend, watermarker=held)
    await first.jobs.start()
    job = await first.jobs.submit(ALICE, imagine(samples=2), origin=ORIGIN)
    await until(lambda: held.stamping == 2, within_s=10)
    await until(lambda: len(list((tmp_path / "originals").glob("*/*.png"))) == 2, within_s=10)
    row = await first.db.fetchone("SELECT status FROM jobs WHERE id = ?", (job.job_id,))
    assert row is not None and row["status"] == "delivering"  # stored, so the row says so already
    await first.jobs.stop(grace_s=0)  # the process dies mid-stamp
    await first.db.close()
    assert first.sink.delivered == {} and len(backend.calls) == 1

    again = await build_services(tmp_path, backend)
    report = await again.jobs.start()
    try:
        assert report.resumed == [job.job_id]
        await again.sink.wait_for({job.job_id}, within_s=10)
        [outcome] = again.sink.delivered[job.job_id]
        assert len(outcome.images) == 2
        assert len(backend.calls) == 1  # re-posted from the store, not generated again
        assert (await again.jobs.quota_status(ALICE)).used == 2
    finally:
        await again.jobs.stop(grace_s=0)
        await again.db.close()
