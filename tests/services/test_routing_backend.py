"""RoutingBackend: jobs reach the backend serving their model, fail over when it is down."""

from __future__ import annotations

import pytest

from services.backends.base import BackendLimits
from services.backends.routing import ModelOffer, RoutingBackend, UnknownModel
from services.errors import BackendRejected, BackendUnavailable
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.backend import FakeBackend

OPS = frozenset(Operation)


def _offer(name: str, plugin: str, units: int = 1) -> ModelOffer:
    return ModelOffer(name, plugin, OPS, BackendLimits(operations=OPS), units_per_image=units)


def _routing(fallbacks: dict[str, str] | None = None) -> tuple[RoutingBackend, FakeBackend, FakeBackend]:
    stability, openai = FakeBackend(), FakeBackend()
    offers = (
        _offer("core", "stability", 3),
        _offer("ultra", "stability", 8),
        _offer("gpt-image-2", "openai", 10),
    )
    routing = RoutingBackend(
        {"stability": stability, "openai": openai}, offers, default_model="core", fallbacks=fallbacks
    )
    return routing, stability, openai


def _request(model: str | None) -> GenerationRequest:
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("a fox"),), model=model)


async def test_job_goes_to_the_plugin_serving_its_model() -> None:
    routing, stability, openai = _routing()
    result = await routing.generate(_request("gpt-image-2"))
    assert result.model == "gpt-image-2"
    assert len(openai.calls) == 1 and not stability.calls
    default = await routing.generate(_request(None))
    assert default.model == "core" and stability.calls[0].model == "core"


async def test_unavailable_model_fails_over_and_says_which_model_made_it() -> None:
    routing, stability, openai = _routing({"ultra": "gpt-image-2"})
    stability.fail_with = BackendUnavailable(log_detail="503")
    result = await routing.generate(_request("ultra"))
    assert result.model == "gpt-image-2"
    assert [c.model for c in stability.calls] == ["ultra"] and [c.model for c in openai.calls] == [
        "gpt-image-2"
    ]


async def test_no_fallback_fails_clearly() -> None:
    routing, stability, _ = _routing()
    stability.fail_with = BackendUnavailable(log_detail="503")
    with pytest.raises(BackendUnavailable):
        await routing.generate(_request("ultra"))


async def test_rejections_do_not_fail_over() -> None:
    routing, stability, openai = _routing({"ultra": "gpt-image-2"})
    stability.fail_with = BackendRejected("bad prompt")
    with pytest.raises(BackendRejected):
        await routing.generate(_request("ultra"))
    assert not openai.calls


async def test_fallback_cycle_ends() -> None:
    routing, stability, openai = _routing({"ultra": "gpt-image-2", "gpt-image-2": "ultra"})
    stability.fail_with = openai.fail_with = BackendUnavailable(log_detail="down")
    with pytest.raises(BackendUnavailable):
        await routing.generate(_request("ultra"))
    assert len(stability.calls) == 1 and len(openai.calls) == 1


async def test_unknown_model_is_a_polite_error_listing_models() -> None:
    routing, stability, openai = _routing()
    with pytest.raises(UnknownModel) as caught:
        await routing.generate(_request("dall-e-3"))
    assert "core" in caught.value.user_message and "dall-e-3" in caught.value.user_message
    assert not stability.calls and not openai.calls


def test_limits_follow_each_model() -> None:
    routing, _, _ = _routing()
    assert set(routing.limits.models) == {"core", "ultra", "gpt-image-2"}
    assert routing.limits.default_model == "core"
    assert routing.limits.for_model("ultra") == routing.offer("ultra").limits


def test_offers_come_from_each_backends_declared_models_and_costs() -> None:
    from services.backends.routing import offers_of

    limits = BackendLimits(operations=OPS, models=("core", "ultra"), default_model="core")
    offers = offers_of("stability", FakeBackend(limits=limits), {"ultra": 9})
    assert [(o.name, o.plugin, o.units_per_image) for o in offers] == [
        ("core", "stability", 3),
        ("ultra", "stability", 9),
    ]
    gemini = offers_of(
        "gemini", FakeBackend(limits=BackendLimits(operations=OPS, default_model="gemini-img"))
    )
    assert gemini[0].name == "gemini-img" and "SynthID" in gemini[0].notes


async def test_each_command_runs_on_its_default_model_and_is_validated_against_it() -> None:
    from commands import COMMANDS, Invocation
    from commands.errors import OptionError
    from services.backends.routing import offers_of
    from tests.helpers.images import grey_png

    maker = FakeBackend(
        limits=BackendLimits(
            operations=frozenset({Operation.IMAGINE, Operation.REMIX}),
            models=("core",),
            default_model="core",
            upscale_factors=(2,),
        )
    )
    upscaler = FakeBackend(limits=BackendLimits(operations=frozenset({Operation.UPSCALE}),
                                                models=("esrgan",), default_model="esrgan",
                                                upscale_factors=(2, 4)))  # fmt: skip
    routing = RoutingBackend({"stability": maker, "upscaler": upscaler}, default_models={"upscale": "esrgan"})
    await routing.start()
    assert offers_of("upscaler", upscaler)[0].units_per_image == 1
    image = {"image": grey_png((64, 64))}
    request = await COMMANDS["upscale"].build(Invocation(text="--scale 4", images=image), routing.limits)
    assert (request.model, request.upscale_factor) == ("esrgan", 4)  # esrgan's factors, not core's
    result = await routing.generate(request)
    assert result.model == "esrgan" and upscaler.calls and not maker.calls
    with pytest.raises(OptionError) as refused:
        await COMMANDS["remix"].build(
            Invocation(text="brighter --model esrgan", images=image), routing.limits
        )
    assert refused.value.user_message.startswith("'esrgan' can't do /remix. Models for /remix: core")
