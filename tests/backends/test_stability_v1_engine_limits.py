"""Stability v1: the limits users are held to follow the engine that runs (issue 11, item 4).

``stable-diffusion-v1-6`` takes sides of 320–1536 (the fake answers ``invalid_height_or_width``
beyond) and up to 150 steps, where SDXL takes nine sizes and 10–50 steps.
"""

from __future__ import annotations

import aiohttp
import pytest

from commands import COMMANDS, Invocation
from services.errors import InvalidRequest
from tests.fakes.stability import FakeStabilityServer, stability_backend_for

V1_6 = "stable-diffusion-v1-6"


async def test_v1_6_sizes_beyond_its_sides_are_refused_before_any_call(
    stability_server: FakeStabilityServer,
) -> None:
    async with stability_backend_for(stability_server, engine=V1_6) as backend:
        with pytest.raises(InvalidRequest, match=r"--size 1600x640") as info:
            await COMMANDS["imagine"].build(Invocation(text="a fox --size 1600x640"), backend.limits)
        assert "1536" in str(info.value)
        assert stability_server.requests_for("/text-to-image") == []
        request = await COMMANDS["imagine"].build(Invocation(text="a fox --size 1536x640"), backend.limits)
        result = await backend.generate(request)
    assert (result.images[0].width, result.images[0].height) == (1536, 640)


async def test_model_flag_validates_against_the_chosen_engine(
    stability_server: FakeStabilityServer,
) -> None:
    async with stability_backend_for(stability_server) as backend:  # SDXL by default
        limits = backend.limits
        with pytest.raises(InvalidRequest, match="--steps"):
            await COMMANDS["imagine"].build(Invocation(text="a fox --steps 120"), limits)
        request = await COMMANDS["imagine"].build(
            Invocation(text="a fox --model stable-diffusion-v1-6 --steps 120 --size 768x512"), limits
        )
        typed = await COMMANDS["imagine"].build(
            Invocation(text="a fox --steps 120", options={"model": V1_6}), limits
        )
        assert request.steps == typed.steps == 120
        await backend.generate(request)
    (sent,) = stability_server.requests_for("/text-to-image")
    assert sent.path == f"/v1/generation/{V1_6}/text-to-image"
    assert sent.json["steps"] == 120 and (sent.json["width"], sent.json["height"]) == (768, 512)


async def test_the_fake_refuses_what_the_engine_refuses(stability_server: FakeStabilityServer) -> None:
    body = {"text_prompts": [{"text": "a fox"}], "width": 1600, "height": 640}
    headers = {"Authorization": f"Bearer {stability_server.api_key}", "Accept": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{stability_server.url}/v1/generation/{V1_6}/text-to-image", json=body, headers=headers
        ) as reply,
    ):
        assert reply.status == 400
        assert "invalid_height_or_width" in (await reply.json())["message"]
