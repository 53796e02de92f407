"""The fake OpenAI images API refuses what the real one refuses, so a wrong request from easel fails
a test: checked here with the official SDK itself, not with easel's client."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio
from PIL import Image

from tests.fakes.openai import FakeOpenAI
from tests.helpers.images import png


def _png(size: tuple[int, int], mode: str) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


@pytest_asyncio.fixture
async def sdk(openai_server: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(api_key=openai_server.api_key, base_url=openai_server.url, max_retries=0)
    try:
        yield client
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"size": "1000x1000"}, "size"),
        ({"size": "3072x512"}, "size"),
        ({"size": "1536x864", "model": "gpt-image-1.5"}, "size"),
        ({"n": 11}, "n"),
        ({"quality": "max"}, "quality"),
        ({"background": "transparent", "output_format": "jpeg"}, "background"),
        ({"response_format": "b64_json"}, "response_format"),
    ],
)
async def test_generations_refuse_what_the_api_refuses(
    sdk: openai.AsyncOpenAI, kwargs: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await sdk.images.generate(prompt="a fox", **{"model": "gpt-image-2", **kwargs})
    assert info.value.param == param


async def test_edits_check_the_mask(sdk: openai.AsyncOpenAI) -> None:
    image = ("image.png", png((1024, 1024)), "image/png")
    for mask, words in (
        (_png((1024, 1024), "L"), "alpha channel"),
        (_png((512, 512), "RGBA"), "does not match image size"),
    ):
        with pytest.raises(openai.BadRequestError, match=words):
            await sdk.images.edit(
                model="gpt-image-2", prompt="x", image=[image], mask=("m.png", mask, "image/png")
            )
    with pytest.raises(openai.BadRequestError, match="at most 16"):
        await sdk.images.edit(model="gpt-image-2", prompt="x", image=[image] * 17)
    with pytest.raises(openai.BadRequestError, match="input_fidelity"):
        await sdk.images.edit(model="gpt-image-2", prompt="x", image=[image], input_fidelity="high")


async def test_rate_limit_sends_openais_retry_headers(
    sdk: openai.AsyncOpenAI, openai_server: FakeOpenAI
) -> None:
    openai_server.rate_limit(1, retry_after_ms=1500)
    with pytest.raises(openai.RateLimitError) as info:
        await sdk.images.generate(model="gpt-image-2", prompt="a fox")
    assert info.value.response.headers["retry-after-ms"] == "1500"
    wrong = openai.AsyncOpenAI(api_key="sk-nope", base_url=openai_server.url, max_retries=0)
    try:
        with pytest.raises(openai.AuthenticationError):
            await wrong.images.generate(model="gpt-image-2", prompt="a fox")
    finally:
        await wrong.close()
