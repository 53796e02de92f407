"""Which Discord gateway shards this process connects: ``DISCORD_SHARDS`` and ``DISCORD_SHARD_COUNT``.

A shard cluster splits one bot's gateway connections across processes: each runs some shard ids
of one shared count, and Discord sends a server's events to shard ``(guild_id >> 22) % count``::

    parse_shard_ids("0-3,8")                    # (0, 1, 2, 3, 8)
    ShardPlan.of((0, 1, 2, 3), 8).shard_ids     # (0, 1, 2, 3): half of 8 shards
    ShardPlan.of(None, None)                    # every shard, the count Discord recommends

Kept apart from :mod:`bot.discord` so that reading settings never imports discord.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationInfo

__all__ = ["MAX_SHARD_COUNT", "ShardPlan", "check_shard_count", "parse_shard_ids", "shard_ids_setting"]

MAX_SHARD_COUNT = 65_536
"""Far above the largest bots (Discord's recommendation is about one shard per 1,000 servers)."""

_ITEM = re.compile(r"^(\d+)(?:\s*-\s*(\d+))?$")
_SYNTAX = "write shard ids and ranges separated by commas, like 0-7 or 0,2,5-6"


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0,2,5-6"`` → ``(0, 2, 5, 6)`` (sorted); ValueError names the part that is wrong."""
    ids: set[int] = set()
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ValueError(f"is empty; {_SYNTAX}")
    for part in parts:
        match = _ITEM.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a shard id or range; {_SYNTAX}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"the range {part!r} runs backwards; write it as {last}-{first}")
        if last >= MAX_SHARD_COUNT:
            raise ValueError(f"shard {last} is out of range (ids are below {MAX_SHARD_COUNT})")
        span = set(range(first, last + 1))
        if repeated := sorted(span & ids):
            raise ValueError(f"names shard {repeated[0]} twice; each shard runs in one process only")
        ids |= span
    return tuple(sorted(ids))


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """This process's shards: ``shard_ids`` of ``shard_count`` (``None``: every shard / Discord's count)."""

    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None

    @classmethod
    def of(cls, shard_ids: tuple[int, ...] | None, shard_count: int | None) -> ShardPlan:
        """Check the pair; the ValueError's message is the operator's (it names both variables)."""
        if shard_ids is not None:
            if shard_count is None:
                raise ValueError(
                    "DISCORD_SHARDS is set but DISCORD_SHARD_COUNT is not: set it to the total "
                    "number of shards across every gateway process (e.g. DISCORD_SHARDS=0-7 "
                    "with DISCORD_SHARD_COUNT=32)"
                )
            if too_high := [i for i in shard_ids if i >= shard_count]:
                raise ValueError(
                    f"DISCORD_SHARDS names shard {too_high[0]}, but DISCORD_SHARD_COUNT is "
                    f"{shard_count}: shard ids run from 0 to {shard_count - 1}"
                )
        return cls(shard_ids, shard_count)


def shard_ids_setting(value: object) -> object:
    """``DISCORD_SHARDS`` as read from the environment: empty is unset."""
    if isinstance(value, str):
        return parse_shard_ids(value) if value.strip() else None
    return value


def check_shard_count(value: int | None, info: ValidationInfo) -> int | None:
    """``DISCORD_SHARD_COUNT`` against ``DISCORD_SHARDS`` (validated first, unless it was refused)."""
    if "discord_shards" in info.data:
        ShardPlan.of(info.data["discord_shards"], value)
    return value
