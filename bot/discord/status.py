"""``/status`` on Discord: the queue and this process's gateway shards, shown only to the caller.

::

    bot.tree.add_command(status_command(ctx))

No I/O: the answer is read from the job service and the client's shards and sent as the
interaction's response. :mod:`commands.status` words it.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.discord.context import DiscordContext
from bot.discord.render import NO_MENTIONS
from commands.status import STATUS, GatewayView, shard_of, status_lines

__all__ = ["status_command"]


def gateway_view(ctx: DiscordContext) -> GatewayView:
    states = ctx.bot.shard_states()
    return GatewayView(
        shard_ids=tuple(s.shard_id for s in states),
        shard_count=ctx.bot.shard_count or 1,
        connected=frozenset(s.shard_id for s in states if s.connected),
    )


def status_command(ctx: DiscordContext) -> app_commands.Command[Any, ..., None]:
    """The ``/status`` application command, answering through ``ctx``."""

    async def easel_status(interaction: discord.Interaction[Any]) -> None:
        with ctx.tasks.track():
            view = gateway_view(ctx)
            stats = ctx.jobs.stats()
            server = interaction.guild_id
            lines = status_lines(
                view,
                server_shard=None if server is None else shard_of(server, view.shard_count),
                queue_depth=stats.queue_depth,
                running=stats.running,
            )
            await interaction.response.send_message(
                "\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    return app_commands.Command(name=STATUS.name, description=STATUS.description, callback=easel_status)
