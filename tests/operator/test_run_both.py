"""``easel run`` with Discord and Slack both configured: one process, one queue, both platforms served,
/healthz reporting each front end, and a clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest

from bot.runner import serve
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers.network import free_port


async def test_discord_and_slack_in_one_process(
    discord_fake: FakeDiscord,
    slack_server: FakeSlack,
    slack_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The Discord front end sets these process-wide; restore them after the test.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )
    slack_port, http_port = free_port(), free_port()
    settings = slack_settings(
        slack_port=slack_port,
        http_port=http_port,
        discord_token=discord_fake.token,
        discord_api_base=discord_fake.api_base,
        discord_guild_ids=[discord_fake.guild.id],
    )
    stop = asyncio.Event()
    running = asyncio.create_task(serve(settings, stop=stop))
    health = f"http://127.0.0.1:{http_port}/healthz"
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(20):
                while True:
                    try:
                        async with http.get(health) as resp:
                            body = await resp.json()
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
        assert body["components"] == {"discord": True, "slack": True}

        interaction = await discord_fake.slash("imagine", prompt="a lighthouse --seed 5")
        slack_user = slack_server.user_side(f"http://127.0.0.1:{slack_port}/slack/events")
        sent = await slack_user.slash_command("/imagine", "a tiny boat --seed 2")
        assert sent.status == 200

        def discord_result() -> Any:
            return next(
                (m for m in discord_fake.messages.values() if m.interaction_id == interaction.id and m.files),
                None,
            )

        await discord_fake.wait_until(discord_result)
        await slack_server.wait_for("files.completeUploadExternal")
        assert discord_fake.violations == []
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)
    assert running.exception() is None
