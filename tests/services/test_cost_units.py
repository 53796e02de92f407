"""Cost units: reserved with the job row as images × the asked model's units, charged by what the
delivering model's result costs (never above the reservation), refunded on failure; the server
budgets and ``/quota`` count the same units."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commands.replies import PLAIN, quota_text
from services.backends.base import BackendLimits
from services.backends.costs import MODEL_UNITS, PLUGIN_UNITS, units_per_image
from services.backends.routing import RoutingBackend
from services.budgets import BudgetBook, Limits
from services.db import Database
from services.errors import BackendUnavailable, BudgetExceeded
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import GenerationRequest, Operation, Requester, Venue, WeightedPrompt
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ORIGIN, RecordingSink

OPS = frozenset({Operation.IMAGINE})
MEMBER = Requester("test", "m1", venue=Venue(server_id="guild-1", channel_id="c1"))


def _fake(*models: str, filtered: tuple[int, ...] = ()) -> FakeBackend:
    limits = BackendLimits(operations=OPS, models=models, default_model=models[0], default_size=(64, 64))
    return FakeBackend(limits=limits, filtered=filtered)


class Stack:
    def __init__(self, jobs: JobService, quota: QuotaBook, sink: RecordingSink, db: Database) -> None:
        self.jobs, self.quota, self.sink, self.db = jobs, quota, sink, db

    async def run(self, model: str | None, samples: int = 1, who: Requester = MEMBER) -> str:
        request = GenerationRequest(
            operation=Operation.IMAGINE, prompts=(WeightedPrompt("a fox"),), samples=samples, model=model
        )
        submitted = await self.jobs.submit(who, request, origin=ORIGIN)
        await self.sink.wait_for({submitted.job_id})
        return submitted.job_id

    async def charged(self, job_id: str) -> tuple[int, int]:
        row = await self.db.fetchone(
            "SELECT q.units, q.charged FROM quota_reservations q JOIN jobs j ON j.reservation_id = q.id"
            " WHERE j.id = ?",
            (job_id,),
        )
        assert row is not None
        return int(row["units"]), int(row["charged"])


async def _stack(tmp_path: Path, routing: RoutingBackend, *, server_day: int = 0) -> AsyncIterator[Stack]:
    await routing.start()
    db = await Database.open(tmp_path / "data")
    budgets = BudgetBook(db, Limits(person_day=100, server_day=server_day))
    quota = QuotaBook(db, daily_limit=100, budgets=budgets)
    jobs = JobService(
        db=db, quota=quota, store=ImageStore(tmp_path / "data", db), backend=routing,
        watermarker=Watermarker("AI generated"),
    )  # fmt: skip
    sink = RecordingSink()
    jobs.register_platform("test", lambda record: sink)
    await jobs.start()
    try:
        yield Stack(jobs, quota, sink, db)
    finally:
        await jobs.stop()
        await db.close()


@pytest.fixture
def backends() -> tuple[FakeBackend, FakeBackend]:
    return _fake("core", "ultra"), _fake("gpt-image-2")


@pytest.fixture
async def stack(tmp_path: Path, backends: tuple[FakeBackend, FakeBackend]) -> AsyncIterator[Stack]:
    stability, openai = backends
    routing = RoutingBackend(
        {"stability": stability, "openai": openai},
        fallbacks={"core": "ultra", "ultra": "core", "gpt-image-2": "core"},
    )
    async for s in _stack(tmp_path, routing, server_day=40):
        yield s


def test_a_models_price_is_the_operators_then_the_plugins_then_one() -> None:
    assert units_per_image("stability", "ultra", 1, {"ultra": 12}) == 12
    assert units_per_image("stability", "ultra") == MODEL_UNITS["ultra"] == 8
    assert units_per_image("comfyui", "juggernaut-xl", declared=2) == 2
    assert units_per_image("openai", "gpt-image-2.5-flare") == PLUGIN_UNITS["openai"]
    assert units_per_image("a1111", "sd15-checkpoint") == 1


async def test_the_reservation_is_images_times_the_models_units(stack: Stack) -> None:
    job = await stack.run("ultra", samples=2)
    assert await stack.charged(job) == (16, 16)


async def test_a_failure_along_the_whole_fallback_chain_refunds_everything(
    stack: Stack, backends: tuple[FakeBackend, FakeBackend]
) -> None:
    stability, openai = backends
    stability.fail_next(BackendUnavailable(log_detail="503"))  # ultra's service is down…
    stability.fail_next(BackendUnavailable(log_detail="503"))  # …and so is its fallback core, same service
    job = await stack.run("ultra")
    assert isinstance(stack.sink.failed[job], BackendUnavailable)
    assert await stack.charged(job) == (8, 0)
    assert not openai.calls


async def test_a_cheaper_fallback_refunds_the_difference_and_a_dearer_one_is_capped(
    stack: Stack, backends: tuple[FakeBackend, FakeBackend]
) -> None:
    stability, openai = backends
    openai.fail_next(BackendUnavailable(log_detail="503"))
    dearer = await stack.run("gpt-image-2", samples=2)  # 2 × 10 reserved, made by core at 3
    outcome = stack.sink.delivered[dearer][0]
    assert (outcome.model, outcome.fallback_from) == ("core", "gpt-image-2")
    assert await stack.charged(dearer) == (20, 6)
    stability.fail_next(BackendUnavailable(log_detail="503"))
    capped = await stack.run("core")  # 3 reserved, made by ultra at 8: charged the reservation
    assert stack.sink.delivered[capped][0].model == "ultra"
    assert await stack.charged(capped) == (3, 3)


async def test_withheld_images_are_not_charged(tmp_path: Path) -> None:
    routing = RoutingBackend({"stability": _fake("core", filtered=(1,))})
    async for stack in _stack(tmp_path, routing):
        job = await stack.run("core", samples=3)
        assert await stack.charged(job) == (9, 6)  # image 1 withheld: 2 × 3 charged
        assert stack.sink.delivered[job][0].filtered == 1


async def test_server_budgets_and_quota_count_units(stack: Stack) -> None:
    await stack.run("ultra", samples=2)  # 16 units of the server's 40
    await stack.run("core", samples=4)  # 12 more: 28
    with pytest.raises(BudgetExceeded) as refused:
        await stack.run("gpt-image-2", samples=2)  # 20 units would pass 40; nothing is spent
    assert (refused.value.left, refused.value.requested) == (12, 20)
    status = await stack.jobs.quota_status(MEMBER)
    assert (status.used, status.remaining, status.images) == (28, 72, 6)
    text = quota_text(status, PLAIN)
    assert text.startswith("You have 72 of your 100 daily units left (6 images made in the last 24 h;")
    assert "This server's daily budget: 12 of 40 left" in text


async def test_a_single_backend_without_routing_charges_one_unit_per_image(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "data")
    quota = QuotaBook(db, daily_limit=10)
    backend = _fake("ultra")
    jobs = JobService(
        db=db, quota=quota, store=ImageStore(tmp_path / "data", db), backend=backend,
        watermarker=Watermarker("AI generated"),
    )  # fmt: skip
    sink = RecordingSink()
    jobs.register_platform("test", lambda record: sink)
    await jobs.start()
    try:
        job = await Stack(jobs, quota, sink, db).run(None, samples=2)
        assert await Stack(jobs, quota, sink, db).charged(job) == (2, 2)
    finally:
        await jobs.stop()
        await db.close()
