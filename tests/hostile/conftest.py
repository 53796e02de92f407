"""Fixtures of the hostile-input suite: ``chat`` is easel on Discord or on Slack (each test runs on both).

``start_chat(backend=..., **settings)`` starts easel on the test's platform with other settings or an
in-process backend; ``quick_backend`` is Stability v1 retrying and timing out fast enough for a test.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.backends.stability import StabilityV1Backend
from tests.fakes.slack import slack_easel_for
from tests.fakes.stability import FakeStabilityServer
from tests.helpers.chat import Chat, DiscordChat, SlackChat, StartChat


@pytest.fixture(params=["discord", "slack"])
def platform_fixtures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The fakes of one platform, set up before the test's loop runs (only that platform's)."""
    if request.param == "discord":
        return {"platform": "discord", "factory": request.getfixturevalue("easel_on_discord_factory")}
    return {
        "platform": "slack",
        "server": request.getfixturevalue("slack_server"),
        "settings": request.getfixturevalue("slack_settings"),
    }


@pytest.fixture
async def start_chat(platform_fixtures: dict[str, Any]) -> AsyncIterator[StartChat]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(*, backend: Any = None, **overrides: Any) -> Chat:
            if platform_fixtures["platform"] == "discord":
                return DiscordChat(await platform_fixtures["factory"](backend=backend, **overrides))
            settings = platform_fixtures["settings"](**overrides)
            easel = await stack.enter_async_context(
                slack_easel_for(settings, platform_fixtures["server"], backend=backend)
            )
            return SlackChat(easel)

        yield start


@pytest.fixture
async def chat(start_chat: StartChat) -> Chat:
    return await start_chat()


@pytest.fixture
async def quick_backend(stability_server: FakeStabilityServer) -> AsyncIterator[StabilityV1Backend]:
    """Stability v1 against the fake, with retries and timeouts short enough for a test."""
    backend = StabilityV1Backend(
        stability_server.api_key,
        host=stability_server.url,
        max_attempts=2,
        retry_base_delay_s=0.01,
        timeout_s=1.5,
    )
    try:
        yield backend
    finally:
        await backend.close()
