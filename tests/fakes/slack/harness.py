"""pytest fixtures for the fake Slack, and easel's real Slack front end wired to it (a pytest plugin)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes.slack.rules import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.user_side import SlackUserSide


@pytest.fixture
async def slack_server() -> AsyncIterator[FakeSlack]:
    """A started :class:`FakeSlack` on 127.0.0.1."""
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


# -------------------------------------------------------------------- easel wired to the fake


@dataclass
class SlackEasel:
    """easel's real services and Slack front end, talking to a :class:`FakeSlack`."""

    slack: FakeSlack
    services: Any  # bot.app.Services
    frontend: Any  # bot.slack.SlackFrontend
    user: SlackUserSide

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.frontend.port}/slack/events"

    def user_side(self, signing_secret: str = SIGNING_SECRET) -> SlackUserSide:
        return self.slack.user_side(self.endpoint, signing_secret)


@contextlib.asynccontextmanager
async def slack_easel_for(
    settings: Any, slack: FakeSlack, *, backend: Any = None
) -> AsyncIterator[SlackEasel]:
    """Start easel (services, job workers, Slack front end on a free port) like ``easel run`` does."""
    from bot.app import open_services
    from bot.slack import SlackFrontend

    async with open_services(settings, backend=backend) as services:
        frontend = SlackFrontend(services, host="127.0.0.1", port=0)
        await services.jobs.start()
        try:
            await frontend.start()
            endpoint = f"http://127.0.0.1:{frontend.port}/slack/events"
            yield SlackEasel(slack, services, frontend, slack.user_side(endpoint))
        finally:
            await services.jobs.stop()
            await frontend.close()


@pytest.fixture
def slack_settings(make_settings: Callable[..., Any], slack_server: FakeSlack) -> Callable[..., Any]:
    """``make_settings`` plus the Slack variables pointing at the fake Slack."""

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack_server.api_url,
            "slack_port": 0,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
async def slack_easel(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> AsyncIterator[SlackEasel]:
    """easel with the Slack front end against the fake Slack and the fake Stability server."""
    async with slack_easel_for(slack_settings(), slack_server) as running:
        yield running
