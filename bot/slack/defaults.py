"""``/settings`` on Slack: ``/settings`` shows the person's defaults, ``/settings ar=16:9 n=2`` sets them.

The text is parsed by :func:`commands.settings.parse_settings_text` before the ack (no I/O), so a
misspelt name is answered at once; values are checked against the backend and stored after the
ack, and the reply (what changed, every default) is private.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from bot.slack.context import SlackContext
from bot.slack.mrkdwn import MARKUP
from bot.slack.status import StatusTarget
from commands.replies import error_text
from commands.settings import (
    SETTINGS,
    SLACK_USAGE,
    SettingsChange,
    apply_settings,
    defaults_note,
    parse_settings_text,
)
from services.errors import EaselError
from services.types import Requester, Venue
from services.user_settings import UserSettingsBook

__all__ = ["defaults_block", "register_settings"]

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]


class _Settings:
    def __init__(self, ctx: SlackContext, book: UserSettingsBook) -> None:
        self.ctx = ctx
        self.book = book

    async def on_settings(self, ack: Ack, body: dict[str, Any]) -> None:
        try:
            change = parse_settings_text(str(body.get("text", "")))
        except EaselError as error:
            await ack(response_type="ephemeral", text=error_text(error, MARKUP))
            return
        await ack()
        self.ctx.tasks.spawn(self._apply(body, change), name="settings")

    async def _apply(self, body: dict[str, Any], change: SettingsChange) -> None:
        user, channel = str(body.get("user_id", "")), str(body.get("channel_id", ""))
        requester = Requester(
            "slack",
            user,
            display_name=str(body.get("user_name", "")),
            venue=Venue(server_id=str(body.get("team_id", "")), channel_id=channel),
        )
        try:
            text = await apply_settings(
                self.book, requester, change, self.ctx.limits(), MARKUP, usage=SLACK_USAGE
            )
        except EaselError as error:
            text = error_text(error, MARKUP)
        except Exception:
            log.exception("slack.handler_crashed", extra={"command": "settings"})
            text = error_text(EaselError(), MARKUP)
        target = StatusTarget(
            channel=channel, user=user, response_url=body.get("response_url"), mode="replace"
        )
        await self.ctx.status(target).final(text)


def defaults_block(origin: Mapping[str, Any]) -> dict[str, Any] | None:
    """A context line under a result naming the person's defaults it used (kept in the job's origin)."""
    note = defaults_note(origin.get("defaults"))
    return ContextBlock(elements=[MarkdownTextObject(text=f"{note}.")]).to_dict() if note else None


def register_settings(
    app: AsyncApp, ctx: SlackContext, book: UserSettingsBook
) -> Callable[[Ack, dict[str, Any]], Awaitable[None]]:
    """Listen to ``/settings``; returns the listener (``/easel settings …`` calls it too)."""
    listener = _Settings(ctx, book).on_settings
    app.command(f"/{SETTINGS.name}")(listener)
    return listener
