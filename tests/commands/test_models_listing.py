"""The shared /models listing and "right now": real backends against their fakes, no front end."""

from __future__ import annotations

import pytest

from commands import COMMANDS, Invocation
from commands.models import detail_lines, fit_lines, model_listing, overview_lines
from commands.replies import PLAIN
from services.backends.a1111 import A1111Backend
from services.backends.availability import ServiceWatch
from services.backends.catalogue import ModelCatalogue
from services.backends.gemini.backend import GeminiImagesBackend
from services.backends.openai.backend import OpenAIImagesBackend
from services.backends.routing import RoutingBackend
from services.errors import BackendUnavailable
from tests.fakes.a1111.server import FakeA1111
from tests.fakes.gemini import FakeGemini


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_checks_are_reused_within_the_ttl_and_run_again_after(
    gemini_server: FakeGemini, gemini_backend: GeminiImagesBackend
) -> None:
    clock = Clock()
    watch = ServiceWatch({"gemini": gemini_backend}, ttl_s=60, clock=clock)
    probes = lambda: len([r for r in gemini_server.requests if r.method == "GET"])  # noqa: E731
    assert (await watch.states())["gemini"].available
    assert (await watch.states())["gemini"].available
    assert probes() == 1  # a channel full of /models costs the service one request a minute
    await gemini_server.close()
    clock.now += 30
    assert (await watch.states())["gemini"].available  # still the last check's answer
    clock.now += 31
    state = (await watch.states())["gemini"]
    assert not state.available and state.reason == "failed its last check (gemini api)"
    assert "127.0.0.1" not in state.reason  # users read it: no addresses


async def test_a_pool_whose_hosts_are_all_down_is_unavailable_before_any_new_check(
    a1111_server: FakeA1111, gpu_backend: A1111Backend
) -> None:
    watch = ServiceWatch({"gpu-host": gpu_backend}, ttl_s=3600)
    assert (await watch.states())["gpu-host"].available
    await a1111_server.close()
    request = await COMMANDS["imagine"].build(Invocation(text="a fox"), gpu_backend.limits)
    with pytest.raises(BackendUnavailable):
        await gpu_backend.generate(request)  # the pool marks its only host down
    state = (await watch.states())["gpu-host"]
    assert not state.available and state.reason == "none of its hosts is up"


async def test_listing_per_command_with_costs_defaults_and_notes(
    openai_backend: OpenAIImagesBackend, gemini_backend: GeminiImagesBackend
) -> None:
    router = RoutingBackend(
        {"openai": openai_backend, "gemini": gemini_backend},
        default_model="gemini-3-pro-image",
        costs={"gpt-image-2": 12},
    )
    await router.start()  # both are started already; the router learns their offers
    listing = model_listing(await ModelCatalogue(router, plugin="openai").snapshot())
    imagine = listing.command("/imagine")
    assert imagine is not None and imagine.default == "gemini-3-pro-image"
    assert imagine.models[0].name == "gemini-3-pro-image" and imagine.models[0].default
    assert {m.name: m.units_per_image for m in imagine.models}["gpt-image-2"] == 12
    assert all(("SynthID" in " ".join(m.notes)) == (m.service == "gemini") for m in imagine.models)
    inpaint = listing.command("inpaint")
    assert inpaint is not None and {m.service for m in inpaint.models} == {"openai"}
    assert inpaint.default == "gpt-image-2"  # the router's default cannot inpaint: the first that can
    text = "\n".join(overview_lines(listing, PLAIN) + detail_lines(imagine, PLAIN))
    assert "/inpaint: gpt-image-2 (12 units, default)" in text
    assert listing.to_json()["commands"][0]["models"][0]["model"] == "gemini-3-pro-image"


def test_fit_lines_keeps_whole_lines_and_says_how_many_are_left() -> None:
    lines = [f"line {i:02d} " + "x" * 40 for i in range(100)]
    text = fit_lines(lines, 500, more=lambda n: f"…and {n} more")
    assert len(text) <= 500
    kept, note = text.splitlines()[:-1], text.splitlines()[-1]
    assert kept == lines[: len(kept)] and note == f"…and {100 - len(kept)} more"
    assert fit_lines(lines[:3], 500, more=lambda n: "never") == "\n".join(lines[:3])
