"""Shard clusters (issue 15): ``DISCORD_SHARDS`` of ``DISCORD_SHARD_COUNT`` per gateway process.

Two real front ends share one fake Discord with 4 shards, one running shards {0, 1} and the other
{2, 3}. The fake routes each server's GUILD_CREATE and INTERACTION_CREATE to shard
``(guild_id >> 22) % 4`` only, as Discord does, so each process sees exactly its servers' commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from services.errors import JobNotFound
from tests.fakes.backend import FakeBackend
from tests.fakes.discord import CHANNEL_MESSAGE, EPHEMERAL, EaselOnDiscord, FakeDiscord, FakeGuild
from tests.helpers.discord_messages import job_id_of, result_of
from tests.helpers.waiting import until

COUNT = 4

Start = Callable[..., Awaitable[EaselOnDiscord]]


def shard_of(guild: FakeGuild) -> int:
    return (guild.id >> 22) % COUNT  # Discord's rule, written out here on purpose


@pytest.fixture
def servers(discord_fake: FakeDiscord) -> list[FakeGuild]:
    """One server on each of the 4 shards (the fake now hands out 4 shards)."""
    discord_fake.shard_count = COUNT
    return [discord_fake.add_guild(f"server on shard {n}", shard=n) for n in range(COUNT)]


@pytest.fixture
def start_member(easel_on_discord_factory: Start, tmp_path: Path) -> Callable[..., Awaitable[EaselOnDiscord]]:
    """``await start_member((0, 1))``: a gateway process of the cluster, with its own data dir."""

    async def start(shards: tuple[int, ...], *, data: str | None = None) -> EaselOnDiscord:
        return await easel_on_discord_factory(
            backend=FakeBackend(default_size=(256, 256)),
            discord_guild_ids=[],  # global commands: every server has them
            discord_shards=shards,
            discord_shard_count=COUNT,
            data_dir=tmp_path / (data or f"data-{shards[0]}"),
        )

    return start


async def imagine_in(fake: FakeDiscord, guild: FakeGuild, prompt: str) -> Any:
    return await fake.slash("imagine", prompt=prompt, guild=guild, channel_id=guild.channel_ids[0])


async def test_each_process_serves_exactly_its_shards_servers(
    discord_fake: FakeDiscord,
    servers: list[FakeGuild],
    start_member: Callable[..., Awaitable[EaselOnDiscord]],
) -> None:
    fake = discord_fake
    low = await start_member((0, 1))
    high = await start_member((2, 3))
    assert sorted(i["shard"] for i in fake.identifies) == [[n, COUNT] for n in range(COUNT)]

    for guild in servers:
        interaction = await imagine_in(fake, guild, f"a lighthouse for {guild.name}")
        message = await result_of(fake, interaction)
        assert message.channel_id == guild.channel_ids[0] and len(message.files) == 1
        owner, other = (low, high) if shard_of(guild) in (0, 1) else (high, low)
        job = await owner.services.jobs.get_job(job_id_of(message))
        assert job.request is not None and job.request.positive_prompt == f"a lighthouse for {guild.name}"
        assert int(job.origin["guild_id"]) == guild.id
        with pytest.raises(JobNotFound):
            await other.services.jobs.get_job(job_id_of(message))
    assert low.services.jobs.stats().submitted == 2
    assert high.services.jobs.stats().submitted == 2
    assert fake.violations == []


async def test_status_names_this_process_shards_and_the_servers_shard(
    discord_fake: FakeDiscord,
    servers: list[FakeGuild],
    start_member: Callable[..., Awaitable[EaselOnDiscord]],
) -> None:
    fake = discord_fake
    await start_member((2, 3))
    asked = await fake.slash("status", guild=servers[3], channel_id=servers[3].channel_ids[0])
    await fake.wait_until(lambda: asked.acked_at is not None)
    assert asked.ack_type == CHANNEL_MESSAGE and asked.ack_data["flags"] & EPHEMERAL
    assert asked.ack_data["content"].splitlines() == [
        "easel is up: 0 jobs waiting, 0 running.",
        "This process runs shards 2–3 of 4 (all connected).",
        "This server is on shard 3 of 4.",
    ]


async def test_a_job_is_delivered_over_rest_by_whichever_process_runs_it(
    discord_fake: FakeDiscord,
    servers: list[FakeGuild],
    start_member: Callable[..., Awaitable[EaselOnDiscord]],
) -> None:
    """The process of shards 2–3 takes a job and stops before running it; the operator moves its
    data dir to the process of shards 0–1, which has no gateway session for shard 2 and still
    answers the shard-2 server's interaction through Discord's REST API."""
    fake = discord_fake
    high = await start_member((2, 3))
    high.services.jobs.pause()
    interaction = await imagine_in(fake, servers[2], "a kite over the dunes")
    await fake.wait_until(lambda: interaction.acked_at is not None)
    await until(lambda: high.services.jobs.stats().queue_depth == 1)
    await high.close()

    low = await start_member((0, 1), data="data-2")
    message = await result_of(fake, interaction, timeout_s=15)
    assert message.channel_id == servers[2].channel_ids[0]
    job = await low.services.jobs.get_job(job_id_of(message))
    assert job.request is not None and job.request.positive_prompt == "a kite over the dunes"
    assert [i["shard"] for i in fake.identifies].count([2, COUNT]) == 1  # never connected again
    assert fake.violations == []
