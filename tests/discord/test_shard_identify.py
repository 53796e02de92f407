"""IDENTIFY pacing across the gateway processes of a shard cluster (issue 15), on PostgreSQL.

Discord counts IDENTIFYs per bucket ``shard_id % max_concurrency`` for the whole bot, across every
process. Two real front ends, each with its own services and data dir on one PostgreSQL database,
start at the same moment against the fake Discord with its identify rate limit on (Discord's 5 s):
shards 0 and 2 share bucket 0 and shards 1 and 3 share bucket 1, one of each pair in each process.
Pacing in each process alone would send both IDENTIFYs of a bucket at once (op 9 for the second);
the shared turns in the database make the second one wait for the window.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.fakes.backend import FakeBackend
from tests.fakes.discord import EaselOnDiscord, FakeDiscord

COUNT = 4
WINDOW_S = 5.0  # Discord's identify window, enforced by the fake


async def test_two_gateway_processes_started_together_take_turns_per_bucket(
    discord_fake: FakeDiscord, easel_on_discord_factory: Any, database_url: str, tmp_path: Path
) -> None:
    fake = discord_fake
    fake.shard_count = COUNT
    fake.max_concurrency = 2
    fake.identify_window_s = WINDOW_S
    for n in range(COUNT):
        fake.add_guild(f"server on shard {n}", shard=n)

    async def member(shards: tuple[int, ...]) -> EaselOnDiscord:
        started: EaselOnDiscord = await easel_on_discord_factory(
            backend=FakeBackend(default_size=(256, 256)),
            discord_guild_ids=[],
            discord_shards=shards,
            discord_shard_count=COUNT,
            database_url=database_url,
            data_dir=tmp_path / f"data-{shards[0]}",
        )
        return started

    low, high = await asyncio.wait_for(asyncio.gather(member((0, 1)), member((2, 3))), 60)

    assert fake.violations == []
    assert sorted(i["shard"] for i in fake.identifies) == [[n, COUNT] for n in range(COUNT)]  # no retry
    on = {n: sum(1 for g in fake.guilds.values() if (g.id >> 22) % COUNT == n) for n in range(COUNT)}
    for process, shards in ((low, (0, 1)), (high, (2, 3))):
        states = process.frontend.shard_states()
        assert [(s.shard_id, s.connected, s.guilds) for s in states] == [(n, True, on[n]) for n in shards]
    rows = await low.services.db.fetchall("SELECT bucket FROM gateway_identify ORDER BY bucket")
    assert [row["bucket"] for row in rows] == [0, 1]
