"""The gateway shards of this process: their IDENTIFY pacing and their state for ``/healthz`` and ``/metrics``.

Discord lets a bot IDENTIFY once per 5 s in each bucket ``shard_id % max_concurrency`` (the
``session_start_limit`` of ``GET /gateway/bot``). With ``DISCORD_SHARDS`` a process runs any subset
of the shards, so the pacing keys on the bucket itself, not on a shard's place in the start order::

    buckets = IdentifyBuckets()
    buckets.max_concurrency = 16
    await buckets.wait_turn(shard_id)     # before each IDENTIFY (first start and re-identify)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import discord

__all__ = ["IDENTIFY_WINDOW_S", "IdentifyBuckets", "ShardState", "gateway_refusal", "shard_states"]

IDENTIFY_WINDOW_S = 5.0


class IdentifyBuckets:
    """One IDENTIFY per bucket per :data:`IDENTIFY_WINDOW_S`; waiters of a bucket go in turn."""

    def __init__(self) -> None:
        self.max_concurrency = 1
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait_turn(self, shard_id: int) -> None:
        key = shard_id % self.max_concurrency
        async with self._locks.setdefault(key, asyncio.Lock()):
            last = self._last.get(key)
            if last is not None:
                delay = last + IDENTIFY_WINDOW_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._last[key] = time.monotonic()


@dataclass(frozen=True, slots=True)
class ShardState:
    """One shard of this process as monitoring sees it; ``latency_s`` is None until a heartbeat is acked."""

    shard_id: int
    shard_count: int
    connected: bool
    latency_s: float | None
    guilds: int


def shard_states(
    client: discord.AutoShardedClient, shard_ids: Iterable[int], connected: set[int]
) -> tuple[ShardState, ...]:
    """The state of each of ``shard_ids`` (this process's) in ``client``, read at scrape time."""
    count = client.shard_count or 0
    per_shard = Counter(guild.shard_id for guild in client.guilds)
    states = []
    for shard_id in shard_ids:
        shard = client.get_shard(shard_id)
        latency = shard.latency if shard is not None else math.inf
        states.append(
            ShardState(
                shard_id=shard_id,
                shard_count=count,
                connected=shard_id in connected,
                latency_s=latency if math.isfinite(latency) else None,
                guilds=per_shard[shard_id],
            )
        )
    return tuple(states)


def gateway_refusal(error: BaseException | None) -> str | None:
    """The operator's sentence for a gateway close that no retry fixes (bad shard settings)."""
    if not isinstance(error, discord.ConnectionClosed):
        return None
    if error.code == 4010:
        return (
            f"Discord refused shard {error.shard_id} (4010 Invalid shard): DISCORD_SHARD_COUNT must be "
            "the bot's shard count, the same in every gateway process, and DISCORD_SHARDS below it"
        )
    if error.code == 4011:
        return (
            "Discord requires more shards for this bot (4011 Sharding required): raise "
            "DISCORD_SHARD_COUNT, or unset it to use Discord's recommendation"
        )
    return None
