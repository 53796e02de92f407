"""Routing by model over real HTTP: the Stability and OpenAI fakes behind one RoutingBackend.

The whole path runs: the command resolves ``--model`` and validates against that model's limits,
the job service reserves images × the model's units with the job row, the router sends the job to
the plugin serving the model and, when that service answers 503 or hangs, to the declared
fallback; the job is charged what the delivering model's result costs (here: the tokens the
OpenAI fake bills), never more than reserved, and a job without a fallback is refunded.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from commands import COMMANDS, Invocation
from commands.errors import OptionError
from commands.replies import made_by_text
from services.backends.openai.backend import OpenAIImagesBackend
from services.backends.plugin import BackendConfigError
from services.backends.routing import RoutingBackend
from services.backends.stability import StabilityV2Backend
from services.db import Database
from services.errors import BackendUnavailable
from services.jobs import JobService
from services.quota import QuotaBook, ReservationState
from services.store import ImageStore
from services.watermark import Watermarker
from tests.fakes.openai.server import FakeOpenAI
from tests.fakes.stability.server import FakeStabilityServer
from tests.helpers.jobs import ALICE, ORIGIN, RecordingSink

FALLBACKS = {"ultra": "gpt-image-2"}


@dataclass
class Stack:
    routing: RoutingBackend
    jobs: JobService
    quota: QuotaBook
    db: Database
    sink: RecordingSink
    stability: FakeStabilityServer
    openai: FakeOpenAI


def _routing(
    stability: FakeStabilityServer, openai: FakeOpenAI, default_models: dict[str, str] | None = None
) -> RoutingBackend:
    return RoutingBackend(
        {
            "stability": StabilityV2Backend(
                stability.api_key,
                host=stability.url,
                model="core",
                models=["core", "ultra"],
                retry_base_delay_s=0.01,
                max_attempts=2,
                timeout_s=1.0,
                poll_interval_s=0.01,
            ),
            "openai": OpenAIImagesBackend(
                openai.api_key, base_url=openai.url, retry_base_delay_s=0.01, max_attempts=2, timeout_s=5.0
            ),
        },
        fallbacks=FALLBACKS,
        default_models=default_models,
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with FakeStabilityServer() as stability:
        openai = await FakeOpenAI().start()
        routing = _routing(stability, openai, {"imagine": "ultra"})
        await routing.start()
        db = await Database.open(tmp_path / "data")
        quota = QuotaBook(db, daily_limit=100)
        jobs = JobService(
            db=db,
            quota=quota,
            store=ImageStore(tmp_path / "data", db),
            backend=routing,
            watermarker=Watermarker("AI generated"),
        )
        sink = RecordingSink()
        jobs.register_platform("test", lambda record: sink)
        await jobs.start()
        try:
            yield Stack(routing, jobs, quota, db, sink, stability, openai)
        finally:
            await jobs.stop()
            await routing.close()
            await db.close()
            await openai.close()


async def _run(stack: Stack, text: str) -> str:
    request = await COMMANDS["imagine"].build(Invocation(text=text), stack.routing.limits)
    submitted = await stack.jobs.submit(ALICE, request, origin=ORIGIN)
    await stack.sink.wait_for({submitted.job_id}, within_s=30)
    return submitted.job_id


async def _reservation(stack: Stack, job_id: str) -> tuple[int, int, ReservationState]:
    row = await stack.db.fetchone("SELECT reservation_id FROM jobs WHERE id = ?", (job_id,))
    assert row is not None
    reservation = await stack.quota.get(row["reservation_id"])
    assert reservation is not None
    return reservation.units, reservation.charged, reservation.state


def _billed_units(stack: Stack, prompt: str, images: int) -> int:
    """What the OpenAI fake bills (its usage block), in units at the default 400 tokens per unit."""
    generations = stack.openai.calls("/v1/images/generations")
    assert generations, "the job never reached the OpenAI fake"
    tokens = len(prompt.split()) + 1056 * images  # the fake's text tokens + output image tokens
    return max(images, math.ceil(tokens / 400))


async def test_a_503_from_stability_sends_the_job_to_the_openai_fallback_and_charges_what_it_billed(
    stack: Stack,
) -> None:
    stack.stability.inject(status=503, times=10, path="/v2beta/")
    job_id = await _run(stack, "a lighthouse at dusk --model ultra")
    outcome = stack.sink.delivered[job_id][0]
    assert (outcome.model, outcome.fallback_from) == ("gpt-image-2", "ultra")
    assert (
        made_by_text(outcome.model, outcome.fallback_from) == "Made by gpt-image-2 — ultra was unavailable."
    )
    assert stack.stability.requests_for("/v2beta/stable-image/generate/ultra"), "ultra was tried first"
    units, charged, state = await _reservation(stack, job_id)
    assert units == 8  # one ultra image reserved
    assert state is ReservationState.COMMITTED
    assert charged == _billed_units(stack, "a lighthouse at dusk", 1) == 3  # refunded the other 5
    assert (await stack.jobs.quota_status(ALICE)).used == charged


async def test_a_stability_that_hangs_mid_run_fails_over_too(stack: Stack) -> None:
    stack.stability.inject(delay_s=30, times=10, path="/v2beta/")
    job_id = await _run(stack, "a fox in snow --model ultra")
    outcome = stack.sink.delivered[job_id][0]
    assert (outcome.model, outcome.fallback_from) == ("gpt-image-2", "ultra")
    _, charged, _ = await _reservation(stack, job_id)
    assert charged == _billed_units(stack, "a fox in snow", 1)


async def test_a_model_without_fallback_fails_clearly_and_refunds_everything(stack: Stack) -> None:
    stack.stability.inject(status=503, times=10, path="/v2beta/")
    job_id = await _run(stack, "a fox in snow --model core")
    assert isinstance(stack.sink.failed[job_id], BackendUnavailable)
    assert not stack.openai.calls("/v1/images/generations")
    units, charged, state = await _reservation(stack, job_id)
    assert (units, charged, state) == (3, 0, ReservationState.REFUNDED)
    assert (await stack.jobs.quota_status(ALICE)).used == 0


async def test_a_healthy_service_delivers_its_own_model_at_its_price(stack: Stack) -> None:
    job_id = await _run(stack, "two foxes --model core --n 2")
    outcome = stack.sink.delivered[job_id][0]
    assert (outcome.model, outcome.fallback_from, len(outcome.images)) == ("core", None, 2)
    assert made_by_text(outcome.model, outcome.fallback_from) is None
    assert not stack.openai.calls("/v1/images/generations")
    assert await _reservation(stack, job_id) == (6, 6, ReservationState.COMMITTED)
    status = await stack.jobs.quota_status(ALICE)
    assert (status.used, status.images) == (6, 2)


async def test_the_commands_default_model_is_the_operators(stack: Stack) -> None:
    request = await COMMANDS["imagine"].build(Invocation(text="a fox"), stack.routing.limits)
    assert request.model == "ultra"  # EASEL_DEFAULT_MODELS imagine=ultra, not the router's first model
    job_id = await _run(stack, "a fox")
    assert (await _reservation(stack, job_id))[0] == 8
    assert stack.stability.requests_for("/v2beta/stable-image/generate/ultra")


async def test_an_unknown_model_is_refused_before_anything_is_reserved(stack: Stack) -> None:
    with pytest.raises(OptionError) as refused:
        await COMMANDS["imagine"].build(Invocation(text="a fox --model dall-e-3"), stack.routing.limits)
    message = refused.value.user_message
    assert "dall-e-3" in message and "Models for /imagine:" in message
    for model in ("core", "ultra", "gpt-image-2"):
        assert model in message
    assert "Nothing was spent." in message
    assert (await stack.jobs.quota_status(ALICE)).used == 0
    assert not stack.stability.requests_for("/v2beta/") and not stack.openai.calls("/v1/images/generations")


async def test_flags_are_checked_against_the_chosen_models_limits(stack: Stack) -> None:
    # gpt-image models take no seed; the Stability models do. The same flag, two answers.
    with pytest.raises(OptionError):
        await COMMANDS["imagine"].build(
            Invocation(text="a fox --model gpt-image-2 --seed 7"), stack.routing.limits
        )
    request = await COMMANDS["imagine"].build(
        Invocation(text="a fox --model core --seed 7"), stack.routing.limits
    )
    assert (request.model, request.seed) == ("core", 7)


async def test_a_default_model_no_backend_serves_stops_the_start_naming_the_variable() -> None:
    async with FakeStabilityServer() as stability:
        openai = await FakeOpenAI().start()
        try:
            for defaults, why in (
                ({"imagine": "dall-e-3"}, "no enabled backend serves 'dall-e-3'"),
                ({"upscale": "gpt-image-2"}, "gpt-image-2 cannot /upscale"),
            ):
                routing = _routing(stability, openai, defaults)
                with pytest.raises(BackendConfigError, match="EASEL_DEFAULT_MODELS") as caught:
                    await routing.start()
                assert why in str(caught.value)
                await routing.close()
        finally:
            await openai.close()
