"""The Discord moderation channel (``EASEL_DISCORD_MODLOG_CHANNEL``): where :class:`services.modlog.ModLogFeed` posts.

A plain channel message from the bot (it needs View Channel and Send Messages there), with
Markdown in people's words escaped and no mentions allowed, whatever the line says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.discord.client import EaselBot
from bot.discord.render import NO_MENTIONS
from services.audit import AuditLog
from services.modlog import ModLogFeed

__all__ = ["discord_modlog"]

_MESSAGE_MAX = 2000


def _poster(bot: EaselBot, channel_id: int) -> Callable[[str], Awaitable[object]]:
    async def post(line: str) -> None:
        await bot.get_partial_messageable(channel_id).send(line[:_MESSAGE_MAX], allowed_mentions=NO_MENTIONS)

    return post


def _escape(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def discord_modlog(bot: EaselBot, audit: AuditLog, channel_id: int) -> ModLogFeed:
    return ModLogFeed(
        audit, "discord", post=_poster(bot, channel_id), channel=str(channel_id), escape=_escape
    )
