"""Per-shard ``/metrics``, ``/healthz`` and ``/status`` of a shard-cluster process, and IDENTIFY pacing.

The health server is easel's real one, reading the real front end; the fake Discord drops a
shard's session (as on a Discord server restart) and holds the reconnect until the test lets it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import HealthServer, shards_of
from tests.fakes.backend import FakeBackend
from tests.fakes.discord import EaselOnDiscord, FakeDiscord
from tests.helpers.discord_messages import result_of

COUNT = 4


@pytest.fixture
async def health_of() -> Iterator[Callable[[EaselOnDiscord], Any]]:
    servers: list[HealthServer] = []

    async def start(easel: EaselOnDiscord) -> HealthServer:
        frontend = easel.frontend
        server = HealthServer(
            stats=easel.services.jobs.stats,
            ready=lambda: {"discord": frontend.ready},
            shards=shards_of([frontend]),
            host="127.0.0.1",
            port=0,
        )
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def scrape(server: HealthServer) -> tuple[dict[tuple[str, str], float], int, Any, Any]:
    """(shard samples by (metric, shard), /healthz status code, /healthz body, /status body)."""
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/metrics") as resp:
            text = await resp.text()
        async with session.get(f"{base}/healthz") as resp:
            code, health = resp.status, await resp.json()
        async with session.get(f"{base}/status") as resp:
            status = await resp.json()
    samples = {
        (s.name, s.labels.get("shard", "")): s.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("easel_discord_shard")
        for s in family.samples
    }
    return samples, code, health, status


async def eventually(check: Callable[[], Any], within_s: float = 10.0) -> None:
    """Re-run the async ``check`` until it stops raising AssertionError (or fail after ``within_s``)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            await check()
            return
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_metrics_healthz_and_status_report_each_shard_of_this_process(
    discord_fake: FakeDiscord, easel_on_discord_factory: Any, health_of: Any, tmp_path: Path
) -> None:
    fake = discord_fake
    fake.shard_count = COUNT
    for n in range(2):
        fake.add_guild(f"one-{n}", shard=1)
    fake.add_guild("on shard 2, another process", shard=2)
    on_zero, on_one = (sum(1 for g in fake.guilds.values() if (g.id >> 22) % COUNT == s) for s in (0, 1))
    easel = await easel_on_discord_factory(
        backend=FakeBackend(default_size=(256, 256)),
        discord_guild_ids=[],
        discord_shards=(0, 1),
        discord_shard_count=COUNT,
    )
    server = await health_of(easel)

    on_one_now = on_one

    async def all_up() -> None:
        samples, code, health, status = await scrape(server)
        assert samples[("easel_discord_shard_connected", "0")] == 1.0
        assert samples[("easel_discord_shard_connected", "1")] == 1.0
        assert samples[("easel_discord_shard_guilds", "0")] == on_zero
        assert samples[("easel_discord_shard_guilds", "1")] == on_one_now
        assert samples[("easel_discord_shard_count", "")] == COUNT
        assert all(0 <= samples[("easel_discord_shard_latency_seconds", s)] < 3 for s in "01")
        assert not any(shard == "2" for _, shard in samples)  # another process's shard
        assert code == 200 and health["status"] == "ok"
        assert health["discord_shards"] == {"0": True, "1": True}
        assert [(s["shard"], s["of"], s["connected"]) for s in status["discord_shards"]] == [
            (0, COUNT, True),
            (1, COUNT, True),
        ]

    await eventually(all_up)

    joined = fake.add_guild("joined later", shard=1)
    await fake.announce_guild(joined)  # GUILD_CREATE on shard 1's session

    on_one_now += 1
    await eventually(all_up)

    fake.gateway_gate = asyncio.Event()  # Discord restarts the server holding shard 1's session
    await fake.drop_shard(1)

    async def shard_one_down() -> None:
        samples, code, health, status = await scrape(server)
        assert samples[("easel_discord_shard_connected", "1")] == 0.0
        assert samples[("easel_discord_shard_connected", "0")] == 1.0
        assert code == 503 and health["status"] == "degraded"
        assert health["discord_shards"] == {"0": True, "1": False}
        assert [s["connected"] for s in status["discord_shards"]] == [True, False]

    await eventually(shard_one_down)
    fake.gateway_gate.set()
    await eventually(all_up)  # resumed: the same session, so shard 1 keeps its servers

    interaction = await fake.slash(
        "imagine", prompt="after the resume", guild=joined, channel_id=joined.channel_ids[0]
    )
    message = await result_of(fake, interaction)
    assert message.channel_id == joined.channel_ids[0]
    assert [i["shard"] for i in fake.identifies] == [[0, COUNT], [1, COUNT]]  # resumed, not re-identified
    assert fake.violations == []


async def test_metrics_without_discord_have_no_shard_samples(easel_settings: Any) -> None:
    from bot.app import open_services

    async with open_services(easel_settings) as services:
        server = HealthServer(stats=services.jobs.stats, ready=dict, host="127.0.0.1", port=0)
        await server.start()
        try:
            samples, code, health, status = await scrape(server)
        finally:
            await server.close()
    assert samples == {} and code == 200
    assert "discord_shards" not in health and "discord_shards" not in status


async def test_identify_waits_only_for_its_own_bucket(
    easel_on_discord_factory: Any, discord_fake: FakeDiscord
) -> None:
    """Shards 0, 1 and 3 of 4 with max_concurrency 2: shard 3 shares bucket 1 with shard 1 and must
    wait out Discord's 5 s window (a wait keyed on the start order would not: 3 is not a multiple
    of 2). The fake answers an early IDENTIFY with op 9 and records it."""
    fake = discord_fake
    fake.shard_count, fake.max_concurrency, fake.identify_window_s = COUNT, 2, 5.0
    easel = await easel_on_discord_factory(
        discord_guild_ids=[], discord_shards=(0, 1, 3), discord_shard_count=COUNT
    )
    assert [i["shard"] for i in fake.identifies] == [[0, COUNT], [1, COUNT], [3, COUNT]]
    assert fake.violations == []
    states = easel.frontend.shard_states()
    assert [(s.shard_id, s.connected) for s in states] == [(0, True), (1, True), (3, True)]
    assert all(s.latency_s is None or math.isfinite(s.latency_s) for s in states)
