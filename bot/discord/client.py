"""The discord.py client: an ``AutoShardedBot`` that needs no privileged intents.

* Shards: ``GET /gateway/bot`` gives the gateway URL, the shard count and the identify
  concurrency; ``DISCORD_GATEWAY_URL`` replaces the URL when set. A shard cluster
  (``DISCORD_SHARDS`` of ``DISCORD_SHARD_COUNT``) connects only those shard ids with that count;
  Discord sends each server's events to its shard, and REST answers work from any process.
  IDENTIFYs are paced per bucket ``shard_id % max_concurrency`` (:mod:`bot.discord.shards`).
* Commands: synced in :meth:`setup_hook` (before the gateway connects) to each guild of
  ``DISCORD_GUILD_IDS`` (instant) or globally (Discord may take a while to show them).
* Ready: :attr:`connected` is set once every shard of this process has received READY;
  interactions are served from then on (the guild cache fills in the background and is not
  needed for them). :meth:`EaselBot.shard_states` tells which are up now.
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
from bot.discord.shards import IdentifyBuckets, ShardState, shard_states
from bot.shard_plan import ShardPlan
from commands.actions import Action
from commands.replies import error_text
from commands.status import format_shard_ids
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
        shards: ShardPlan | None = None,
    ) -> None:
        plan = shards or ShardPlan()
        sharding: dict[str, Any] = {}  # discord.py asks /gateway/bot for what is left out
        if plan.shard_count is not None:
            sharding["shard_count"] = plan.shard_count
        if plan.shard_ids is not None:
            sharding["shard_ids"] = list(plan.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),  # not privileged; interactions need no intent at all
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            tree_cls=EaselTree,
            **sharding,
        )
        self.gateway_override = gateway_url
        self.guild_ids = list(guild_ids)
        self._setup = setup
        self._identify = IdentifyBuckets()
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
        """Ask ``/gateway/bot`` ourselves so the URL override and identify concurrency apply.

        discord.py skips that call when a shard count is configured and would then connect to
        Discord's fixed gateway address; a configured count wins over Discord's recommendation.
        """
        if self.is_closed():
            return
        data = await self.http.request(discord.http.Route("GET", "/gateway/bot"))
        recommended = int(data["shards"])
        if self.shard_count is None:
            self.shard_count = recommended
        elif recommended > self.shard_count:
            log.warning(
                "discord.shard_count_below_recommended",
                extra={"shard_count": self.shard_count, "recommended": recommended},
            )
        self._identify.max_concurrency = max(
            1, int(data.get("session_start_limit", {}).get("max_concurrency", 1))
        )
        url = self.gateway_override or str(data["url"])
        # discord.py reconnects after an invalidated session to DEFAULT_GATEWAY: keep it ours too.
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        log.info(
            "discord.gateway",
            extra={
                "shards": self.shard_count,
                "shard_ids": format_shard_ids(self.own_shard_ids),
                "overridden": bool(self.gateway_override),
            },
        )
        await super().launch_shards()

    @property
    def own_shard_ids(self) -> tuple[int, ...]:
        """The shard ids this process connects (every one without ``DISCORD_SHARDS``)."""
        if self.shard_ids is not None:
            return tuple(self.shard_ids)
        return tuple(range(self.shard_count or 0))

    def shard_states(self) -> tuple[ShardState, ...]:
        return shard_states(self, self.own_shard_ids, self._connected_shards)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self._identify.wait_turn(shard_id or 0)

    async def on_shard_connect(self, shard_id: int) -> None:  # dispatched on READY
        self._connected_shards.add(shard_id)
        if self.shard_count is not None and self._connected_shards >= set(self.own_shard_ids):
            self.connected.set()

    async def on_shard_resumed(self, shard_id: int) -> None:
        self._connected_shards.add(shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        self._connected_shards.discard(shard_id)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if self.router is not None:
            await self.router.on_interaction(interaction)
