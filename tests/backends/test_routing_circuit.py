"""The router's open circuit over real HTTP: the Stability fake answering 503, the OpenAI fake as the
fallback, requests counted on the fakes, the cool-down driven by an injected clock (no sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bot.settings import Settings, SettingsError
from commands import COMMANDS, Invocation
from services.backends.catalogue import ModelCatalogue
from services.backends.circuit import CircuitPolicy, CircuitState
from services.backends.openai.backend import OpenAIImagesBackend
from services.backends.routing import RoutingBackend
from services.backends.stability import StabilityV2Backend
from services.errors import BackendRejected, BackendUnavailable
from services.types import GenerationResult
from tests.fakes.openai.server import FakeOpenAI
from tests.fakes.stability.server import FakeStabilityServer

ULTRA = "/v2beta/stable-image/generate/ultra"
CORE = "/v2beta/stable-image/generate/core"
ATTEMPTS = 2  # easel's retries per job towards Stability


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Services:
    routing: RoutingBackend
    stability: FakeStabilityServer
    openai: FakeOpenAI
    clock: Clock

    def stability_calls(self) -> int:
        return len(self.stability.requests_for("/v2beta/stable-image/generate/"))

    def openai_calls(self) -> int:
        return len(self.openai.calls("/v1/images/generations"))

    async def run(self, text: str) -> GenerationResult:
        request = await COMMANDS["imagine"].build(Invocation(text=text), self.routing.limits)
        return await self.routing.generate(request)


@pytest.fixture
async def services() -> AsyncIterator[Services]:
    clock = Clock()
    async with FakeStabilityServer() as stability:
        openai = await FakeOpenAI().start()
        routing = RoutingBackend(
            {
                "stability": StabilityV2Backend(
                    stability.api_key, host=stability.url, model="core", models=["core", "ultra"],
                    retry_base_delay_s=0.01, max_attempts=ATTEMPTS, timeout_s=2.0, poll_interval_s=0.01,
                ),
                "openai": OpenAIImagesBackend(
                    openai.api_key, base_url=openai.url, retry_base_delay_s=0.01, max_attempts=2, timeout_s=5.0
                ),
            },
            fallbacks={"ultra": "gpt-image-2"},
            circuit=CircuitPolicy(failures=2, cooldown_s=60, clock=clock),
        )  # fmt: skip
        await routing.start()
        try:
            yield Services(routing, stability, openai, clock)
        finally:
            await routing.close()
            await openai.close()


async def test_after_n_failures_jobs_skip_the_service_then_one_probe_closes_it(services: Services) -> None:
    fault = services.stability.inject(status=503, times=1000, path="/v2beta/")
    for _ in range(2):
        result = await services.run("a lighthouse --model ultra")
        assert (result.model, result.fallback_from) == ("gpt-image-2", "ultra")
    assert services.stability_calls() == 2 * ATTEMPTS
    circuit = services.routing.circuits["stability"]
    assert circuit.state is CircuitState.OPEN and "openai" in services.routing.circuits

    for _ in range(3):  # open: straight to the fallback, Stability never asked
        result = await services.run("a lighthouse --model ultra")
        assert (result.model, result.fallback_from) == ("gpt-image-2", "ultra")
    assert services.stability_calls() == 2 * ATTEMPTS and services.openai_calls() == 5
    with pytest.raises(BackendUnavailable) as refused:  # core has no fallback: refunded at once, clearly
        await services.run("a lighthouse --model core")
    assert "Your quota was not spent" in refused.value.user_message
    assert refused.value.log_detail == "stability: circuit open, not sent"
    assert services.stability_calls() == 2 * ATTEMPTS

    states = await ModelCatalogue(services.routing, plugin="routing").watch.states()
    assert not states["stability"].available
    assert states["stability"].reason == "paused after repeated failures, retried shortly"
    assert states["openai"].available

    services.clock.now += 59
    await services.run("a lighthouse --model ultra")
    assert services.stability_calls() == 2 * ATTEMPTS  # still cooling down
    services.clock.now += 2
    assert circuit.state is CircuitState.HALF_OPEN
    fault.times = 0  # Stability is back
    result = await services.run("a lighthouse --model ultra")
    assert (result.model, result.fallback_from) == ("ultra", None)  # the probe went through and delivered
    assert services.stability_calls() == 2 * ATTEMPTS + 1
    assert circuit.state is CircuitState.CLOSED
    result = await services.run("a lighthouse --model core")
    assert result.model == "core" and services.stability_calls() == 2 * ATTEMPTS + 2


async def test_one_probe_at_a_time_and_a_failed_probe_reopens(services: Services) -> None:
    services.stability.inject(status=503, times=1000, path="/v2beta/")
    for _ in range(2):
        await services.run("a fox --model ultra")
    circuit = services.routing.circuits["stability"]
    services.clock.now += 61
    before = services.stability_calls()
    results = await asyncio.gather(*(services.run(f"fox {i} --model ultra") for i in range(4)))
    assert all((r.model, r.fallback_from) == ("gpt-image-2", "ultra") for r in results)
    assert services.stability_calls() == before + ATTEMPTS  # one probe job, not four
    assert circuit.state is CircuitState.OPEN  # the probe failed: another cool-down
    services.clock.now += 59
    await services.run("a fox --model ultra")
    assert services.stability_calls() == before + ATTEMPTS
    services.clock.now += 2
    assert circuit.state is CircuitState.HALF_OPEN


async def test_only_consecutive_availability_failures_count(services: Services) -> None:
    services.stability.inject(status=503, times=ATTEMPTS, path=ULTRA)
    await services.run("a fox --model ultra")  # failure 1 (failed over)
    assert (await services.run("a fox --model core")).model == "core"  # success: the count starts again
    services.stability.inject(status=503, times=ATTEMPTS, path=ULTRA)
    await services.run("a fox --model ultra")  # failure 1 again
    services.stability.inject(status=400, message="bad prompt", times=1, path=CORE)
    with pytest.raises(BackendRejected):  # a refusal means the service is up
        await services.run("a fox --model core")
    assert services.routing.circuits["stability"].state is CircuitState.CLOSED
    calls = services.stability_calls()
    assert (await services.run("a fox --model core")).model == "core"
    assert services.stability_calls() == calls + 1


def test_the_circuit_settings_are_validated_by_name(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(SettingsError, match="EASEL_CIRCUIT_FAILURES"):
        make_settings(circuit_failures=0)
    with pytest.raises(SettingsError, match="EASEL_CIRCUIT_COOLDOWN_S"):
        make_settings(circuit_cooldown_s=-1)
    settings = make_settings(circuit_failures=5, circuit_cooldown_s=30)
    assert (settings.circuit_failures, settings.circuit_cooldown_s) == (5, 30.0)
