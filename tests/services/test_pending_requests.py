"""Requests recorded at the ack (services.jobs.pending): told after a restart, gone once they are jobs."""

from __future__ import annotations

from pathlib import Path

from services.errors import InvalidRequest
from services.intake import Intake, Refused
from services.jobs.pending import NOT_STARTED
from services.types import GenerationRequest
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ALICE, ORIGIN, build_services
from tests.helpers.requests import imagine


async def test_acknowledged_request_left_by_a_crash_is_told_once_and_costs_nothing(
    tmp_path: Path, storage: str | None
) -> None:
    first = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await first.jobs.start()
    request_id = await first.jobs.pending.record(
        ALICE, "remix", {**ORIGIN, "response_url": "http://127.0.0.1:9/never-called"}
    )
    await first.jobs.stop(grace_s=0)  # the process dies before the download finished
    await first.db.close()

    again = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await again.jobs.start()
    try:
        await again.jobs.pending.wait_told()
        error = again.sink.failed[request_id]
        assert error.user_message == NOT_STARTED
        assert await again.db.fetchall("SELECT id FROM pending_requests") == []
        assert await again.db.fetchall("SELECT id FROM jobs") == []
        assert (await again.jobs.quota_status(ALICE)).used == 0
    finally:
        await again.jobs.stop(grace_s=0)
        await again.db.close()

    third = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await third.jobs.start()  # told once: a second restart says nothing more
    try:
        await third.jobs.pending.wait_told()
        assert third.sink.failed == {}
    finally:
        await third.jobs.stop(grace_s=0)
        await third.db.close()


async def test_intake_forgets_the_row_when_queued_or_refused(tmp_path: Path, storage: str | None) -> None:
    services = await build_services(tmp_path / "data", FakeBackend(), database_url=storage)
    await services.jobs.start()
    intake = Intake(services.jobs, platform="test")
    try:

        async def origin(request: GenerationRequest) -> dict[str, str]:
            return dict(ORIGIN)

        async def bad() -> GenerationRequest:
            raise InvalidRequest("no such flag")

        async def good() -> GenerationRequest:
            return imagine()

        refused = await intake.submit(ALICE, "imagine", build=bad, origin=origin, acknowledged=ORIGIN)
        assert isinstance(refused, Refused)
        await intake.submit(ALICE, "imagine", build=good, origin=origin, acknowledged=ORIGIN)
        assert await services.db.fetchall("SELECT id FROM pending_requests") == []
        assert len(await services.db.fetchall("SELECT id FROM jobs")) == 1
    finally:
        await services.jobs.stop(grace_s=0)
        await services.db.close()
