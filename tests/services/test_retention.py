"""EASEL_RETENTION_DAYS: old originals and unused inputs go; buttons on them answer that they are gone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from services.errors import JobNotFound
from services.retention import RetentionPurge
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, ORIGIN, build_services
from tests.helpers.requests import imagine


async def test_old_originals_and_inputs_are_purged_and_new_ones_kept(tmp_path: Path) -> None:
    svc = await build_services(tmp_path / "data", FakeBackend())
    await svc.jobs.start()
    try:
        old = await svc.jobs.submit(ALICE, imagine("old lighthouse"), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(old.job_id), 5)
        orphan = svc.store.data_dir / "inputs" / ("a" * 64 + ".png")
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"an input of a finished job")

        soon = RetentionPurge(svc.db, svc.store, days=30, clock=lambda: time.time() + 29 * 86_400)
        assert (await soon.purge_once()).jobs_purged == 0
        await svc.store.load_original(old.job_id, 0)  # still there

        later = RetentionPurge(svc.db, svc.store, days=30, clock=lambda: time.time() + 31 * 86_400)
        report = await later.purge_once()
        assert (report.jobs_purged, report.inputs_deleted) == (1, 1)
        assert not orphan.exists()
        assert not (svc.store.data_dir / "originals" / old.job_id).exists()
        with pytest.raises(JobNotFound) as gone:
            await svc.store.load_original(old.job_id, 0)
        assert "can't find that image any more" in gone.value.user_message
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()


def test_retention_needs_a_positive_number_of_days(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        RetentionPurge(None, None, days=0)  # type: ignore[arg-type]
