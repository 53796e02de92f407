"""The gateway shards of this process: their IDENTIFY pacing and their state for ``/healthz`` and ``/metrics``.

Discord lets a bot IDENTIFY once per 5 s in each bucket ``shard_id % max_concurrency`` (the
``session_start_limit`` of ``GET /gateway/bot``). With ``DISCORD_SHARDS`` a process runs any subset
of the shards, so the pacing keys on the bucket itself, not on a shard's place in the start order::

    buckets = IdentifyBuckets(shared=IdentifySlots(db))   # shared=None: this process alone
    buckets.max_concurrency = 16
    buckets.bot_id = client.user.id
    await buckets.wait_turn(shard_id)     # before each IDENTIFY (first start and re-identify)

The buckets are the bot's, not the process's: with PostgreSQL (``shared``) every gateway process
of the cluster reserves its turns in the database (:mod:`services.identify_slots`), so two
processes started at the same moment take turns instead of one getting op 9 (invalid session).
Without it (SQLite: one process) the turns are kept in memory. A database that fails to answer
falls back to the in-memory turns for that IDENTIFY.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import discord

from services.db import DATABASE_ERRORS
from services.errors import StorageError

__all__ = [
    "IDENTIFY_WINDOW_S",
    "SHARED_MARGIN_S",
    "IdentifyBuckets",
    "ShardState",
    "SharedTurns",
    "gateway_refusal",
    "shard_states",
]

log = logging.getLogger(__name__)

IDENTIFY_WINDOW_S = 5.0
SHARED_MARGIN_S = 0.25
"""Added to the window between processes: a turn is taken just before the IDENTIFY leaves, and
another process's IDENTIFY may leave (and reach Discord) a little after its turn began."""


_DATABASE_FAILURES: tuple[type[Exception], ...] = (StorageError, OSError, *DATABASE_ERRORS)


class SharedTurns(Protocol):
    """Turns reserved across processes (:class:`services.identify_slots.IdentifySlots`)."""

    async def reserve(self, bot_id: int, bucket: int, *, window_s: float) -> float: ...


class IdentifyBuckets:
    """One IDENTIFY per bucket per :data:`IDENTIFY_WINDOW_S`; waiters of a bucket go in turn."""

    def __init__(self, shared: SharedTurns | None = None) -> None:
        self.max_concurrency = 1
        self.bot_id = 0
        self._shared = shared
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait_turn(self, shard_id: int) -> None:
        key = shard_id % self.max_concurrency
        async with self._locks.setdefault(key, asyncio.Lock()):
            delay = await self._shared_delay(key)
            if delay is None:
                last = self._last.get(key)
                delay = 0.0 if last is None else last + IDENTIFY_WINDOW_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last[key] = time.monotonic()

    async def _shared_delay(self, key: int) -> float | None:
        """The wait for the bucket's turn across processes; None without (or failing) a database."""
        if self._shared is None:
            return None
        try:
            return await self._shared.reserve(self.bot_id, key, window_s=IDENTIFY_WINDOW_S + SHARED_MARGIN_S)
        except _DATABASE_FAILURES as exc:
            log.warning(
                "discord.identify_turn_unshared", extra={"bucket": key, "error_kind": type(exc).__name__}
            )
            return None


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
