"""v2beta details checked against Stability's reference (issue 11, item 5).

The fake enforces each rule (``tests/fakes/stability/rules.py``), so a client that breaks one fails here:
results are polled with an ``Accept`` the OpenAPI lists; prompt weights stay within 0–1; only
outpaint has the 1:2.5–2.5:1 image rule; outpaint margins have one limit that every front end reads.
"""

from __future__ import annotations

import pytest

from commands import COMMANDS, Invocation
from commands.forms import command_form
from services.backends.stability import StabilityV2Backend
from services.errors import InvalidRequest
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.stability import FakeStabilityServer
from tests.helpers.images import input_image, png


async def test_results_are_polled_with_an_accept_the_openapi_lists(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    request = GenerationRequest(
        operation=Operation.UPSCALE,
        prompts=(WeightedPrompt("crisp details"),),
        init_image=input_image((256, 256)),
        upscale_factor=4,
        extras=(("upscale_mode", "creative"),),
    )
    result = await stability_v2_backend.generate(request)
    polls = stability_server.requests_for("/v2beta/results/")
    assert polls and {p.headers["Accept"] for p in polls} <= {"*/*", "application/json"}
    assert result.images[0].png


async def test_weights_above_one_are_refused_with_what_to_do(
    stability_v2_backend: StabilityV2Backend,
) -> None:
    limits = stability_v2_backend.limits
    with pytest.raises(InvalidRequest) as info:
        await COMMANDS["imagine"].build(Invocation(text="a castle::2 fog"), limits)
    assert str(info.value) == (
        "This backend takes prompt weights up to 1 (full strength); 'a castle' has ::2. To stress it, weaken "
        "the other parts instead, e.g. 'a castle fog::0.5'."
    )
    request = await COMMANDS["imagine"].build(Invocation(text="a castle fog::0.5"), limits)
    await stability_v2_backend.generate(request)


async def test_a_stored_weight_above_one_is_refused_before_sending(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    stored = GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("a castle", 2.0),))
    with pytest.raises(InvalidRequest, match="weights up to 1"):
        await stability_v2_backend.generate(stored)  # e.g. a job stored before the command refused it
    assert stability_server.requests_for("/generate/") == []


async def test_inpaint_takes_images_wider_than_two_and_a_half_to_one(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    limits = stability_v2_backend.limits
    request = await COMMANDS["inpaint"].build(
        Invocation(
            text="a kite", images={"image": png((900, 300)), "mask": png((900, 300), (255, 255, 255))}
        ),
        limits,
    )
    result = await stability_v2_backend.generate(request)
    assert stability_server.requests_for("/edit/inpaint")
    assert result.images[0].width > 2.5 * result.images[0].height


def test_outpaint_margins_have_one_limit_for_every_front_end(
    stability_v2_backend: StabilityV2Backend,
) -> None:
    form = command_form(COMMANDS["outpaint"], stability_v2_backend.limits)
    for side in ("left", "right", "up", "down"):
        field = form.field(side)
        assert field is not None and (field.min_value, field.max_value) == (0, 2000)


async def test_the_weight_examples_users_are_shown_build_on_v2beta(
    stability_v2_backend: StabilityV2Backend,
) -> None:
    """Help and the prompt option's example must not teach a weight this service refuses."""
    import re

    from commands.help import PROMPT_TIPS
    from commands.options import PROMPT

    examples = [*re.findall(r"`([^`]*\w::[^`]*)`", PROMPT_TIPS), PROMPT.example or ""]
    assert len(examples) == 2
    for text in examples:
        request = await COMMANDS["imagine"].build(Invocation(text=text), stability_v2_backend.limits)
        assert all(-1 <= p.weight <= 1 for p in request.prompts), text
