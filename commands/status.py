"""``/status``: is easel up, how long is the queue, and which gateway shard serves the asking server.

Shard clusters (``DISCORD_SHARDS``) split the gateway across processes, so the answer names the
shards of the process that answered and the shard Discord routes the server to::

    shard_of(guild_id, 32)                     # Discord's rule: (guild_id >> 22) % 32
    format_shard_ids((0, 1, 2, 3, 8))          # "0–3, 8"
    status_lines(GatewayView((0, 1), 4, frozenset({0, 1})), server_shard=1, queue_depth=3, running=1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from commands.info import STATUS

__all__ = ["STATUS", "GatewayView", "format_shard_ids", "shard_of", "status_lines"]


@dataclass(frozen=True, slots=True)
class GatewayView:
    """The gateway shards of the answering process: ``shard_ids`` of ``shard_count``, which are up."""

    shard_ids: tuple[int, ...]
    shard_count: int
    connected: frozenset[int]


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord sends a server's events to (direct messages: shard 0)."""
    if guild_id is None or shard_count <= 0:
        return 0
    return (guild_id >> 22) % shard_count


def format_shard_ids(shard_ids: Iterable[int]) -> str:
    """Shard ids as an operator writes them: ``(0, 1, 2, 3, 8)`` → ``"0–3, 8"``."""
    runs: list[list[int]] = []
    for shard_id in sorted(set(shard_ids)):
        if runs and shard_id == runs[-1][1] + 1:
            runs[-1][1] = shard_id
        else:
            runs.append([shard_id, shard_id])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def _jobs(count: int, what: str) -> str:
    return f"{count} job{'' if count == 1 else 's'} {what}"


def status_lines(view: GatewayView, *, server_shard: int | None, queue_depth: int, running: int) -> list[str]:
    """The answer, one sentence per line (``server_shard`` None: asked outside a server)."""
    lines = [f"easel is up: {_jobs(queue_depth, 'waiting')}, {running} running."]
    down = [i for i in view.shard_ids if i not in view.connected]
    if view.shard_count <= 1:
        lines.append("Gateway: " + ("reconnecting." if down else "connected."))
        return lines
    if len(view.shard_ids) == view.shard_count:
        shards = f"all {view.shard_count} shards"
    else:
        plural = "" if len(view.shard_ids) == 1 else "s"
        shards = f"shard{plural} {format_shard_ids(view.shard_ids)} of {view.shard_count}"
    health = "all connected" if not down else f"reconnecting: {format_shard_ids(down)}"
    lines.append(f"This process runs {shards} ({health}).")
    if server_shard is not None:
        lines.append(f"This server is on shard {server_shard} of {view.shard_count}.")
    return lines
