"""A creative upscale (Stability v2beta, asynchronous) survives a restart of the whole service:
the generation id is persisted on the job row and the next start polls it instead of paying again,
also when several backends are enabled (the routing backend in front of Stability)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.app import open_services
from commands import COMMANDS, Invocation
from services.backends.base import Backend
from services.backends.routing import RoutingBackend
from services.backends.stability import StabilityV2Backend
from services.errors import EaselError
from services.jobs import JobRecord
from services.types import JobOutcome, Progress, Requester
from tests.helpers.images import png


class RecordingSink:
    def __init__(self, record: JobRecord) -> None:
        self.record = record
        self.delivered: list[JobOutcome] = []
        self.resumed: list[str] = []

    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_resumed(self, job_id: str, position: int) -> None:
        self.resumed.append(job_id)

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: Progress) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None:
        self.delivered.append(outcome)

    async def on_failed(self, job_id: str, error: EaselError) -> None: ...


def v2_backend(server: Any) -> StabilityV2Backend:
    return StabilityV2Backend(
        server.api_key, host=server.url, model="core", poll_interval_s=0.02, retry_base_delay_s=0.01
    )


def backend_for(server: Any, routed: bool) -> Backend:
    stability = v2_backend(server)
    return RoutingBackend({"stability": stability}, default_model="core") if routed else stability


@pytest.mark.parametrize("routed", [False, True], ids=["stability", "routed"])
async def test_creative_upscale_resumes_from_the_persisted_generation_id(
    stability_server: Any, make_settings: Any, routed: bool
) -> None:
    settings = make_settings(stability_model="core")
    requester = Requester("test", "u1")
    stability_server.result_polls = 10_000  # "still running" until we say otherwise
    async with open_services(settings, backend=backend_for(stability_server, routed)) as services:
        services.jobs.register_platform("test", RecordingSink)
        await services.jobs.start()
        request = await COMMANDS["upscale"].build(
            Invocation(text="crisper details --mode creative", images={"image": png((256, 256))}),
            services.limits,
        )
        job = await services.jobs.submit(requester, request, origin={"platform": "test"})
        for _ in range(500):
            if len(stability_server.requests_for("/v2beta/results/")) >= 2:
                break
            await asyncio.sleep(0.01)
        row = await services.db.fetchone("SELECT status, resume_token FROM jobs WHERE id = ?", (job.job_id,))
        assert row is not None and row["status"] == "running" and row["resume_token"]
        token = row["resume_token"]
    # The process is gone; Stability finishes the generation meanwhile.
    stability_server.results[token.rpartition("\n")[2]].polls_left = 1  # routed: "<model>\n<token>"
    sinks: list[RecordingSink] = []

    def factory(record: JobRecord) -> RecordingSink:
        sinks.append(RecordingSink(record))
        return sinks[-1]

    async with open_services(settings, backend=backend_for(stability_server, routed)) as services:
        services.jobs.register_platform("test", factory)
        report = await services.jobs.start()
        assert report.resumed == [job.job_id]
        outcome = await services.jobs.wait(job.job_id)
        status = await services.jobs.quota_status(requester)
        price = services.jobs.pricing.reserve(request)
    assert len(stability_server.requests_for("/upscale/creative")) == 1  # paid once
    # Told "resumed" once and delivered once (a job that waits is rebuilt from its row to run,
    # so the two may be different sinks of the same job).
    assert len(outcome.images) == 1 and sum(len(s.delivered) for s in sinks) == 1
    assert [job_id for s in sinks for job_id in s.resumed] == [job.job_id]
    assert status.images == 1 and status.used == price  # charged once, at the model's price (core: 3)
    assert price == 3
