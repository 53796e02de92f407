"""pytest fixtures for the fake Discord, and easel's real Discord front end wired to it (a pytest plugin)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fakes.discord.server import FakeDiscord


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord` with one guild, one text channel and one user (``alice``)."""
    async with FakeDiscord() as fake:
        yield fake


# ------------------------------------------------------------------------------------------------
# easel's real Discord front end against the fake (used by tests/discord/ and the bench)


@dataclass
class EaselOnDiscord:
    """easel's real services and :class:`bot.discord.DiscordFrontend`, connected to a :class:`FakeDiscord`.

    ``await restart()`` closes the front end and the services and opens new ones on the same data
    dir, like a process restart.
    """

    fake: FakeDiscord
    settings: Any
    token_lifetime_s: float
    backend: Any = None  # an in-process backend instead of the one the settings name
    services: Any = None
    frontend: Any = None
    _stack: contextlib.AsyncExitStack | None = None

    async def open(self) -> None:
        from bot.app import open_services
        from bot.discord import DiscordFrontend

        stack = contextlib.AsyncExitStack()
        try:
            self.services = await stack.enter_async_context(
                open_services(self.settings, backend=self.backend)
            )
            self.frontend = DiscordFrontend(self.services, token_lifetime_s=self.token_lifetime_s)
            stack.push_async_callback(self.frontend.close)
            await self.services.jobs.start()
            await self.frontend.start()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def restart(self) -> None:
        await self.close()
        await self.open()


@pytest.fixture
async def easel_on_discord_factory(
    discord_fake: FakeDiscord, make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """``await start(token_lifetime_s=..., backend=None, **settings_overrides)`` → a started :class:`EaselOnDiscord`."""
    import discord

    # The front end sets these process-wide (DISCORD_API_BASE, gateway URL); put them back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )
    started: list[EaselOnDiscord] = []

    async def start(
        *, token_lifetime_s: float = 15 * 60, backend: Any = None, **overrides: Any
    ) -> EaselOnDiscord:
        values: dict[str, Any] = {
            "discord_token": discord_fake.token,
            "discord_api_base": discord_fake.api_base,
            "discord_guild_ids": [discord_fake.guild.id],
        }
        values.update(overrides)
        harness = EaselOnDiscord(discord_fake, make_settings(**values), token_lifetime_s, backend)
        await harness.open()
        started.append(harness)
        return harness

    yield start
    for harness in reversed(started):
        await harness.close()


@pytest.fixture
async def easel_on_discord(easel_on_discord_factory: Callable[..., Any]) -> EaselOnDiscord:
    """easel connected to the fake Discord (guild commands) and the fake Stability service."""
    harness: EaselOnDiscord = await easel_on_discord_factory()
    return harness
