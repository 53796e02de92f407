"""The Slack moderation channel (``EASEL_SLACK_MODLOG_CHANNEL``): where :class:`services.modlog.ModLogFeed` posts.

``chat.postMessage`` with the bot token (invite easel to the channel); people's words are
escaped so ``<!channel>`` or a link in a prompt stays text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.mrkdwn import escape_text
from services.audit import AuditLog
from services.modlog import ModLogFeed

__all__ = ["slack_modlog"]


def _poster(client: AsyncWebClient, channel: str) -> Callable[[str], Awaitable[object]]:
    async def post(line: str) -> None:
        await client.chat_postMessage(channel=channel, text=line, unfurl_links=False, unfurl_media=False)

    return post


def slack_modlog(client: AsyncWebClient, audit: AuditLog, channel: str) -> ModLogFeed:
    return ModLogFeed(audit, "slack", post=_poster(client, channel), channel=channel, escape=escape_text)
