"""The discord.py client: an ``AutoShardedBot`` that needs no privileged intents.

* Shards: ``GET /gateway/bot`` gives the gateway URL, the shard count and the identify
  concurrency; ``DISCORD_GATEWAY_URL`` replaces the URL when set. Shards identify in buckets of
  ``max_concurrency`` (discord.py's default waits 5 s before every shard but the first).
* Commands: synced in :meth:`setup_hook` (before the gateway connects) to each guild of
  ``DISCORD_GUILD_IDS`` (instant) or globally (Discord may take a while to show them).
* Ready: :attr:`connected` is set once every shard has received READY; interactions are served
  from then on (the guild cache fills in the background and is not needed for them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.discord.render import MARKUP
from commands.actions import Action
from commands.replies import error_text
from services.errors import EaselError

__all__ = ["EaselBot", "EaselTree", "InteractionRouter"]

log = logging.getLogger(__name__)


# easel never joins voice: discord.py's start-up warnings about missing voice libraries
# (PyNaCl, davey) would only worry operators.
discord.VoiceClient.warn_nacl = False
if hasattr(discord.VoiceClient, "warn_dave"):
    discord.VoiceClient.warn_dave = False


class InteractionRouter(Protocol):
    """Where the bot sends interactions (the front end's handlers)."""

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None: ...

    async def on_button(self, interaction: discord.Interaction[Any], action: Action) -> None: ...


class EaselTree(app_commands.CommandTree[Any]):
    """The command tree; a command that fails unexpectedly still gets a private answer."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        log.error("discord.command_error", exc_info=error, extra={"error_kind": type(error).__name__})
        if not interaction.response.is_done():
            crashed = EaselError("Something went wrong with that command. Please try again.")
            await interaction.response.send_message(error_text(crashed, MARKUP), ephemeral=True)


class EaselBot(commands.AutoShardedBot):
    """easel's client. ``setup`` registers commands and items; it runs in :meth:`setup_hook`."""

    def __init__(
        self,
        *,
        gateway_url: str | None,
        guild_ids: list[int],
        setup: Callable[[EaselBot], Awaitable[None]],
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),  # not privileged; interactions need no intent at all
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            tree_cls=EaselTree,
        )
        self.gateway_override = gateway_url
        self.guild_ids = list(guild_ids)
        self._setup = setup
        self._identify_concurrency = 1
        self.connected = asyncio.Event()
        self._connected_shards: set[int] = set()
        self.router: InteractionRouter | None = None

    async def setup_hook(self) -> None:
        await self._setup(self)
        if self.guild_ids:
            for guild_id in self.guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("discord.commands_synced", extra={"guild_id": guild_id, "commands": len(synced)})
        else:
            synced = await self.tree.sync()
            log.info("discord.commands_synced", extra={"guild_id": None, "commands": len(synced)})

    async def launch_shards(self) -> None:
        """Ask ``/gateway/bot`` ourselves so the URL override and identify concurrency apply."""
        if self.is_closed():
            return
        if self.shard_count is None:
            data = await self.http.request(discord.http.Route("GET", "/gateway/bot"))
            self.shard_count = int(data["shards"])
            self._identify_concurrency = max(
                1, int(data.get("session_start_limit", {}).get("max_concurrency", 1))
            )
            url = self.gateway_override or str(data["url"])
            # discord.py reconnects after an invalidated session to DEFAULT_GATEWAY: keep it ours too.
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            log.info(
                "discord.gateway",
                extra={"shards": self.shard_count, "overridden": bool(self.gateway_override)},
            )
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # Discord allows max_concurrency IDENTIFYs per 5 s, bucketed by shard_id % max_concurrency.
        if not initial and shard_id is not None and shard_id % self._identify_concurrency == 0:
            await asyncio.sleep(5.0)

    async def on_shard_connect(self, shard_id: int) -> None:
        self._connected_shards.add(shard_id)
        if self.shard_count is not None and len(self._connected_shards) >= self.shard_count:
            self.connected.set()

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if self.router is not None:
            await self.router.on_interaction(interaction)
