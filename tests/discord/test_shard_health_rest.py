"""A Discord front end that talks REST only (a worker: no gateway) reports no shards (issue 15).

With ``DISCORD_SHARDS`` set, a process that never launches the gateway holds none of those shards:
``/healthz`` must not call it degraded for shards it was never meant to connect, and ``/metrics``
has no shard samples. The client logs in over REST (discord.py's ``Client.login``) and never
connects, as a REST-only process does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import pytest

from bot.app import open_services
from bot.discord import DiscordFrontend
from bot.health import HealthServer, shards_of
from tests.fakes.backend import FakeBackend
from tests.fakes.discord import FakeDiscord


async def test_rest_only_front_end_reports_no_shards(
    discord_fake: FakeDiscord, make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = discord_fake
    fake.shard_count = 4
    settings = make_settings(
        discord_token=fake.token,
        discord_api_base=fake.api_base,
        discord_guild_ids=[],
        discord_shards=(0, 1),
        discord_shard_count=4,
    )
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base.rstrip("/"))
    async with open_services(settings, backend=FakeBackend(default_size=(256, 256))) as services:
        frontend = DiscordFrontend(services)
        await frontend.bot.login(fake.token)  # REST only: no connect()
        server = HealthServer(
            stats=services.jobs.stats,
            ready=dict,
            shards=shards_of([frontend]),
            host="127.0.0.1",
            port=0,
        )
        await server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/healthz") as resp:
                    code, health = resp.status, await resp.json()
                async with session.get(f"{base}/metrics") as resp:
                    metrics = await resp.text()
                async with session.get(f"{base}/status") as resp:
                    status = await resp.json()
        finally:
            await server.close()
            await frontend.bot.close()
    assert [c.status for c in fake.calls if c.route == "GET /users/@me"] == [200]  # it did log in
    assert fake.connections == [] and fake.identifies == []  # and never opened the gateway
    assert frontend.shard_states() == ()
    assert code == 200 and health["status"] == "ok" and "discord_shards" not in health
    assert "discord_shards" not in status
    assert 'easel_discord_shard_connected{shard="' not in metrics
